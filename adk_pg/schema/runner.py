"""The migration runner: advisory lock, apply / check / ensure_current.

The files come from :func:`adk_pg.schema.files.load_migrations`; the ledger they are compared
with is :mod:`adk_pg.schema.ledger`. Each file and its row in ``adk.schema_migrations`` commit
in one transaction, unless its header holds the line ``-- adk-pg: no-transaction`` (for
``CREATE INDEX CONCURRENTLY``): such a file holds exactly one statement and its ledger row is
written after it. Each migration applied is logged (INFO, logger ``adk_pg``). For a schema
other than ``adk``, every file's text is rewritten for it as it is applied; the ledger keeps
the checksum of the file as shipped, so each schema's ledger compares with the same files.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from adk_pg.db.pool import single_connection
from adk_pg.db.schema_name import DEFAULT_SCHEMA, check_schema, in_schema
from adk_pg.errors import (
    InvalidArgumentError,
    MigrationError,
    SchemaOutdatedError,
    translate_errors,
)
from adk_pg.schema.files import NO_TRANSACTION, Migration, load_migrations
from adk_pg.schema.ledger import (
    SQL_CREATE_LEDGER,
    SQL_CREATE_SCHEMA,
    SQL_INSERT_LEDGER,
    MigrationStatus,
    compare,
    read_ledger,
    refuse_drift,
)

__all__ = [
    "MIGRATION_LOCK_KEY",
    "AppliedMigration",
    "Target",
    "check",
    "ensure_current",
    "migrate",
    "target_connection",
]

logger = logging.getLogger("adk_pg")

Target: TypeAlias = "str | asyncpg.Pool | asyncpg.Connection | PoolConnectionProxy"
_Conn: TypeAlias = "asyncpg.Connection | PoolConnectionProxy"

# The session-level advisory lock every adk-pg migrator polls for: b"adk_pg_m" read as a
# big-endian int64, so it shows up recognisably in pg_locks (classid 1633971039, objid 1885822829).
MIGRATION_LOCK_KEY = 0x61646B5F70675F6D

_SQL_TRY_LOCK = "SELECT pg_catalog.pg_try_advisory_lock($1)"
_SQL_UNLOCK = "SELECT pg_catalog.pg_advisory_unlock($1)"


@dataclass(frozen=True)
class AppliedMigration:
    """A migration that this run applied, and how long it took."""

    version: int
    name: str
    checksum: str
    duration_ms: float

    @property
    def label(self) -> str:
        """The file name without ``.sql``, e.g. ``0001_initial_schema``."""
        return f"{self.version:04d}_{self.name}"


async def check(
    target: Target, *, directory: Path | None = None, schema: str = DEFAULT_SCHEMA
) -> MigrationStatus:
    """Compare the ledger of ``schema`` with the migration files; read-only, takes no lock.

    Raises:
        InvalidArgumentError: a bad schema name.
        MigrationError: the migration files are invalid.
        StorageError: the database could not be reached or read.
    """
    check_schema(schema)
    migrations = load_migrations(directory)
    async with target_connection(target) as conn:
        _, _, applied = await read_ledger(conn, schema)
    return compare(migrations, applied)


async def ensure_current(
    target: Target, *, directory: Path | None = None, schema: str = DEFAULT_SCHEMA
) -> None:
    """Raise unless every migration is applied, unchanged; read-only, takes no lock.

    Raises:
        InvalidArgumentError: a bad schema name.
        SchemaOutdatedError: migrations are pending.
        MigrationError: an applied file was edited, or the database is newer than this code.
        StorageError: the database could not be reached or read.
    """
    status = await check(target, directory=directory, schema=schema)
    refuse_drift(status, schema)
    if status.pending:
        where = "" if schema == DEFAULT_SCHEMA else f" --schema {schema}"
        raise SchemaOutdatedError(
            f"the {schema} schema is at version {status.current_version} but adk-pg needs "
            f"{status.pending[-1].version}: run `make migrate` (or `adk-pg migrate{where}`)"
        )


async def migrate(
    target: Target,
    *,
    lock_timeout: float = 60.0,
    directory: Path | None = None,
    schema: str = DEFAULT_SCHEMA,
) -> list[AppliedMigration]:
    """Apply the pending migrations to ``schema`` (default ``adk``, created if missing) and
    return them (empty when the schema was current).

    A current schema is only read: no lock, no DDL, so a role with SELECT on the ledger can
    run this. ``target`` is a DSN, a pool (its connections are expired after applying, so no
    stale prepared statement survives) or a connection.

    Raises:
        InvalidArgumentError: the DSN's scheme is not PostgreSQL, lock_timeout is negative, or
            a bad schema name.
        MigrationError: invalid files, an edited applied file, a database newer than this code,
            a migration that failed, or the lock not obtained within ``lock_timeout`` seconds.
        StorageError: the database could not be reached.
    """
    if lock_timeout < 0:
        raise InvalidArgumentError(f"lock_timeout must be >= 0, got {lock_timeout}")
    check_schema(schema)
    migrations = load_migrations(directory)
    async with target_connection(target) as conn:
        _, _, applied_before = await read_ledger(conn, schema)
        status = compare(migrations, applied_before)
        refuse_drift(status, schema)
        if not status.pending:
            return []
        if conn.is_in_transaction():
            raise MigrationError("cannot migrate on a connection inside a transaction")
        applied = await _apply_locked(conn, migrations, lock_timeout, schema)
        if applied and not isinstance(target, (str, asyncpg.Pool)):
            await conn.reload_schema_state()  # the caller's connection keeps its cache
    if applied and isinstance(target, asyncpg.Pool):
        await target.expire_connections()
    return applied


async def _apply_locked(
    conn: _Conn, migrations: list[Migration], lock_timeout: float, schema: str
) -> list[AppliedMigration]:
    """Take the lock, re-read the ledger (another migrator may have won), apply what is left.

    Raises:
        MigrationError: see :func:`migrate`.
    """
    await _lock(conn, lock_timeout)
    try:
        has_schema, has_ledger, applied = await read_ledger(conn, schema)
        status = compare(migrations, applied)
        refuse_drift(status, schema)
        if not has_ledger:
            with translate_errors("create the migration ledger"):
                async with conn.transaction():
                    if not has_schema:
                        await conn.execute(in_schema(SQL_CREATE_SCHEMA, schema))
                    await conn.execute(in_schema(SQL_CREATE_LEDGER, schema))
        return [await _apply(conn, migration, schema) for migration in status.pending]
    finally:
        # A broken connection has lost its session lock already; don't hide the real error.
        with suppress(asyncpg.InterfaceError, OSError):
            if not conn.is_closed():
                await conn.fetchval(_SQL_UNLOCK, MIGRATION_LOCK_KEY)


async def _lock(conn: _Conn, timeout: float) -> None:
    """Poll pg_try_advisory_lock until it succeeds.

    Never pg_advisory_lock: a migrator blocked in it holds a snapshot that the winner's
    CREATE INDEX CONCURRENTLY waits for, an undetected deadlock.

    Raises:
        MigrationError: the lock was not obtained within ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    delay = 0.05
    with translate_errors("take the migration lock"):
        while not await conn.fetchval(_SQL_TRY_LOCK, MIGRATION_LOCK_KEY):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise MigrationError(
                    f"another migrator held the migration lock (advisory lock "
                    f"{MIGRATION_LOCK_KEY}) for more than {timeout:g} s; try again later"
                )
            await asyncio.sleep(min(delay, remaining))
            delay = min(delay * 2, 0.5)


async def _apply(conn: _Conn, migration: Migration, schema: str) -> AppliedMigration:
    """Run one file and write its ledger row, in one transaction unless it opted out.

    Raises:
        MigrationError: the server rejected the file's SQL.
    """
    started = time.perf_counter()
    row = (migration.version, migration.name, migration.checksum)
    sql, insert = in_schema(migration.sql, schema), in_schema(SQL_INSERT_LEDGER, schema)
    # Connection-level failures become StorageError; the server rejecting the file's SQL is a
    # MigrationError naming the file, with the server's message (it quotes our SQL, no data).
    with translate_errors(f"apply migration {migration.label}"):
        try:
            if migration.transactional:
                async with conn.transaction():
                    await conn.execute(sql)
                    await conn.execute(insert, *row)
            else:
                await conn.execute(sql)
                await conn.execute(insert, *row)
        except asyncpg.PostgresError as exc:
            raise _failed(migration, exc) from exc
    applied = AppliedMigration(*row, duration_ms=(time.perf_counter() - started) * 1000)
    logger.info(
        "applied migration %s to schema %s (%.0f ms)", applied.label, schema, applied.duration_ms
    )
    return applied


def _failed(migration: Migration, exc: asyncpg.PostgresError) -> MigrationError:
    """Describe a migration the server rejected, saying what state it left behind."""
    outcome = (
        "rolled back"
        if migration.transactional
        else "ran outside a transaction: check for partial effects such as an INVALID index"
    )
    hint = ""
    if exc.sqlstate == "25001":  # active_sql_transaction: e.g. CREATE INDEX CONCURRENTLY
        hint = f"; add '-- adk-pg: {NO_TRANSACTION}' to its header"
    return MigrationError(
        f"migration {migration.path.name} failed and was {outcome}: "
        f"{type(exc).__name__} (SQLSTATE {exc.sqlstate}): {exc}{hint}"
    )


@asynccontextmanager
async def target_connection(target: Target) -> AsyncIterator[_Conn]:
    """Yield a connection for ``target``: a new one for a DSN, a pooled one, or the given one.

    Raises:
        InvalidArgumentError: the DSN is not PostgreSQL.
        StorageError: the connection could not be opened.
    """
    if isinstance(target, asyncpg.Pool):
        with translate_errors("acquire a connection"):
            conn = await target.acquire()
        try:
            yield conn
        finally:
            await target.release(conn)
    elif isinstance(target, str):
        async with single_connection(target) as own:
            yield own
    else:
        yield target
