"""The ``adk-pg`` command line.

Commands (each takes ``--dsn``, else $ADK_PG_DSN, else $POSTGRES_URL, else the default DSN;
each has ``--help``; all but ``migrate`` take ``--json`` for output meant for scripts)::

    adk-pg migrate [--check] [--create-database]
    adk-pg status
    adk-pg sessions list [--app A] [--user U] [--limit N]
    adk-pg sessions show APP USER ID [--events N]
    adk-pg export [--app A] [--user U] [-o FILE]          (JSON Lines; see adk_pg.ops.transfer)
    adk-pg import FILE|-
    adk-pg import-adk --from DSN [--schema public]
    adk-pg prune --older-than 30d [--app A] [--dry-run] [--batch-size 500]

Exit codes: 0 done; 1 a check found work or nothing matched (``migrate --check`` with pending
migrations, ``status`` with pending migrations, ``sessions list`` with no match, ``sessions
show`` of a missing session, ``prune --dry-run`` with sessions to delete); 2 usage error, a bad
argument or a malformed import file; 3 database error (or a migration error, or an ADK row
``import-adk`` refuses). Errors are one line on stderr, never a traceback, and never a password.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from adk_pg.cli import _inspect, _migrate, _prune, _transfer
from adk_pg.cli._common import (
    EXIT_CHECK_FAILED,
    EXIT_DATABASE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    Parents,
)
from adk_pg.db.dsn import DEFAULT_DSN, redact_dsn, resolve_dsn, scrub, secret_spellings
from adk_pg.errors import AdkPgError, InvalidArgumentError, StorageError

__all__ = ["EXIT_CHECK_FAILED", "EXIT_DATABASE", "EXIT_OK", "EXIT_USAGE", "build_parser", "main"]

_Command = Callable[[argparse.Namespace, str], Coroutine[Any, Any, int]]


def build_parser() -> argparse.ArgumentParser:
    """Build the ``adk-pg`` parser: one subparser per command."""
    parser = argparse.ArgumentParser(
        prog="adk-pg",
        description="Tools for the adk-pg PostgreSQL session store.",
        epilog="Exit codes: 0 done, 1 a check found work or nothing matched, 2 usage, "
        "3 database error. `adk-pg COMMAND --help` describes each command.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    # Every command talks to one database; they share --dsn through this parent parser.
    database = argparse.ArgumentParser(add_help=False)
    database.add_argument(
        "--dsn",
        help="the database URL (default: $ADK_PG_DSN, else $POSTGRES_URL, else "
        f"{redact_dsn(DEFAULT_DSN)})",
    )
    output = argparse.ArgumentParser(add_help=False)
    output.add_argument("--json", action="store_true", help="print JSON for scripts")
    parents = Parents(database=database, output=output)
    for module in (_migrate, _inspect, _transfer, _prune):
        module.register(commands, parents)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit code."""
    args = build_parser().parse_args(argv)
    dsn = resolve_dsn(args.dsn)
    dsns = [dsn] + ([args.source] if getattr(args, "source", None) else [])
    label = getattr(args, "label", args.command)
    run: _Command = args.run
    try:
        return asyncio.run(run(args, dsn))
    except InvalidArgumentError as exc:
        code, message = EXIT_USAGE, str(exc)
    except StorageError as exc:
        code, message = EXIT_DATABASE, str(exc)
        if exc.sqlstate == "3D000":  # invalid_catalog_name: the database does not exist
            message += " (create it with `adk-pg migrate --create-database`)"
    except AdkPgError as exc:
        code, message = EXIT_DATABASE, str(exc)
    except KeyboardInterrupt:
        code, message = EXIT_INTERRUPTED, "interrupted"
    except BrokenPipeError:
        # The reader went away (`adk-pg export | head`). Point stdout at /dev/null so the
        # interpreter's final flush does not fail again, as the Python docs advise.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_CHECK_FAILED
    except OSError as exc:  # a file that cannot be opened or written
        code, message = EXIT_USAGE, f"{exc.strerror or type(exc).__name__}: {exc.filename}"
    except Exception as exc:
        # A bug or an unforeseen driver error: still one clean line, and still no password.
        code, message = EXIT_DATABASE, f"unexpected {type(exc).__name__}: {exc}"
    # The library already redacts; this is the last line before the terminal, where a
    # password must not appear whatever path an error took.
    one_line = " ".join(scrub(message, secret_spellings(dsns)).split())
    print(f"adk-pg {label}: error: {one_line}", file=sys.stderr)
    return code
