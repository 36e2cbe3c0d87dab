"""How driver errors become StorageError: retryable or not, and what the message says."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from adk_pg import SessionStore, StorageError
from adk_pg.db.pool import create_pool
from adk_pg.errors import translate_errors


async def test_a_closed_pool_is_not_retryable(db: str) -> None:
    pool = await create_pool(db, max_size=1)
    store = SessionStore(pool)
    await pool.close()
    # A retry loop on `retryable` must stop: the same call can never succeed on this pool.
    with pytest.raises(StorageError, match="closed pool") as info:
        await store.get_app_state(app_name="app")
    assert not info.value.retryable
    assert info.value.sqlstate is None
    assert isinstance(info.value.__cause__, asyncpg.InterfaceError)


async def test_a_closed_connection_is_not_retryable(db: str) -> None:
    conn = await asyncpg.connect(db)
    await conn.close()
    with pytest.raises(StorageError) as info, translate_errors("read"):
        await conn.fetchval("SELECT 1")
    assert not info.value.retryable


async def test_an_argument_the_driver_cannot_encode_is_not_retryable_nor_quoted(
    admin: asyncpg.Connection,
) -> None:
    with pytest.raises(StorageError) as info, translate_errors("read"):
        await admin.fetchval("SELECT $1::int", "not-a-number-payload")
    assert isinstance(info.value.__cause__, asyncpg.DataError)
    assert not info.value.retryable
    assert "payload" not in str(info.value)


@pytest.mark.parametrize("timeout", [TimeoutError, asyncio.TimeoutError])
def test_client_timeouts_read_timed_out_and_are_retryable(timeout: type[Exception]) -> None:
    # On Python 3.10 asyncpg raises asyncio.TimeoutError, not yet the builtin TimeoutError.
    with pytest.raises(StorageError) as info, translate_errors("get session a/b/c"):
        raise timeout()
    assert str(info.value).startswith("get session a/b/c: timed out")
    assert "connection failed" not in str(info.value)
    assert info.value.retryable


def test_a_broken_connection_is_retryable() -> None:
    with pytest.raises(StorageError, match="connection failed") as info, translate_errors("read"):
        raise ConnectionResetError("reset by peer")
    assert info.value.retryable


@pytest.mark.parametrize(
    ("sql", "sqlstate"),
    [
        ("EXECUTE adk_pg_no_such_statement", "26000"),
        ("PREPARE adk_pg_twice AS SELECT 1; PREPARE adk_pg_twice AS SELECT 1", "42P05"),
    ],
)
async def test_lost_prepared_statements_hint_at_the_pgbouncer_setting(
    db: str, sql: str, sqlstate: str
) -> None:
    # What asyncpg's statement cache meets behind PgBouncer in transaction mode.
    conn = await asyncpg.connect(db)
    try:
        with pytest.raises(StorageError) as info, translate_errors("read"):
            await conn.execute(sql)
    finally:
        await conn.close()
    assert info.value.sqlstate == sqlstate
    assert "prepared_statement_cache_size=0" in str(info.value)
    assert not info.value.retryable


async def test_other_server_errors_carry_no_pgbouncer_hint(admin: asyncpg.Connection) -> None:
    with pytest.raises(StorageError) as info, translate_errors("read"):
        await admin.execute("SELECT 1/0")
    assert info.value.sqlstate == "22012"
    assert "PgBouncer" not in str(info.value)
