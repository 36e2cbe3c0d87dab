"""The ``adk-pg`` command line: ``adk-pg migrate [--dsn DSN] [--check] [--create-database]``.

Exit codes: 0 done (or schema current), 1 ``--check`` found work, 2 usage or configuration
error, 3 database or migration error. Errors are one line on stderr, never a traceback, and
never a password.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from adk_pg.errors import AdkPgError, InvalidArgumentError, StorageError
from adk_pg.migrate import MigrationStatus, check, create_database, load_migrations, migrate
from adk_pg.pool import DEFAULT_DSN, redact_dsn, resolve_dsn

__all__ = ["EXIT_CHECK_FAILED", "EXIT_DATABASE", "EXIT_OK", "EXIT_USAGE", "build_parser", "main"]

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_USAGE = 2  # also argparse's own code for a bad command line
EXIT_DATABASE = 3

_Command = Callable[[argparse.Namespace, str], Coroutine[Any, Any, int]]
_SECRET_KEYS = frozenset({"password", "sslpassword"})


def build_parser() -> argparse.ArgumentParser:
    """Build the ``adk-pg`` parser: one subparser per command."""
    parser = argparse.ArgumentParser(
        prog="adk-pg", description="Tools for the adk-pg PostgreSQL session store."
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    # Every command talks to one database; they share --dsn through this parent parser.
    database = argparse.ArgumentParser(add_help=False)
    database.add_argument(
        "--dsn",
        help="the database URL (default: $ADK_PG_DSN, else $POSTGRES_URL, else "
        f"{redact_dsn(DEFAULT_DSN)})",
    )
    migrate_parser = commands.add_parser(
        "migrate",
        parents=[database],
        help="apply the pending schema migrations",
        description="Apply the pending migrations to schema adk. On a current schema this "
        "only reads adk.schema_migrations.",
    )
    migrate_parser.add_argument(
        "--check",
        action="store_true",
        help="apply nothing; list pending or modified migrations and exit 1 if there are any",
    )
    migrate_parser.add_argument(
        "--create-database",
        action="store_true",
        help="first create the database if it does not exist (via the server's postgres db)",
    )
    migrate_parser.set_defaults(run=_migrate_command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit code."""
    args = build_parser().parse_args(argv)
    dsn = resolve_dsn(args.dsn)
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
        code, message = 130, "interrupted"
    except Exception as exc:
        # A bug or an unforeseen driver error: still one clean line, and still no password.
        code, message = EXIT_DATABASE, f"unexpected {type(exc).__name__}: {exc}"
    one_line = " ".join(_scrub(message, dsn).split())
    print(f"adk-pg {args.command}: error: {one_line}", file=sys.stderr)
    return code


async def _migrate_command(args: argparse.Namespace, dsn: str) -> int:
    """``adk-pg migrate``: create the database if asked, then check or apply."""
    if args.create_database and await create_database(dsn):
        print(f"created database {_database_name(dsn)}")
    if args.check:
        status = await check(dsn)
        _print_status(status)
        return EXIT_OK if status.is_current else EXIT_CHECK_FAILED
    applied = await migrate(dsn)
    for migration in applied:
        print(f"applied {migration.label} ({migration.duration_ms:.0f} ms)")
    # migrate() returns only after the ledger matches every file, so the last file's
    # version is the database's; no second round trip to ask.
    print(f"schema is current (version {load_migrations()[-1].version})")
    return EXIT_OK


def _print_status(status: MigrationStatus) -> None:
    """Print what ``--check`` found, one line per migration, then a summary."""
    for migration in status.pending:
        print(f"pending {migration.label}")
    for migration in status.modified:
        print(f"modified {migration.path.name} (edited after it was applied; restore it)")
    for version in status.unknown_versions:
        print(f"unknown {version:04d} (applied, but this adk-pg has no such migration file)")
    if status.is_current:
        print(f"schema is current (version {status.current_version})")
    elif status.modified or status.unknown_versions:
        print(f"schema does not match the migration files (version {status.current_version})")
    else:
        print(
            f"schema is behind (version {status.current_version}, {len(status.pending)} "
            "pending): run `make migrate` (or `adk-pg migrate`)"
        )


def _database_name(dsn: str) -> str:
    """The database a DSN names (for messages)."""
    return unquote(urlsplit(dsn).path.lstrip("/"))


def _scrub(text: str, dsn: str) -> str:
    """Replace every spelling of the DSN's password in ``text`` with ``***``.

    The library already redacts; this is the last line before the terminal, where a
    password must not appear whatever path an error took.
    """
    try:
        parts = urlsplit(dsn)
        secrets = [parts.password or ""]
        secrets += [v for k, v in parse_qsl(parts.query) if k.lower() in _SECRET_KEYS]
    except ValueError:
        secrets = []
    spellings = {s for x in secrets for s in (x, unquote(x), quote(x, safe="")) if s}
    for secret in sorted(spellings, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text
