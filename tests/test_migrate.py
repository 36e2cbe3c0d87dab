"""The migration runner against a real server: each test gets its own empty database."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from _dbutil import BUNDLED, copy_migrations, ledger, next_migration, random_name

from adk_pg.adk import PostgresSessionService
from adk_pg.db.dsn import with_database
from adk_pg.db.paths import resource_dir
from adk_pg.errors import MigrationError, SchemaOutdatedError
from adk_pg.schema.admin import create_database, drop_database, quote_ident, throwaway_database
from adk_pg.schema.files import load_migrations
from adk_pg.schema.runner import MIGRATION_LOCK_KEY, check, ensure_current, migrate

ADK_TABLES = {"sessions", "events", "app_states", "user_states", "schema_migrations"}
CONCURRENT_INDEX = """-- Adds an index without blocking writers; semicolons in comments don't count;
-- adk-pg: no-transaction
CREATE INDEX CONCURRENTLY IF NOT EXISTS events_author_idx ON adk.events (author);
"""


@pytest.fixture
async def empty_dsn(server_dsn: str) -> AsyncIterator[str]:
    """A brand-new empty database of its own, dropped WITH (FORCE) after the test."""
    async with throwaway_database(server_dsn) as dsn:
        yield dsn


def write(directory: Path, name: str, sql: str) -> Path:
    """Write one migration file into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(sql, encoding="utf-8")
    return path


async def fetchval(dsn: str, query: str, *args: object) -> object:
    """Run one query on a fresh connection and return its first value."""
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval(query, *args)
    finally:
        await conn.close()


# --- files ---------------------------------------------------------------------------------


def test_bundled_migrations_load_in_order_with_checksums() -> None:
    migrations = load_migrations()
    assert [m.version for m in migrations] == list(range(1, len(migrations) + 1))
    first = migrations[0]
    assert first.label == "0001_initial_schema"
    assert first.transactional
    assert first.checksum == hashlib.sha256(first.path.read_bytes()).hexdigest()
    assert first.path.parent == resource_dir("migrations")


@pytest.mark.parametrize(
    ("files", "named"),
    [
        (["0001_a.sql", "0003_c.sql"], "0003_c.sql"),  # a gap
        (["0002_b.sql"], "0002_b.sql"),  # does not start at 0001
        (["0000_z.sql", "0001_a.sql"], "0000_z.sql"),
        (["0001_a.sql", "0002_b.sql", "0002_c.sql"], "0002_c.sql"),  # a duplicate version
        (["0001_a.sql", "2_b.sql"], "2_b.sql"),  # bad names
        (["0001_a.sql", "0002_Add-Index.sql"], "0002_Add-Index.sql"),
        (["0001_a.sql", "0002_b.SQL"], "0002_b.SQL"),
        (["0001_a.sql", "0002_b.sql.bak"], "0002_b.sql.bak"),
        (["0001_a.sql", "extra.sql"], "extra.sql"),
    ],
)
def test_bad_file_sets_are_refused_naming_the_file(
    tmp_path: Path, files: list[str], named: str
) -> None:
    for name in files:
        write(tmp_path, name, "SELECT 1;\n")
    with pytest.raises(MigrationError, match=named.replace(".", r"\.")):
        load_migrations(tmp_path)


def test_duplicate_names_both_files(tmp_path: Path) -> None:
    for name in ("0001_a.sql", "0002_b.sql", "0002_c.sql"):
        write(tmp_path, name, "SELECT 1;\n")
    with pytest.raises(MigrationError, match=r"duplicate .*0002_b\.sql and 0002_c\.sql"):
        load_migrations(tmp_path)


def test_other_files_are_ignored(tmp_path: Path) -> None:
    write(tmp_path, "0001_a.sql", "SELECT 1;\n")
    write(tmp_path, "README.md", "notes\n")
    (tmp_path / "drafts").mkdir()
    assert [m.label for m in load_migrations(tmp_path)] == ["0001_a"]


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("-- adk-pg: no-transaction\nCREATE INDEX CONCURRENTLY i ON t (a);\nSELECT 1;\n", "2 st"),
        ("-- adk-pg: no-transactions\nSELECT 1;\n", "unknown header directive"),
        ("-- only a comment; nothing else\n\n", "no SQL statement"),
    ],
)
def test_bad_file_contents_are_refused_naming_the_file(
    tmp_path: Path, sql: str, reason: str
) -> None:
    write(tmp_path, "0001_a.sql", "SELECT 1;\n")
    write(tmp_path, "0002_bad.sql", sql)
    with pytest.raises(MigrationError, match=rf"0002_bad\.sql.*{reason}"):
        load_migrations(tmp_path)


def test_no_transaction_counts_one_statement_despite_quotes(tmp_path: Path) -> None:
    # Semicolons inside comments, strings, quoted identifiers and dollar quotes are not
    # statement ends; a trailing semicolon and whitespace are fine.
    write(tmp_path, "0001_a.sql", "SELECT 1;\n")
    write(
        tmp_path,
        "0002_b.sql",
        "-- header; with a semicolon\n-- ADK-PG: no-transaction\n"
        "/* block; /* nested; */ still; */\n"
        "DO $body$ BEGIN PERFORM ';', E'\\';', \"a;b\".x FROM (SELECT 1 AS x) AS \"a;b\"; "
        "END $body$;\n\n",
    )
    second = load_migrations(tmp_path)[1]
    assert not second.transactional


# --- applying ------------------------------------------------------------------------------


async def test_migrate_creates_the_schema_and_ledger(empty_dsn: str) -> None:
    bundled = load_migrations()
    applied = await migrate(empty_dsn)
    assert [a.label for a in applied] == [m.label for m in bundled]
    conn = await asyncpg.connect(empty_dsn)
    try:
        tables = await conn.fetch(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'adk' AND c.relkind = 'r'"
        )
        assert {r["relname"] for r in tables} >= ADK_TABLES
        rows = await conn.fetch("SELECT applied_at FROM adk.schema_migrations")
        assert all(r["applied_at"] is not None for r in rows)
        comment = await conn.fetchval(
            "SELECT obj_description('adk.schema_migrations'::regclass, 'pg_class')"
        )
        assert comment
    finally:
        await conn.close()
    assert await ledger(empty_dsn) == [(m.version, m.name, m.checksum) for m in bundled]


async def test_current_schema_takes_no_lock_and_runs_no_ddl(empty_dsn: str, tmp_path: Path) -> None:
    await migrate(empty_dsn)
    guard = await asyncpg.connect(empty_dsn)
    try:
        # Any DDL now fails loudly, and the migration lock is held by someone else.
        await guard.execute(
            "CREATE FUNCTION public.forbid_ddl() RETURNS event_trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'DDL attempted: %', tg_tag; END $$;"
            "CREATE EVENT TRIGGER forbid_ddl ON ddl_command_start "
            "EXECUTE FUNCTION public.forbid_ddl()"
        )
        assert await guard.fetchval("SELECT pg_try_advisory_lock($1)", MIGRATION_LOCK_KEY)
        started = time.monotonic()
        assert await migrate(empty_dsn, lock_timeout=5) == []
        assert time.monotonic() - started < 2  # it never waited for the lock
        await ensure_current(empty_dsn)

        # Controls: with work pending the lock *is* needed, and the DDL guard works.
        pending = copy_migrations(tmp_path / "m")
        more = next_migration(pending, "more")
        write(pending, more, "CREATE TABLE adk.more (id int);\n")
        with pytest.raises(MigrationError, match="migration lock"):
            await migrate(empty_dsn, directory=pending, lock_timeout=0.3)
        await guard.fetchval("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_KEY)
        with pytest.raises(MigrationError, match=rf"{more} .*DDL attempted"):
            await migrate(empty_dsn, directory=pending)
    finally:
        await guard.close()


async def test_lock_timeout_when_another_migrator_holds_it(empty_dsn: str) -> None:
    holder = await asyncpg.connect(empty_dsn)
    try:
        await holder.fetchval("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
        with pytest.raises(MigrationError, match=str(MIGRATION_LOCK_KEY)):
            await migrate(empty_dsn, lock_timeout=0.3)
    finally:
        await holder.close()
    # Nothing was created while waiting; the lock died with its session, so this now works.
    assert (await check(empty_dsn)).current_version == 0
    assert await migrate(empty_dsn)


async def test_four_concurrent_migrators_apply_each_version_once(
    empty_dsn: str, tmp_path: Path
) -> None:
    directory = copy_migrations(tmp_path / "m")
    last = len(load_migrations(directory)) + 1
    write(directory, f"{last:04d}_events_author_index.sql", CONCURRENT_INDEX)
    conns = [await asyncpg.connect(empty_dsn) for _ in range(4)]
    try:
        results = await asyncio.wait_for(
            asyncio.gather(*(migrate(c, directory=directory) for c in conns)), timeout=60
        )
        # The lock is released by every migrator, winner and losers alike.
        held = await conns[0].fetchval(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
            "AND (classid::bigint << 32 | objid::bigint) = $1 "
            # Advisory locks belong to a database: other test runs migrate theirs meanwhile.
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            MIGRATION_LOCK_KEY,
        )
    finally:
        for conn in conns:
            await conn.close()
    versions = sorted(a.version for applied in results for a in applied)
    assert versions == list(range(1, last + 1))
    assert sum(1 for applied in results if applied) == 1
    assert [row[0] for row in await ledger(empty_dsn)] == versions
    assert held == 0
    assert await fetchval(
        empty_dsn,
        "SELECT indisvalid FROM pg_index WHERE indexrelid = 'adk.events_author_idx'::regclass",
    )


async def test_no_transaction_migration_is_applied_and_recorded(
    empty_dsn: str, tmp_path: Path
) -> None:
    directory = copy_migrations(tmp_path / "m")
    name = next_migration(directory, "events_author_index")
    write(directory, name, CONCURRENT_INDEX)
    applied = await migrate(empty_dsn, directory=directory)
    assert [a.label for a in applied][-1] == name.removesuffix(".sql")
    assert (await ledger(empty_dsn))[-1][:2] == (BUNDLED + 1, "events_author_index")
    assert await fetchval(
        empty_dsn,
        "SELECT indisvalid FROM pg_index WHERE indexrelid = 'adk.events_author_idx'::regclass",
    )


async def test_concurrent_index_without_the_header_fails_with_a_hint(
    empty_dsn: str, tmp_path: Path
) -> None:
    directory = copy_migrations(tmp_path / "m")
    name = next_migration(directory, "idx")
    write(directory, name, "CREATE INDEX CONCURRENTLY i ON adk.events (author);\n")
    with pytest.raises(MigrationError, match=rf"{name} .*adk-pg: no-transaction"):
        await migrate(empty_dsn, directory=directory)
    assert [row[0] for row in await ledger(empty_dsn)] == list(range(1, BUNDLED + 1))


async def test_failed_migration_is_rolled_back_with_its_ledger_row(
    empty_dsn: str, tmp_path: Path
) -> None:
    directory = copy_migrations(tmp_path / "m")
    name = next_migration(directory, "broken")
    write(directory, name, "CREATE TABLE adk.half (id int);\nSELECT 1 / 0;\n")
    with pytest.raises(MigrationError, match=rf"{name} .*rolled back.*22012"):
        await migrate(empty_dsn, directory=directory)
    # the bundled files committed each on its own
    assert [row[0] for row in await ledger(empty_dsn)] == list(range(1, BUNDLED + 1))
    assert await fetchval(empty_dsn, "SELECT to_regclass('adk.half')") is None


async def test_edited_applied_file_is_refused(empty_dsn: str, tmp_path: Path) -> None:
    directory = copy_migrations(tmp_path / "m")
    await migrate(empty_dsn, directory=directory)
    edited = directory / "0001_initial_schema.sql"
    edited.write_bytes(edited.read_bytes() + b"\n-- a harmless-looking edit\n")
    with pytest.raises(MigrationError, match=r"0001_initial_schema\.sql was edited"):
        await migrate(empty_dsn, directory=directory)
    status = await check(empty_dsn, directory=directory)
    assert [m.label for m in status.modified] == ["0001_initial_schema"]
    assert not status.is_current
    with pytest.raises(MigrationError, match=r"0001_initial_schema\.sql"):
        await ensure_current(empty_dsn, directory=directory)


async def test_database_newer_than_the_code_is_refused(empty_dsn: str, tmp_path: Path) -> None:
    newer = copy_migrations(tmp_path / "newer")
    write(newer, next_migration(newer, "more"), "CREATE TABLE adk.more (id int);\n")
    await migrate(empty_dsn, directory=newer)
    older = copy_migrations(tmp_path / "older")
    with pytest.raises(MigrationError, match=rf"{BUNDLED + 1:04d} applied .* newer than this"):
        await migrate(empty_dsn, directory=older)
    assert (await check(empty_dsn, directory=older)).unknown_versions == [BUNDLED + 1]


async def test_ledger_hole_is_refused(empty_dsn: str, tmp_path: Path) -> None:
    directory = copy_migrations(tmp_path / "m")
    write(directory, next_migration(directory, "more"), "CREATE TABLE adk.more (id int);\n")
    await migrate(empty_dsn, directory=directory)
    await fetchval(empty_dsn, "DELETE FROM adk.schema_migrations WHERE version = 1")
    with pytest.raises(MigrationError, match=r"0001_initial_schema\.sql is not applied"):
        await migrate(empty_dsn, directory=directory)


async def test_check_reports_pending_then_current(empty_dsn: str) -> None:
    bundled = load_migrations()
    before = await check(empty_dsn)
    assert before.current_version == 0
    assert [m.label for m in before.pending] == [m.label for m in bundled]
    assert not before.modified
    assert not before.is_current
    with pytest.raises(SchemaOutdatedError, match="make migrate"):
        await ensure_current(empty_dsn)
    await migrate(empty_dsn)
    after = await check(empty_dsn)
    assert after.current_version == bundled[-1].version
    assert after.is_current
    await ensure_current(empty_dsn)


async def test_role_without_ddl_rights_can_migrate_a_current_database(
    server_dsn: str, empty_dsn: str, tmp_path: Path
) -> None:
    await migrate(empty_dsn)
    role, password = random_name("adk_pg_ro"), "ro-pass"
    database = await fetchval(empty_dsn, "SELECT current_database()")
    assert isinstance(database, str)
    conn = await asyncpg.connect(empty_dsn)
    try:
        # Only what reading the ledger needs: no CREATE anywhere, no other table.
        await conn.execute(
            f"CREATE ROLE {quote_ident(role)} LOGIN PASSWORD '{password}';"
            f"REVOKE ALL ON DATABASE {quote_ident(database)} FROM PUBLIC;"
            f"GRANT CONNECT ON DATABASE {quote_ident(database)} TO {quote_ident(role)};"
            f"GRANT USAGE ON SCHEMA adk TO {quote_ident(role)};"
            f"GRANT SELECT ON adk.schema_migrations TO {quote_ident(role)}"
        )
    finally:
        await conn.close()
    try:
        role_dsn = with_database(server_dsn, database, user=role, password=password)
        assert await migrate(role_dsn) == []
        assert (await check(role_dsn)).is_current
        await ensure_current(role_dsn)
        # Control: the role really cannot do DDL.
        pending = copy_migrations(tmp_path / "m")
        more = next_migration(pending, "more")
        write(pending, more, "CREATE TABLE adk.more (id int);\n")
        with pytest.raises(MigrationError, match=rf"{more} .*42501"):
            await migrate(role_dsn, directory=pending)
    finally:
        await drop_database(with_database(server_dsn, database))
        admin = await asyncpg.connect(server_dsn)
        try:
            await admin.execute(f"DROP ROLE IF EXISTS {quote_ident(role)}")
        finally:
            await admin.close()


# --- targets -------------------------------------------------------------------------------


async def test_pool_target_expires_connections_after_applying(empty_dsn: str) -> None:
    pool = await asyncpg.create_pool(empty_dsn, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            before = conn.get_server_pid()
        assert await migrate(pool)
        async with pool.acquire() as conn:
            after = conn.get_server_pid()
        assert after != before  # a fresh connection: no statement prepared before the DDL
        assert await migrate(pool) == []
        async with pool.acquire() as conn:
            assert conn.get_server_pid() == after  # nothing applied, nothing expired
    finally:
        await pool.close()


async def test_connection_target_stays_open(empty_dsn: str) -> None:
    conn = await asyncpg.connect(empty_dsn)
    try:
        assert await migrate(conn)
        assert await conn.fetchval("SELECT count(*) FROM adk.sessions") == 0
    finally:
        await conn.close()


@pytest.mark.parametrize("scheme", ["postgres", "postgresql+asyncpg"])
async def test_dsn_schemes(empty_dsn: str, scheme: str) -> None:
    dsn = scheme + empty_dsn[empty_dsn.index("://") :]
    assert await migrate(dsn)
    assert (await check(dsn)).is_current


async def test_create_database_quotes_the_name(server_dsn: str) -> None:
    name = random_name('adk pg "odd"')
    dsn = with_database(server_dsn, name)
    try:
        assert await create_database(dsn)
        assert not await create_database(dsn)  # already there: nothing to do
        assert await migrate(dsn)
        assert (
            await fetchval(server_dsn, "SELECT count(*) FROM pg_database WHERE datname = $1", name)
            == 1
        )
    finally:
        await drop_database(with_database(server_dsn, name))


def test_quote_ident() -> None:
    assert quote_ident("adk_sessions") == '"adk_sessions"'
    assert quote_ident('a"b; DROP') == '"a""b; DROP"'
    for bad in ("", "a\x00b", "x" * 64):
        with pytest.raises(ValueError, match="identifier"):
            quote_ident(bad)


async def test_first_use_logs_each_migration_it_applies_at_info(
    server_dsn: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="adk_pg")

    def applied() -> list[str]:
        return [
            r.getMessage()
            for r in caplog.records
            if r.name == "adk_pg" and r.levelno == logging.INFO
        ]

    async with throwaway_database(server_dsn) as dsn:
        async with PostgresSessionService(dsn) as service:
            await service.create_session(app_name="a", user_id="u")
        assert applied()[0].startswith("applied migration 0001_initial_schema")
        assert len(applied()) == BUNDLED
        caplog.clear()
        async with PostgresSessionService(dsn) as again:  # the schema is current: nothing
            await again.create_session(app_name="a", user_id="u")
        assert applied() == []
