"""One statement per call, counted with asyncpg's query logger; hot queries use their indexes."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from typing import Any

import asyncpg
import pytest
from _plans import plan_nodes
from google.genai import types

from adk_pg import Event, EventActions, EventConflictError, SessionStore
from adk_pg.db.connection_hooks import init_connection
from adk_pg.db.pool import create_pool
from adk_pg.ops.queries import QUERIES as OPS_QUERIES
from adk_pg.schema.admin import throwaway_database
from adk_pg.schema.runner import migrate
from adk_pg.sessions.queries import QUERIES


class Counter:
    """Counts the statements a connection sends (asyncpg's query logger)."""

    def __init__(self) -> None:
        self.queries: list[str] = []

    def __call__(self, record: Any) -> None:
        self.queries.append(record.query)


@pytest.fixture
async def counted(db: str) -> AsyncIterator[tuple[SessionStore, Counter]]:
    """A store on a one-connection pool whose every statement is counted."""
    counter = Counter()

    async def log_queries(conn: asyncpg.Connection) -> None:
        conn.add_query_logger(counter)

    pool = await create_pool(db, min_size=1, max_size=1, setup=log_queries)
    yield SessionStore(pool), counter
    await pool.close()


def event(i: int, delta: dict[str, Any]) -> Event:
    return Event(
        author="user",
        invocation_id=f"inv{i}",
        timestamp=time.time(),
        content=types.Content(role="user", parts=[types.Part(text="x" * 300)]),
        actions=EventActions(state_delta=delta),
    )


async def test_each_call_is_one_statement(counted: tuple[SessionStore, Counter]) -> None:
    store, counter = counted

    async def one(call: Any) -> Any:
        counter.queries.clear()
        result = await call
        assert len(counter.queries) == 1, counter.queries
        return result

    s = await one(
        store.create_session(app_name="a", user_id="u", state={"k": 1, "app:x": 1, "user:y": 2})
    )
    revision = 0
    for i in range(3):
        delta = {"k": i, "n": i, "user:seen": i, "app:count": i}
        sent = event(i, delta)
        result = await one(
            store.append_event(
                app_name="a",
                user_id="u",
                session_id=s.id,
                event=sent,
                expected_revision=revision,
            )
        )
        revision = result.revision
    # A retry of the last event, and another event under its id: each told in one statement.
    retry = await one(
        store.append_event(
            app_name="a", user_id="u", session_id=s.id, event=sent, expected_revision=revision - 1
        )
    )
    assert not retry.written
    counter.queries.clear()
    with pytest.raises(EventConflictError):
        await store.append_event(
            app_name="a",
            user_id="u",
            session_id=s.id,
            event=sent.model_copy(update={"author": "someone else"}),
            expected_revision=revision,
        )
    assert len(counter.queries) == 1, counter.queries
    await one(store.get_session(app_name="a", user_id="u", session_id=s.id))
    await one(store.get_session(app_name="a", user_id="u", session_id=s.id, num_recent_events=2))
    await one(store.list_sessions(app_name="a"))
    await one(store.list_sessions(app_name="a", user_id="u", page_size=10))
    await one(store.get_user_state(app_name="a", user_id="u"))
    await one(store.delete_session(app_name="a", user_id="u", session_id=s.id))


async def test_invalid_arguments_send_nothing(counted: tuple[SessionStore, Counter]) -> None:
    store, counter = counted
    counter.queries.clear()
    with pytest.raises(ValueError, match="session_id"):
        await store.get_session(app_name="a", user_id="u", session_id="x" * 200)
    assert counter.queries == []


async def explain(conn: asyncpg.Connection, sql: str, *args: Any) -> list[dict[str, Any]]:
    # The admin connection decodes json itself (asyncpg's explain() would decode it twice).
    plan = await conn.fetchval("EXPLAIN (FORMAT JSON) " + sql, *args)
    return plan_nodes(plan[0]["Plan"])


@pytest.mark.single_server("plan choices at this size: a shard holds a 32nd of the rows")
async def test_hot_queries_use_their_indexes(
    store: SessionStore, admin: asyncpg.Connection
) -> None:
    # Enough rows that a sequential scan would be the planner's choice without an index.
    await admin.execute(
        """
        INSERT INTO adk.sessions (app_name, user_id, id, update_time)
        SELECT 'app' || (i % 5), 'user' || (i % 50), 's' || i, now() - i * interval '1 s'
        FROM generate_series(1, 5000) AS i;
        INSERT INTO adk.events (app_name, user_id, session_id, id, "timestamp")
        SELECT 'app' || (i % 5), 'user' || (i % 50), 's' || i, 'e' || j, j
        FROM generate_series(1, 5000) AS i, generate_series(1, 10) AS j;
        ANALYZE adk.sessions; ANALYZE adk.events;
        """
    )
    # (query, arguments, the table that must be read through an index, acceptable indexes)
    checks: list[tuple[str, tuple[Any, ...], str, set[str]]] = [
        (
            QUERIES.get_session.sql,
            ("app1", "user1", "s1", None, None),
            "events",
            {"events_session_time_idx"},
        ),
        (
            QUERIES.get_session.sql,
            ("app1", "user1", "s1", 10, "5.0"),
            "events",
            {"events_session_time_idx"},
        ),
        (
            QUERIES.list_user_sessions.sql,
            ("app1", "user1", None, "", 100),
            "sessions",
            {"sessions_pkey"},
        ),
        (
            QUERIES.list_sessions.sql,
            ("app1", None, "", "", 100),
            "sessions",
            {"sessions_app_update_idx"},
        ),
    ]
    doc = '{"id": "new", "timestamp": 1.0, "actions": {"state_delta": {"k": 1, "user:u": 2}}}'
    checks.append(
        (
            QUERIES.append_event.sql,
            ("app1", "user1", "s1", 0, doc, '{"k": 1}', None, '{"u": 2}', "new", "1.0"),
            "sessions",
            {"sessions_pkey"},
        )
    )
    for sql, args, relation, indexes in checks:
        nodes = await explain(admin, sql, *args)
        # Index names are unique in the schema, and each belongs to `relation`.
        used = {n.get("Index Name") for n in nodes}
        assert used & indexes, (relation, indexes, nodes)
        assert not [n for n in nodes if n["Node Type"] == "Seq Scan"], nodes


async def test_append_reads_one_event_key_whatever_the_statistics(server_dsn: str) -> None:
    # A long session in a table the planner knows nothing about (never analyzed): the append's
    # duplicate check must still read one key of an events index, not the session's events.
    async with throwaway_database(server_dsn) as dsn:
        await migrate(dsn)
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(
                """
                ALTER TABLE adk.events SET (autovacuum_enabled = false);
                ALTER TABLE adk.sessions SET (autovacuum_enabled = false);
                INSERT INTO adk.sessions (app_name, user_id, id) VALUES ('a', 'u', 's');
                INSERT INTO adk.events (app_name, user_id, session_id, id, "timestamp")
                SELECT 'a', 'u', 's', 'e' || i, i FROM generate_series(1, 20000) AS i;
                """
            )
            assert (
                await conn.fetchval(
                    "SELECT reltuples FROM pg_class WHERE oid = 'adk.events'::regclass"
                )
                == -1
            )  # no statistics at all
            event = '{"actions": {}}'
            # A retry of a stored event, and a new event.
            for expected, event_id in [(None, "e7"), (0, "new")]:
                transaction = conn.transaction()
                await transaction.start()
                try:
                    plan = await conn.fetchval(
                        "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + QUERIES.append_event.sql,
                        "a", "u", "s", expected, event, "{}", None, None,
                        event_id, "7.0",
                    )  # fmt: skip
                finally:
                    await transaction.rollback()
                scans = [
                    n
                    for n in plan_nodes(json.loads(plan)[0]["Plan"])
                    if n.get("Relation Name") == "events" and "Index Name" in n
                ]
                assert scans, plan
                for scan in scans:
                    blocks = scan["Shared Hit Blocks"] + scan["Shared Read Blocks"]
                    assert blocks <= 8, scan  # a few index pages and one heap page
        finally:
            await conn.close()


async def test_lookups_by_key_never_take_the_listing_index(server_dsn: str) -> None:
    # The foreign key check of every event insert looks its session up by key, with a plan
    # its connection made once, here while the table held one session. With an app's sessions
    # in an index that starts with app_name too, that plan can take it and read the whole app
    # per event (an import of 20,000 sessions went from 1 to 5 ms a session);
    # sessions_app_update_idx spells app_name with another collation, so only the listing
    # uses it. Counted by PostgreSQL's own statistics, not timed.
    async with throwaway_database(server_dsn) as dsn:
        await migrate(dsn)
        admin = await asyncpg.connect(dsn)
        await init_connection(admin)  # jsonb and json as Python values, as explain() expects
        store = await SessionStore.connect(dsn, min_size=1, max_size=1)
        try:
            await admin.execute("ALTER TABLE adk.sessions SET (autovacuum_enabled = false)")
            await store.create_session(app_name="a", user_id="u", session_id="first")
            await store.append_event(
                app_name="a", user_id="u", session_id="first", event=event(0, {}),
                expected_revision=0,
            )  # fmt: skip
            await admin.execute(
                "INSERT INTO adk.sessions (app_name, user_id, id)"
                " SELECT 'a', 'u', 's' || i FROM generate_series(1, 5000) AS i"
            )
            for i in range(1, 201):
                await store.append_event(
                    app_name="a", user_id="u", session_id=f"s{i}", event=event(i, {}),
                    expected_revision=0,
                )  # fmt: skip
        finally:
            await store.close()  # its statistics reach the shared counters as it exits
        try:
            scans: dict[str, int] = {}
            for _ in range(50):  # the exiting backend's counters arrive within moments
                await admin.execute("SELECT pg_stat_clear_snapshot()")
                rows = await admin.fetch(
                    "SELECT indexrelname, idx_scan FROM pg_stat_user_indexes"
                    " WHERE relname = 'sessions'"
                )
                scans = {r["indexrelname"]: r["idx_scan"] for r in rows}
                if scans["sessions_pkey"] >= 200:
                    break
                await asyncio.sleep(0.1)
            assert scans["sessions_pkey"] >= 200, scans
            assert scans["sessions_app_update_idx"] == 0, scans
            page = await explain(admin, QUERIES.list_sessions.sql, "a", None, "", "", 100)
            assert "sessions_app_update_idx" in {n.get("Index Name") for n in page}, page
        finally:
            await admin.close()


async def test_export_and_prune_walk_the_key_whatever_the_statistics(server_dsn: str) -> None:
    # Without statistics the planner takes tables for tiny and would read and sort every
    # session for each export page or prune batch: quadratic. The operators' statements run
    # after plan_key_walks, and then read sessions_pkey in order, in any plan mode.
    async with throwaway_database(server_dsn) as dsn:
        await migrate(dsn)
        conn = await asyncpg.connect(dsn)
        await init_connection(conn)
        try:
            await conn.execute(
                "INSERT INTO adk.sessions (app_name, user_id, id)"
                " SELECT 'a', 'u' || (i % 10), 's' || i FROM generate_series(1, 5000) AS i"
            )
            walks = [
                (OPS_QUERIES.export_sessions.sql, (None, None, "", "", "", 100)),
                (OPS_QUERIES.export_sessions.sql, ("a", None, "", "", "", 100)),
                (OPS_QUERIES.prune_sessions.sql, ("a", datetime.now(timezone.utc), 500, "", "")),
            ]
            for mode in ("force_generic_plan", "force_custom_plan"):
                for sql, args in walks:
                    transaction = conn.transaction()
                    await transaction.start()
                    try:
                        await conn.execute(f"SET LOCAL plan_cache_mode = {mode}")
                        await conn.execute(OPS_QUERIES.plan_key_walks.sql)
                        plan = await conn.fetchval("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, *args)
                    finally:
                        await transaction.rollback()
                    nodes = plan_nodes(plan[0]["Plan"])
                    on_sessions = [
                        n
                        for n in nodes
                        if n.get("Relation Name") == "sessions" and n["Node Type"] != "ModifyTable"
                    ]
                    kinds = {n["Node Type"] for n in on_sessions}
                    assert kinds <= {"Index Scan", "Index Only Scan"}, (mode, sql, nodes)
                    assert "sessions_pkey" in {n.get("Index Name") for n in on_sessions}
                    # Each scan of sessions reads at most one page or batch, not the table.
                    read = max(n["Actual Rows"] for n in on_sessions)
                    assert read <= 500, (mode, sql, read)
        finally:
            await conn.close()
