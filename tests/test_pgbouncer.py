"""The store behind a real PgBouncer in transaction mode (pool_mode=transaction).

asyncpg's statement cache names each prepared statement on the server connection it was
prepared on; transaction pooling hands the next transaction another server connection, where
that name does not exist. With the cache off (``statement_cache_size=0``, or
``?prepared_statement_cache_size=0`` / ``?statement_cache_size=0`` in the DSN) every call
uses the unnamed statement inside its own Parse/Bind/Execute/Sync, which PgBouncer keeps on
one server connection: the whole contract then works. PgBouncer < 1.21 cannot track named
statements at all; 1.21+ can with ``max_prepared_statements > 0`` (the fixture pins it to 0
so the tests hold on every version).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote, urlsplit

import asyncpg
import pytest
from _pgbouncer import PgBouncer, run_pgbouncer
from google.adk.events.event import Event as AdkEvent
from google.adk.events.event_actions import EventActions as AdkEventActions
from test_reliability import assert_exactly_the_wins_are_stored, run_writers

from adk_pg import (
    Event,
    EventActions,
    SessionStore,
    StaleSessionError,
    StorageError,
    migrate,
)
from adk_pg.adk import PostgresSessionService

APP = "app"
USER = "user"
# More client connections than server connections, so consecutive transactions of one client
# connection land on different server connections.
CLIENT_MAX = 6


@pytest.fixture(scope="module")
def bouncer(dsn: str) -> Iterator[PgBouncer]:
    """PgBouncer in front of the run's database: ``adk`` (4 server conns), ``tight`` (2)."""
    name = unquote(urlsplit(dsn).path.lstrip("/"))
    with run_pgbouncer(dsn, {"adk": (name, 4), "tight": (name, 2)}) as running:
        yield running


def event(n: int, **delta: Any) -> Event:
    return Event(
        id=f"e{n}",
        author="user",
        invocation_id="inv",
        timestamp=time.time(),
        actions=EventActions(state_delta=delta),
    )


@pytest.mark.parametrize(
    ("query", "options"),
    [
        ("prepared_statement_cache_size=0", {}),  # SQLAlchemy's spelling, in the DSN
        ("statement_cache_size=0", {}),  # asyncpg's spelling, in the DSN
        ("", {"statement_cache_size": 0}),  # as a keyword option
    ],
)
async def test_store_contract_through_transaction_pooling(
    db: str, bouncer: PgBouncer, admin: asyncpg.Connection, query: str, options: dict[str, Any]
) -> None:
    # connect() also checks the schema (reads the ledger) through PgBouncer.
    store = await SessionStore.connect(
        bouncer.dsn("tight", query), min_size=1, max_size=CLIENT_MAX, **options
    )
    try:
        s = await store.create_session(
            app_name=APP, user_id=USER, session_id="pgb", state={"k": 0, "app:a": 1, "user:u": 2}
        )
        revision = s.revision
        events = [event(n, k=n + 1, **{"user:u": n}) for n in range(3)]
        for n in range(3):
            result = await store.append_event(
                app_name=APP,
                user_id=USER,
                session_id="pgb",
                event=events[n],
                expected_revision=revision,
            )
            assert result is not None
            revision = result.revision
        # Stale detection: nothing written.
        with pytest.raises(StaleSessionError):
            await store.append_event(
                app_name=APP,
                user_id=USER,
                session_id="pgb",
                event=event(99),
                expected_revision=0,
            )
        # A duplicate append (a retry) is a successful no-op.
        again = await store.append_event(
            app_name=APP, user_id=USER, session_id="pgb", event=events[2], expected_revision=2
        )
        assert again is not None
        assert again.revision == 3
        got = await store.get_session(app_name=APP, user_id=USER, session_id="pgb")
        assert got is not None
        assert [e.id for e in got.events] == ["e0", "e1", "e2"]
        assert got.state == {"k": 3, "app:a": 1, "user:u": 2}
        assert await admin.fetchval("SELECT count(*) FROM adk.events") == 3

        # Many calls at once over 6 client and 2 server connections: no statement is lost.
        for i in range(5):
            await store.create_session(app_name=APP, user_id=USER, session_id=f"more{i}")
        reads = await asyncio.gather(
            *(store.get_session(app_name=APP, user_id=USER, session_id="pgb") for _ in range(40))
        )
        assert all(r == got for r in reads)
        page = await store.list_sessions(app_name=APP, user_id=USER, page_size=4)
        assert len(page.sessions) == 4
        assert page.next_page_token is not None
        rest = await store.list_sessions(
            app_name=APP, user_id=USER, page_size=4, page_token=page.next_page_token
        )
        assert len(rest.sessions) == 2
        assert await store.get_user_state(app_name=APP, user_id=USER) == {"u": 2}
        assert await store.get_app_state(app_name=APP) == {"a": 1}
        await store.delete_session(app_name=APP, user_id=USER, session_id="pgb")
        assert await store.get_session(app_name=APP, user_id=USER, session_id="pgb") is None
    finally:
        await store.close()


async def test_migrate_and_the_adk_service_through_transaction_pooling(
    db: str, bouncer: PgBouncer
) -> None:
    url = bouncer.dsn("tight", "prepared_statement_cache_size=0")
    # A current schema is only read (no advisory lock, no DDL), which transaction pooling
    # allows. Migrations must be applied on the server directly (the README's PgBouncer notes).
    assert await migrate(url) == []
    async with PostgresSessionService(url, min_size=1, max_size=CLIENT_MAX) as service:
        session = await service.create_session(app_name=APP, user_id=USER, state={"n": 0})
        for n in range(3):
            await service.append_event(
                session,
                AdkEvent(author="user", actions=AdkEventActions(state_delta={"n": n + 1})),
            )
        got = await service.get_session(app_name=APP, user_id=USER, session_id=session.id)
        assert got is not None
        assert got.state == {"n": 3}
        assert len(got.events) == 3
        listed = await service.list_sessions(app_name=APP, user_id=USER)
        assert [s.id for s in listed.sessions] == [session.id]
        await service.delete_session(app_name=APP, user_id=USER, session_id=session.id)


async def test_concurrent_writers_through_transaction_pooling(
    db: str, bouncer: PgBouncer, admin: asyncpg.Connection
) -> None:
    url = bouncer.dsn("adk", "prepared_statement_cache_size=0")
    stores = [await SessionStore.connect(url, min_size=1, max_size=4) for _ in range(2)]
    try:
        session = await stores[0].create_session(app_name="app", user_id="user")
        wins = await run_writers(stores, session.id, [f"w{i}" for i in range(8)], 30)
        assert all(len(w.stored) == 30 for w in wins)
        await assert_exactly_the_wins_are_stored(stores[0], admin, session.id, wins)
    finally:
        for store in stores:
            await store.close()


async def test_the_statement_cache_must_be_off_behind_transaction_pooling(
    db: str, bouncer: PgBouncer
) -> None:
    """The control: with asyncpg's default cache, calls fail (so the setting is the fix)."""
    store = await SessionStore.connect(bouncer.dsn("tight"), min_size=1, max_size=CLIENT_MAX)
    try:
        await store.create_session(app_name=APP, user_id=USER, session_id="cached")
        failures: list[BaseException] = []
        for _ in range(5):
            outcomes = await asyncio.gather(
                *(
                    store.get_session(app_name=APP, user_id=USER, session_id="cached")
                    for _ in range(40)
                ),
                return_exceptions=True,
            )
            failures += [o for o in outcomes if isinstance(o, BaseException)]
            if failures:
                break
        assert failures, "named prepared statements unexpectedly survived transaction pooling"
        for failure in failures:
            assert isinstance(failure, StorageError)
            # 26000: prepared statement does not exist; 42P05: it already exists.
            assert failure.sqlstate in {"26000", "42P05"}
    finally:
        await store.close()
