"""Database administration for ``adk-pg migrate --create-database``: quoting, creating.

Part of the migration tooling: like the runner, it keeps its few bootstrap statements here
rather than in ``sql/``, which holds the product's queries.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

import asyncpg

from adk_pg.dsn import redact_dsn
from adk_pg.errors import InvalidArgumentError, translate_errors
from adk_pg.pool import single_connection

__all__ = ["create_database", "quote_ident"]

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


async def create_database(dsn: str) -> bool:
    """Create the DSN's database unless it exists; return whether it was created.

    Connects to the same server's ``postgres`` database to do it.

    Raises:
        InvalidArgumentError: the DSN is not PostgreSQL or names no database.
        StorageError: the server could not be reached or refused (e.g. no CREATEDB right).
    """
    try:
        name = unquote(urlsplit(dsn).path.lstrip("/"))
    except ValueError:  # the parser's message may quote the password
        raise InvalidArgumentError(f"malformed DSN {redact_dsn(dsn)}") from None
    if not name:
        raise InvalidArgumentError(f"the DSN {redact_dsn(dsn)} names no database to create")
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
