"""What every database command shares: its pool, its schema check and its id filters."""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg

from adk_pg.db import values
from adk_pg.db.pool import create_pool
from adk_pg.schema.runner import ensure_current

__all__ = [
    "EXIT_CHECK_FAILED",
    "EXIT_DATABASE",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "Parents",
    "add_app_user_filters",
    "app_user_filters",
    "open_pool",
]

# The command's exit codes, the same for every command.
EXIT_OK = 0
# A check found work or nothing matched: pending migrations, no session, prune --dry-run.
EXIT_CHECK_FAILED = 1
EXIT_USAGE = 2  # also argparse's own code for a bad command line
EXIT_DATABASE = 3
EXIT_INTERRUPTED = 130  # Ctrl-C, as shells report SIGINT (128 + 2)

# Only application_name: PgBouncer refuses other startup parameters (08P01) unless listed in
# its ignore_startup_parameters. Exact float text in exports comes from the SQL itself
# (adk.float8_text), whatever the session's extra_float_digits.
_SERVER_SETTINGS = {"application_name": "adk-pg cli"}


@dataclass(frozen=True)
class Parents:
    """The shared argparse parents: ``--dsn`` and ``--json``."""

    database: argparse.ArgumentParser
    output: argparse.ArgumentParser


@asynccontextmanager
async def open_pool(
    dsn: str, schema: str, *, check_schema: bool = True
) -> AsyncIterator[asyncpg.Pool]:
    """A small pool for one command; by default refuse a ``schema`` that is not current.

    Raises:
        InvalidArgumentError: a bad DSN.
        SchemaOutdatedError: migrations are pending (run ``adk-pg migrate``).
        StorageError: the server cannot be reached.
    """
    # Commands run one statement at a time: one connection serves them, a second covers
    # the export snapshot plus a concurrent count. Waiting for a connection is never
    # expected, so no acquire timeout.
    pool = await create_pool(
        dsn, min_size=1, max_size=2, pool_timeout=None, server_settings=_SERVER_SETTINGS
    )
    try:
        if check_schema:
            await ensure_current(pool, schema=schema)
        yield pool
    finally:
        await pool.close()


def app_user_filters(args: argparse.Namespace) -> tuple[str | None, str | None]:
    """The ``--app`` / ``--user`` filters, checked like the store checks ids.

    Raises:
        InvalidArgumentError: a blank or over-long id.
    """
    app = None if args.app is None else values.require_id(args.app, "--app")
    user = None if args.user is None else values.require_id(args.user, "--user")
    return app, user


def add_app_user_filters(parser: argparse.ArgumentParser, what: str) -> None:
    """Add ``--app`` and ``--user`` to ``parser``."""
    parser.add_argument("--app", metavar="APP", help=f"only {what} of this app")
    parser.add_argument("--user", metavar="USER", help=f"only {what} of this user")
