"""``python -m adk_pg.adk web|run|api_server ...``: ADK's command with ``adkpg://`` known.

It registers the ``adkpg://`` scheme, then runs ADK's own command line with the same
arguments, in the same process, so that no ``services.py`` has to be copied anywhere::

    python -m adk_pg.adk web path/to/agents --session_service_uri adkpg://user:pw@host/db
"""

from __future__ import annotations

from google.adk.cli.cli_tools_click import main

from adk_pg.adk.services import register_services

if __name__ == "__main__":
    register_services()
    main(prog_name="python -m adk_pg.adk")
