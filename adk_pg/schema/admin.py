"""Databases themselves: creating one (``adk-pg migrate --create-database``), dropping one,
and throwaway databases for tests and benchmarks.

Part of the migration tooling: like the runner, it keeps its few bootstrap statements here
rather than in ``sql/``, which holds the product's queries. Each connects to the server's
``postgres`` database to do its work.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import unquote, urlsplit

import asyncpg

from adk_pg.db.dsn import redact_dsn, with_database
from adk_pg.db.pool import single_connection
from adk_pg.errors import InvalidArgumentError, translate_errors

__all__ = ["create_database", "drop_database", "quote_ident", "throwaway_database"]

_SQL_DATABASE_EXISTS = "SELECT EXISTS (SELECT FROM pg_catalog.pg_database WHERE datname = $1)"


def quote_ident(name: str) -> str:
    """Quote ``name`` as a PostgreSQL identifier (``"a""b"`` for ``a"b``).

    Raises:
        InvalidArgumentError: the name is empty, holds a NUL, or is longer than the server's
            63-byte limit (which would silently truncate it to another name).
    """
    if not name or "\x00" in name or len(name.encode("utf-8")) > 63:
        raise InvalidArgumentError(
            f"invalid identifier {name!r}: need 1 to 63 bytes and no NUL character"
        )
    return '"' + name.replace('"', '""') + '"'


def _database_name(dsn: str) -> str:
    """The database a DSN names.

    Raises:
        InvalidArgumentError: the DSN is malformed or names no database.
    """
    try:
        name = unquote(urlsplit(dsn).path.lstrip("/"))
    except ValueError:  # the parser's message may quote the password
        raise InvalidArgumentError(f"malformed DSN {redact_dsn(dsn)}") from None
    if not name:
        raise InvalidArgumentError(f"the DSN {redact_dsn(dsn)} names no database")
    return name


async def drop_database(dsn: str) -> None:
    """Drop the DSN's database if it exists, disconnecting whoever still uses it.

    Raises:
        InvalidArgumentError: the DSN names no database.
        StorageError: the server could not be reached or refused.
    """
    statement = f"DROP DATABASE IF EXISTS {quote_ident(_database_name(dsn))} WITH (FORCE)"
    async with single_connection(dsn, database="postgres") as conn:
        with translate_errors("drop database"):
            await conn.execute(statement)


@asynccontextmanager
async def throwaway_database(server_dsn: str, prefix: str = "adk_pg") -> AsyncIterator[str]:
    """A new empty database on the server of ``server_dsn``: its DSN, dropped afterwards.

    Its name is ``prefix`` and a random suffix; the DSN keeps the user, host and options.

    Raises:
        InvalidArgumentError: a bad DSN or prefix.
        StorageError: the server could not be reached or refused (e.g. no CREATEDB right).
    """
    dsn = with_database(server_dsn, f"{prefix}_{uuid.uuid4().hex[:12]}")
    await create_database(dsn)
    try:
        yield dsn
    finally:
        await drop_database(dsn)


async def create_database(dsn: str) -> bool:
    """Create the DSN's database unless it exists; return whether it was created.

    Connects to the same server's ``postgres`` database to do it.

    Raises:
        InvalidArgumentError: the DSN is not PostgreSQL or names no database.
        StorageError: the server could not be reached or refused (e.g. no CREATEDB right).
    """
    name = _database_name(dsn)
    statement = "CREATE DATABASE " + quote_ident(name)
    async with single_connection(dsn, database="postgres") as conn:
        with translate_errors("create database"):
            if await conn.fetchval(_SQL_DATABASE_EXISTS, name):
                return False
            try:
                await conn.execute(statement)
            except asyncpg.DuplicateDatabaseError:
                return False  # a concurrent `make migrate` created it first
            return True
