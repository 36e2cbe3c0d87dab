"""The migration runner: ledger, advisory lock, checksums, apply / check / ensure_current.

Files are ``migrations/NNNN_snake_name.sql``, numbered contiguously from 0001 and never edited
once applied. Each file and its row in ``adk.schema_migrations`` commit in one transaction,
unless its header holds the line ``-- adk-pg: no-transaction`` (for ``CREATE INDEX
CONCURRENTLY``): such a file holds exactly one statement and its ledger row is written after it.

This module is the one place outside ``sql/`` that keeps SQL text: the runner's statements are
bootstrap and bookkeeping, not product queries.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeAlias
from urllib.parse import unquote, urlsplit

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from adk_pg.dsn import redact_dsn
from adk_pg.errors import (
    InvalidArgumentError,
    MigrationError,
    SchemaOutdatedError,
    translate_errors,
)
from adk_pg.paths import resource_dir
from adk_pg.pool import create_pool

__all__ = [
    "MIGRATION_LOCK_KEY",
    "AppliedMigration",
    "Migration",
    "MigrationStatus",
    "Target",
    "check",
    "create_database",
    "ensure_current",
    "load_migrations",
    "migrate",
    "quote_ident",
]

Target: TypeAlias = "str | asyncpg.Pool | asyncpg.Connection | PoolConnectionProxy"
_Conn: TypeAlias = "asyncpg.Connection | PoolConnectionProxy"

# The session-level advisory lock every adk-pg migrator polls for: b"adk_pg_m" read as a
# big-endian int64, so it shows up recognisably in pg_locks (classid 1633971039, objid 1885822829).
MIGRATION_LOCK_KEY = 0x61646B5F70675F6D

_FILE_NAME = re.compile(r"(\d{4})_([a-z0-9]+(?:_[a-z0-9]+)*)\.sql")
_DIRECTIVE = re.compile(r"--\s*adk-pg:\s*(.*?)\s*", re.IGNORECASE)
_DOLLAR_QUOTE = re.compile(r"\$(?:[A-Za-z_\x80-\U0010ffff][A-Za-z0-9_\x80-\U0010ffff]*)?\$")
_NO_TRANSACTION = "no-transaction"

# Read-only and readable by any role: the catalogs, not the ledger that may not exist yet.
_SQL_LEDGER_EXISTS = """
SELECT
    EXISTS (SELECT FROM pg_catalog.pg_namespace WHERE nspname = 'adk') AS has_schema,
    EXISTS (
        SELECT FROM pg_catalog.pg_class AS c
        JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
        WHERE n.nspname = 'adk' AND c.relname = 'schema_migrations'
    ) AS has_ledger"""
_SQL_SELECT_LEDGER = "SELECT version, checksum FROM adk.schema_migrations ORDER BY version"
# Issued only when the schema is missing: even IF NOT EXISTS needs CREATE on the database.
_SQL_CREATE_SCHEMA = "CREATE SCHEMA IF NOT EXISTS adk"
_SQL_CREATE_LEDGER = """
CREATE TABLE IF NOT EXISTS adk.schema_migrations (
    version    integer     NOT NULL,
    name       text        NOT NULL,
    checksum   text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT schema_migrations_pkey PRIMARY KEY (version),
    CONSTRAINT schema_migrations_version_positive CHECK (version > 0),
    CONSTRAINT schema_migrations_checksum_is_sha256 CHECK (checksum ~ '^[0-9a-f]{64}$')
);
COMMENT ON TABLE adk.schema_migrations IS
    'The adk-pg migration ledger: one row per applied migrations/NNNN_name.sql file.';
COMMENT ON COLUMN adk.schema_migrations.version IS 'The file''s number (NNNN).';
COMMENT ON COLUMN adk.schema_migrations.name IS 'The file''s name after the number, no .sql.';
COMMENT ON COLUMN adk.schema_migrations.checksum IS
    'sha256 (hex) of the file''s bytes; adk-pg refuses to run if an applied file changed.';
COMMENT ON COLUMN adk.schema_migrations.applied_at IS 'When the migration was applied.';
"""
_SQL_INSERT_LEDGER = (
    "INSERT INTO adk.schema_migrations (version, name, checksum) VALUES ($1, $2, $3)"
)
_SQL_TRY_LOCK = "SELECT pg_catalog.pg_try_advisory_lock($1)"
_SQL_UNLOCK = "SELECT pg_catalog.pg_advisory_unlock($1)"
_SQL_DATABASE_EXISTS = "SELECT EXISTS (SELECT FROM pg_catalog.pg_database WHERE datname = $1)"


@dataclass(frozen=True)
class Migration:
    """One migration file: its number, name, text and checksum."""

    version: int
    name: str
    path: Path
    checksum: str
    transactional: bool
    sql: str = field(repr=False)

    @property
    def label(self) -> str:
        """The file name without ``.sql``, e.g. ``0001_initial_schema``."""
        return f"{self.version:04d}_{self.name}"


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


@dataclass(frozen=True)
class MigrationStatus:
    """How the database's ledger compares with the migration files.

    ``modified`` are applied files whose bytes changed; ``unknown_versions`` are applied in the
    database but have no file (the database is newer than this code).
    """

    current_version: int
    pending: list[Migration]
    modified: list[Migration]
    unknown_versions: list[int]

    @property
    def is_current(self) -> bool:
        """True when nothing is pending, modified or unknown."""
        return not (self.pending or self.modified or self.unknown_versions)


def load_migrations(directory: Path | None = None) -> list[Migration]:
    """Read, validate and checksum the migration files, in version order.

    Raises:
        MigrationError: a bad file name, a gap, a duplicate version, an unreadable or empty
            file, an unknown header directive, or a no-transaction file with several statements.
    """
    try:
        folder = directory if directory is not None else resource_dir("migrations")
        paths = sorted(p for p in folder.iterdir() if p.is_file())
    except OSError as exc:
        raise MigrationError(f"cannot list the migrations directory: {exc}") from exc
    by_version: dict[int, Path] = {}
    migrations: list[Migration] = []
    for path in paths:
        match = _FILE_NAME.fullmatch(path.name)
        if match is None:
            # Anything that looks like a migration must be one: a typo must not be skipped.
            if path.suffix.lower() == ".sql" or path.name[:1].isdigit():
                raise MigrationError(
                    f"bad migration file name {path.name!r}: expected NNNN_snake_name.sql"
                )
            continue
        version = int(match.group(1))
        if version in by_version:
            raise MigrationError(
                f"duplicate migration version {version:04d}: {by_version[version].name} "
                f"and {path.name}"
            )
        by_version[version] = path
        migrations.append(_read_migration(path, version, match.group(2)))
    if not migrations:
        raise MigrationError(f"no migration files in {folder}")
    for expected, migration in enumerate(migrations, start=1):
        if migration.version != expected:
            raise MigrationError(
                f"migration {migration.path.name} is out of sequence: expected "
                f"{expected:04d}_*.sql (numbers start at 0001 with no gaps)"
            )
    return migrations


def _read_migration(path: Path, version: int, name: str) -> Migration:
    """Read one file and parse its header.

    Raises:
        MigrationError: the file is unreadable, not UTF-8, empty, or has a bad header.
    """
    try:
        raw = path.read_bytes()
        sql = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise MigrationError(f"cannot read migration {path.name}: {exc}") from exc
    transactional = True
    for line in sql.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("--"):
            break  # the header is the leading run of comment lines
        directive = _DIRECTIVE.fullmatch(stripped)
        if directive is None:
            continue
        if directive.group(1).lower() != _NO_TRANSACTION:
            raise MigrationError(
                f"migration {path.name}: unknown header directive {directive.group(1)!r} "
                f"(the only one is '-- adk-pg: {_NO_TRANSACTION}')"
            )
        transactional = False
    statements = _count_statements(sql)
    if statements == 0:
        raise MigrationError(f"migration {path.name} holds no SQL statement")
    if not transactional and statements != 1:
        raise MigrationError(
            f"migration {path.name} is marked no-transaction but holds {statements} statements; "
            "such a file must hold exactly one"
        )
    return Migration(
        version=version,
        name=name,
        path=path,
        checksum=hashlib.sha256(raw).hexdigest(),
        transactional=transactional,
        sql=sql,
    )


def _count_statements(sql: str) -> int:
    """Count the statements in ``sql``; semicolons in comments, strings and quotes don't count."""
    count, in_statement, i, end = 0, False, 0, len(sql)
    while i < end:
        char = sql[i]
        if sql.startswith("--", i):
            newline = sql.find("\n", i)
            i = end if newline < 0 else newline + 1
        elif sql.startswith("/*", i):
            i = _skip_block_comment(sql, i)
        elif char == ";":
            count += in_statement
            in_statement, i = False, i + 1
        elif char.isspace():
            i += 1
        else:
            in_statement = True
            i = _skip_token(sql, i)
    return count + in_statement


def _skip_block_comment(sql: str, start: int) -> int:
    """Return the index after the (nestable, as in PostgreSQL) comment opening at ``start``."""
    depth, i = 0, start
    while i < len(sql):
        if sql.startswith("/*", i):
            depth, i = depth + 1, i + 2
        elif sql.startswith("*/", i):
            depth, i = depth - 1, i + 2
            if depth == 0:
                return i
        else:
            i += 1
    return len(sql)


def _skip_token(sql: str, start: int) -> int:
    """Return the index after a quoted literal or identifier at ``start``, else after one char."""
    char = sql[start]
    if char in "'\"":
        # E'...' strings take backslash escapes; standard strings and identifiers don't.
        backslash = char == "'" and start > 0 and sql[start - 1] in "eE"
        i = start + 1
        while i < len(sql):
            if backslash and sql[i] == "\\":
                i += 2
            elif sql[i] == char:
                if not sql.startswith(char, i + 1):
                    return i + 1
                i += 2  # a doubled quote stands for itself
            else:
                i += 1
        return len(sql)
    prev = sql[start - 1] if start > 0 else " "
    # `$tag$` opens a dollar quote unless it continues an identifier (`a$b$`); `$1` never does.
    match = _DOLLAR_QUOTE.match(sql, start) if char == "$" else None
    if match is not None and not (prev.isalnum() or prev == "_"):
        close = sql.find(match.group(), match.end())
        return len(sql) if close < 0 else close + len(match.group())
    return start + 1


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


async def check(target: Target, *, directory: Path | None = None) -> MigrationStatus:
    """Compare the ledger with the migration files; read-only, takes no lock.

    Raises:
        MigrationError: the migration files are invalid.
        StorageError: the database could not be reached or read.
    """
    migrations = load_migrations(directory)
    async with _connection(target) as conn:
        _, _, applied = await _read_ledger(conn)
    return _compare(migrations, applied)


async def ensure_current(target: Target, *, directory: Path | None = None) -> None:
    """Raise unless every migration is applied, unchanged; read-only, takes no lock.

    Raises:
        SchemaOutdatedError: migrations are pending.
        MigrationError: an applied file was edited, or the database is newer than this code.
        StorageError: the database could not be reached or read.
    """
    status = await check(target, directory=directory)
    _refuse_drift(status)
    if status.pending:
        raise SchemaOutdatedError(
            f"the adk schema is at version {status.current_version} but adk-pg needs "
            f"{status.pending[-1].version}: run `make migrate` (or `adk-pg migrate`)"
        )


async def migrate(
    target: Target, *, lock_timeout: float = 60.0, directory: Path | None = None
) -> list[AppliedMigration]:
    """Apply the pending migrations and return them (empty when the schema was current).

    A current schema is only read: no lock, no DDL, so a role with SELECT on the ledger can
    run this. ``target`` is a DSN, a pool (its connections are expired after applying, so no
    stale prepared statement survives) or a connection.

    Raises:
        InvalidArgumentError: the DSN's scheme is not PostgreSQL, or lock_timeout is negative.
        MigrationError: invalid files, an edited applied file, a database newer than this code,
            a migration that failed, or the lock not obtained within ``lock_timeout`` seconds.
        StorageError: the database could not be reached.
    """
    if lock_timeout < 0:
        raise InvalidArgumentError(f"lock_timeout must be >= 0, got {lock_timeout}")
    migrations = load_migrations(directory)
    async with _connection(target) as conn:
        _, _, applied_before = await _read_ledger(conn)
        status = _compare(migrations, applied_before)
        _refuse_drift(status)
        if not status.pending:
            return []
        if conn.is_in_transaction():
            raise MigrationError("cannot migrate on a connection inside a transaction")
        applied = await _apply_locked(conn, migrations, lock_timeout)
        if applied and not isinstance(target, (str, asyncpg.Pool)):
            await conn.reload_schema_state()  # the caller's connection keeps its cache
    if applied and isinstance(target, asyncpg.Pool):
        await target.expire_connections()
    return applied


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
    async with _connection(dsn, database="postgres") as conn:
        with translate_errors("create database"):
            if await conn.fetchval(_SQL_DATABASE_EXISTS, name):
                return False
            try:
                await conn.execute(statement)
            except asyncpg.DuplicateDatabaseError:
                return False  # a concurrent `make migrate` created it first
            return True


async def _apply_locked(
    conn: _Conn, migrations: list[Migration], lock_timeout: float
) -> list[AppliedMigration]:
    """Take the lock, re-read the ledger (another migrator may have won), apply what is left.

    Raises:
        MigrationError: see :func:`migrate`.
    """
    await _lock(conn, lock_timeout)
    try:
        has_schema, has_ledger, applied = await _read_ledger(conn)
        status = _compare(migrations, applied)
        _refuse_drift(status)
        if not has_ledger:
            with translate_errors("create the migration ledger"):
                async with conn.transaction():
                    if not has_schema:
                        await conn.execute(_SQL_CREATE_SCHEMA)
                    await conn.execute(_SQL_CREATE_LEDGER)
        return [await _apply(conn, migration) for migration in status.pending]
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


async def _apply(conn: _Conn, migration: Migration) -> AppliedMigration:
    """Run one file and write its ledger row, in one transaction unless it opted out.

    Raises:
        MigrationError: the server rejected the file's SQL.
    """
    started = time.perf_counter()
    row = (migration.version, migration.name, migration.checksum)
    # Connection-level failures become StorageError; the server rejecting the file's SQL is a
    # MigrationError naming the file, with the server's message (it quotes our SQL, no data).
    with translate_errors(f"apply migration {migration.label}"):
        try:
            if migration.transactional:
                async with conn.transaction():
                    await conn.execute(migration.sql)
                    await conn.execute(_SQL_INSERT_LEDGER, *row)
            else:
                await conn.execute(migration.sql)
                await conn.execute(_SQL_INSERT_LEDGER, *row)
        except asyncpg.PostgresError as exc:
            raise _failed(migration, exc) from exc
    return AppliedMigration(*row, duration_ms=(time.perf_counter() - started) * 1000)


def _failed(migration: Migration, exc: asyncpg.PostgresError) -> MigrationError:
    """Describe a migration the server rejected, saying what state it left behind."""
    outcome = (
        "rolled back"
        if migration.transactional
        else "ran outside a transaction: check for partial effects such as an INVALID index"
    )
    hint = ""
    if exc.sqlstate == "25001":  # active_sql_transaction: e.g. CREATE INDEX CONCURRENTLY
        hint = f"; add '-- adk-pg: {_NO_TRANSACTION}' to its header"
    return MigrationError(
        f"migration {migration.path.name} failed and was {outcome}: "
        f"{type(exc).__name__} (SQLSTATE {exc.sqlstate}): {exc}{hint}"
    )


async def _read_ledger(conn: _Conn) -> tuple[bool, bool, dict[int, str]]:
    """Return (schema adk exists, ledger exists, {applied version: checksum}).

    Raises:
        StorageError: the database could not be read.
    """
    with translate_errors("read the migration ledger"):
        exists = (await conn.fetch(_SQL_LEDGER_EXISTS))[0]  # no FROM: always exactly one row
        rows = await conn.fetch(_SQL_SELECT_LEDGER) if exists["has_ledger"] else []
    applied = {int(row["version"]): str(row["checksum"]) for row in rows}
    return bool(exists["has_schema"]), bool(exists["has_ledger"]), applied


def _compare(migrations: list[Migration], applied: dict[int, str]) -> MigrationStatus:
    """Compare the ledger's {version: checksum} with the migration files."""
    return MigrationStatus(
        current_version=max(applied, default=0),
        pending=[m for m in migrations if m.version not in applied],
        modified=[m for m in migrations if applied.get(m.version, m.checksum) != m.checksum],
        unknown_versions=sorted(set(applied) - {m.version for m in migrations}),
    )


def _refuse_drift(status: MigrationStatus) -> None:
    """Raise if the ledger disagrees with the files in a way applying cannot fix.

    Raises:
        MigrationError: an edited applied file, a version with no file, or a ledger hole.
    """
    if status.modified:
        names = ", ".join(m.path.name for m in status.modified)
        raise MigrationError(
            f"applied migration {names} was edited after it was applied (its sha256 differs "
            "from adk.schema_migrations); restore the file and add a new migration instead"
        )
    if status.unknown_versions:
        versions = ", ".join(f"{v:04d}" for v in status.unknown_versions)
        raise MigrationError(
            f"the database has migration {versions} applied but this adk-pg has no such file: "
            "the database is newer than this code; upgrade adk-pg"
        )
    if status.pending and status.pending[0].version <= status.current_version:
        raise MigrationError(
            f"migration {status.pending[0].path.name} is not applied but a later one is: "
            "adk.schema_migrations was edited by hand"
        )


@asynccontextmanager
async def _connection(target: Target, *, database: str | None = None) -> AsyncIterator[_Conn]:
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
        return
    if not isinstance(target, str):
        yield target
        return
    # A one-connection pool rather than asyncpg.connect: pool.py owns DSN parsing (schemes,
    # query-string options asyncpg would send to the server) and password-free connect errors.
    # We are its only user, so an acquire never waits: no acquire timeout.
    options = {} if database is None else {"database": database}
    pool = await create_pool(target, min_size=1, max_size=1, pool_timeout=None, **options)
    try:
        async with pool.acquire() as conn:
            yield conn
    finally:
        await pool.close()
