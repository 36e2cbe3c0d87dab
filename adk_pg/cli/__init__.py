"""The ``adk-pg`` command line.

Commands (each takes ``--dsn``, else $ADK_PG_DSN, else $POSTGRES_URL, else the default DSN,
and ``--schema``, else $ADK_PG_SCHEMA, else the DSN's ``?schema=``, else ``adk``; each has
``--help``; all but ``migrate``, ``distribute`` and ``watch`` take ``--json`` for output meant for
scripts)::

    adk-pg migrate [--check] [--create-database]
    adk-pg distribute                                     (on a Citus coordinator)
    adk-pg status
    adk-pg sessions list [--app A] [--user U] [--limit N]
    adk-pg sessions show APP USER ID [--events N]
    adk-pg sessions fork APP USER ID [--new-id NEW_ID] [--up-to EVENT_ID]
    adk-pg export [--app A] [--user U] [-o FILE]          (JSON Lines; see adk_pg.ops.transfer)
    adk-pg import FILE|-
    adk-pg import-adk --from DSN [--from-schema public]
    adk-pg prune --older-than 30d [--memories] [--app A] [--dry-run] [--batch-size 500]
    adk-pg memory search --app A --user U QUERY [--limit N]
    adk-pg memory list|forget --app A --user U
    adk-pg memory delete --app A --user U ID
    adk-pg artifacts list [--app A] [--user U] [--session S] [--limit N]
    adk-pg artifacts get APP USER FILENAME [--session S] [--version N] [-o FILE]
    adk-pg artifacts delete APP USER FILENAME [--session S] [--yes]
    adk-pg doctor [--long SECONDS] [--top N]
    adk-pg watch --app A [--user U] [--session S [--after REVISION]]   (JSON lines, until ^C)

Exit codes: 0 done; 1 a check found work or nothing matched (``doctor`` printed a warning,
``migrate --check`` with pending
migrations, ``status`` with pending migrations, ``sessions list`` with no match, ``sessions
show`` of a missing session, ``prune --dry-run`` with something to delete, ``memory search``
or ``list`` finding nothing, ``memory delete`` of a missing memory, ``artifacts list`` with
no match, ``artifacts get|delete`` of a missing artifact); 2 usage error, a bad
argument or a malformed import file; 3 database error (or a migration error, or an ADK row
``import-adk`` refuses); 130 interrupted (Ctrl-C). Errors are one line on stderr, never a
traceback, and never a password.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from adk_pg import __version__
from adk_pg.cli import (
    _artifacts,
    _doctor,
    _inspect,
    _memory,
    _migrate,
    _prune,
    _status,
    _transfer,
    _watch,
)
from adk_pg.cli._common import (
    EXIT_CHECK_FAILED,
    EXIT_DATABASE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    Parents,
)
from adk_pg.cli._output import printable, seconds
from adk_pg.db.dsn import (
    DEFAULT_DSN,
    mentions_secret,
    redact_dsn,
    resolve_dsn,
    secret_spellings,
    with_connect_timeout,
)
from adk_pg.db.pool_options import DEFAULT_CONNECT_TIMEOUT, pool_config
from adk_pg.errors import AdkPgError, InvalidArgumentError, StorageError

__all__ = ["EXIT_CHECK_FAILED", "EXIT_DATABASE", "EXIT_OK", "EXIT_USAGE", "build_parser", "main"]

_Command = Callable[[argparse.Namespace, str], Coroutine[Any, Any, int]]
SCHEMA_ENV = "ADK_PG_SCHEMA"


def build_parser() -> argparse.ArgumentParser:
    """Build the ``adk-pg`` parser: one subparser per command."""
    parser = argparse.ArgumentParser(
        prog="adk-pg",
        description="Tools for the adk-pg PostgreSQL store of ADK sessions and memories.",
        epilog="Exit codes: 0 done, 1 a check found work or nothing matched, 2 usage, "
        "3 database error. `adk-pg COMMAND --help` describes each command.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    # --dsn and --timeout may come before the command or after it: both parsers know them;
    # the command's copy leaves the value alone unless it is given there.
    _database_options(parser, default=None)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    database = argparse.ArgumentParser(add_help=False)
    _database_options(database, default=argparse.SUPPRESS)
    output = argparse.ArgumentParser(add_help=False)
    output.add_argument("--json", action="store_true", help="print JSON for scripts")
    parents = Parents(database=database, output=output)
    for module in (
        _migrate,
        _status,
        _inspect,
        _transfer,
        _prune,
        _memory,
        _artifacts,
        _doctor,
        _watch,
    ):
        module.register(commands, parents)
    return parser


def _database_options(parser: argparse.ArgumentParser, *, default: Any) -> None:
    parser.add_argument(
        "--dsn",
        default=default,
        help="the database URL (default: $ADK_PG_DSN, else $POSTGRES_URL, else "
        f"{redact_dsn(DEFAULT_DSN)})",
    )
    parser.add_argument(
        "--timeout",
        type=seconds,
        default=default,
        metavar="SECONDS",
        help=f"give up connecting after SECONDS (default {DEFAULT_CONNECT_TIMEOUT:g})",
    )
    parser.add_argument(
        "--schema",
        default=default,
        metavar="NAME",
        help="the PostgreSQL schema of adk-pg's tables (default: $ADK_PG_SCHEMA, else the "
        "DSN's ?schema=, else adk)",
    )


def _schema(given: str | None, dsn: str) -> str:
    """``--schema``, else $ADK_PG_SCHEMA, else the DSN's ``?schema=``, else ``adk``.

    Raises:
        InvalidArgumentError: a bad schema name or DSN.
    """
    chosen = given if given is not None else os.environ.get(SCHEMA_ENV) or None
    return pool_config(dsn, schema=chosen).schema


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit code."""
    args = build_parser().parse_args(argv)
    dsn = resolve_dsn(args.dsn)
    if args.timeout is not None:
        dsn = with_connect_timeout(dsn, args.timeout)
    dsns = [dsn] + ([args.source] if getattr(args, "source", None) else [])
    label = getattr(args, "label", args.command)
    run: _Command = args.run
    try:
        args.schema = _schema(args.schema, dsn)
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
        # A bug or an unforeseen driver error: still one clean line, and still no password:
        # its text is shown only if it quotes none (adk-pg's own messages redact DSNs).
        code, message = EXIT_DATABASE, f"unexpected {type(exc).__name__}"
        if not mentions_secret(exc, secret_spellings(dsns)):
            message += f": {exc}"
    one_line = printable(" ".join(message.split()))
    print(f"adk-pg {label}: error: {one_line}", file=sys.stderr)
    return code
