"""``python -m adk_pg``: the same command line as ``adk-pg``."""

from adk_pg.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
