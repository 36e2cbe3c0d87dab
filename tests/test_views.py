"""The psql views: ``adk.session_overview``, ``adk.event_log`` (0002), ``adk.memory_log``
(0009), ``adk.artifact_overview`` (0011)."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import asyncpg
from _cli import TRICKY_TIMES, fill
from _dbutil import REPO_ROOT
from google.genai import types

from adk_pg.memory.models import NewMemory
from adk_pg.memory.store import MemoryStore
from adk_pg.sessions.store import SessionStore


async def test_session_overview_merges_state_and_counts_events(
    store: SessionStore, admin: asyncpg.Connection
) -> None:
    await fill(store)
    rows = await admin.fetch(
        "SELECT app_name, user_id, session_id, event_count, last_update, created, revision,"
        " state FROM adk.session_overview ORDER BY app_name, user_id, session_id"
    )
    assert [(r["app_name"], r["user_id"], r["session_id"], r["event_count"]) for r in rows] == [
        ("chess", "alice", "c1", 0),
        ("weather", "alice", "s1", 4),
        ("weather", "bob", "s2", 1),
    ]
    s1 = await store.get_session(app_name="weather", user_id="alice", session_id="s1")
    assert s1 is not None
    assert rows[1]["state"] == s1.state  # what an agent sees: prefixed app: and user: keys
    assert rows[1]["state"] == {
        "city": "Lyon",
        "app:units": None,
        "user:lang": "fr",
        "user:seen": True,
    }
    assert rows[0]["state"] == {"user:elo": 1500}  # app chess has no app state
    assert rows[1]["revision"] == 4
    assert rows[1]["last_update"] == datetime.fromtimestamp(s1.last_update_time, timezone.utc)
    assert rows[1]["created"] <= rows[0]["created"]


async def test_event_log_shows_text_calls_responses_and_deltas(
    store: SessionStore, admin: asyncpg.Connection
) -> None:
    await fill(store)
    rows = await admin.fetch(
        "SELECT event_time, author, invocation_id, branch, summary, text, function_calls,"
        " function_responses, state_delta, epoch FROM adk.event_log"
        " WHERE app_name = 'weather' AND user_id = 'alice' AND session_id = 's1'"
        " ORDER BY epoch, event_id"
    )
    assert [(r["author"], r["summary"]) for r in rows] == [
        ("user", "Weather\n in  Paris?"),
        ("forecaster", "call get_weather"),
        ("forecaster", "response get_weather"),
        ("forecaster", "It is 21°C ☀"),
    ]
    assert [r["epoch"] for r in rows[:3]] == list(TRICKY_TIMES)
    assert rows[0]["event_time"] == datetime.fromtimestamp(TRICKY_TIMES[0], timezone.utc)
    assert rows[1]["function_calls"] == "get_weather"
    assert rows[1]["text"] is None
    assert rows[2]["function_responses"] == "get_weather"
    assert rows[2]["branch"] == "root.forecaster"
    assert [r["state_delta"] for r in rows] == [
        None,
        None,
        None,
        {
            "city": "Lyon",
            "app:units": None,
            "user:seen": True,
        },
    ]
    empty = await admin.fetchrow("SELECT summary, text FROM adk.event_log WHERE session_id = 's2'")
    assert empty is not None
    assert (empty["summary"], empty["text"]) == (None, None)


async def test_memory_log_reads_like_a_diary(pool: asyncpg.Pool, admin: asyncpg.Connection) -> None:
    store = MemoryStore(pool)
    content = types.Content(
        role="model",
        parts=[types.Part(text="first line"), types.Part(text="second line")],
    )
    await store.add(
        app_name="a",
        user_id="u",
        memories=[
            NewMemory(id="m1", content=content, author="bot", event_time=0.5, session_id="s"),
            NewMemory(id="m2", content=content),
        ],
    )
    await store.delete(app_name="a", user_id="u", memory_id="m2")
    rows = await admin.fetch(
        "SELECT memory_id, session_id, author, event_time, text, deleted"
        " FROM adk.memory_log ORDER BY memory_id"
    )
    assert [dict(r) for r in rows] == [
        {
            "memory_id": "m1",
            "session_id": "s",
            "author": "bot",
            "event_time": datetime(1970, 1, 1, 0, 0, 0, 500000, tzinfo=timezone.utc),
            "text": "first line\nsecond line",
            "deleted": False,
        },
        {
            "memory_id": "m2",
            "session_id": None,
            "author": None,
            "event_time": None,
            "text": None,
            "deleted": True,
        },
    ]


async def test_the_views_and_their_columns_are_documented(admin: asyncpg.Connection) -> None:
    rows = await admin.fetch(
        "SELECT c.relname, a.attname, obj_description(c.oid, 'pg_class') AS view_comment,"
        " col_description(c.oid, a.attnum) AS column_comment"
        " FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace"
        " JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attnum > 0"
        " WHERE n.nspname = 'adk' AND c.relkind = 'v'"
    )
    assert {r["relname"] for r in rows} == {
        "session_overview",
        "event_log",
        "event_documents",
        "memory_log",
        "artifact_overview",
    }
    undocumented = [(r["relname"], r["attname"]) for r in rows if not r["column_comment"]]
    assert undocumented == []
    assert all(r["view_comment"] for r in rows)


def doc_queries() -> list[str]:
    """Every ```sql block of the README (its psql guide), split into statements."""
    text = (REPO_ROOT / "README.md").read_text()
    blocks = re.findall(r"```sql\n(.*?)```", text, re.DOTALL)
    return [s.strip() for block in blocks for s in block.split(";") if s.strip()]


async def test_the_psql_guide_queries_run(store: SessionStore, admin: asyncpg.Connection) -> None:
    await fill(store)
    queries = doc_queries()
    assert len(queries) >= 12
    # Read-only: the guide must never change anything.
    async with admin.transaction(readonly=True):
        for query in queries:
            await admin.fetch(query.replace("'my_app'", "'weather'"))
