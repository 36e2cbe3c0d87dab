"""One statement per call, counted with asyncpg's query logger; hot queries use their indexes."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from google.genai import types

from adk_pg import Event, EventActions, SessionStore
from adk_pg.pool import create_pool
from adk_pg.queries import QUERIES


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
        result = await one(
            store.append_event(
                app_name="a",
                user_id="u",
                session_id=s.id,
                event=event(i, delta),
                expected_revision=revision,
            )
        )
        revision = result.revision
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


def plan_nodes(plan: Any) -> list[dict[str, Any]]:
    """Every node of an EXPLAIN (FORMAT JSON) plan, flattened."""
    nodes = [plan]
    for child in plan.get("Plans", []):
        nodes.extend(plan_nodes(child))
    return nodes


async def explain(conn: asyncpg.Connection, sql: str, *args: Any) -> list[dict[str, Any]]:
    # The admin connection decodes json itself (asyncpg's explain() would decode it twice).
    plan = await conn.fetchval("EXPLAIN (FORMAT JSON) " + sql, *args)
    return plan_nodes(plan[0]["Plan"])


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
            ("app1", "user1", "s1", 10, 5.0),
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
            {"sessions_pkey"},
        ),
        (
            QUERIES.check_append.sql,
            ("app1", "user1", "s1", "e1"),
            "events",
            {"events_pkey", "events_session_time_idx"},
        ),
    ]
    doc = '{"id": "new", "timestamp": 1.0, "actions": {"state_delta": {"k": 1, "user:u": 2}}}'
    checks.append(
        (
            QUERIES.append_event.sql,
            ("app1", "user1", "s1", 0, doc, '{"k": 1}', None, '{"u": 2}'),
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
