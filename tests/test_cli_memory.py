"""Memories from the command line: ``adk-pg memory``, and memories in export, import and prune."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from _cli import adk_pg, run_main
from google.genai import types

from adk_pg.db.connection_hooks import init_connection
from adk_pg.memory.models import NewMemory
from adk_pg.memory.store import MemoryStore
from adk_pg.schema.admin import throwaway_database
from adk_pg.schema.runner import migrate

# Every column, the vector as text (an import builds it again), the float8 time as its bytes.
MEMORIES = (
    "SELECT app_name, user_id, id, session_id, event_id, author, float8send(event_time) AS t,"
    " time_text, content, custom_metadata, search_config::text AS config, search_text,"
    " search::text AS search, create_time, update_time, deleted_time"
    " FROM adk.memories ORDER BY app_name, user_id, id"
)


async def dump(dsn: str) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(dsn)
    try:
        await init_connection(conn)
        return [dict(r) for r in await conn.fetch(MEMORIES)]
    finally:
        await conn.close()


def said(memory_id: str, text: str, at: float, **fields: Any) -> NewMemory:
    content = types.Content(role="user", parts=[types.Part(text=text)])
    return NewMemory(id=memory_id, content=content, author="user", event_time=at, **fields)


async def fill_memories(pool: asyncpg.Pool) -> MemoryStore:
    """weather/alice: three memories, one deleted; weather/bob: one (japanese); chess/alice: one."""
    store = MemoryStore(pool)
    await store.add(
        app_name="weather",
        user_id="alice",
        memories=[
            said("e1", "I live in Lyon, near the river", 1700000000.1234567, session_id="s1"),
            said("e2", "My favourite weather is \x1b[31mrain\x1b[0m", 1700000001.5),
            said("gone", "forget me", 1700000002.0, session_id="s1", event_id="gone"),
        ],
    )
    await store.delete(app_name="weather", user_id="alice", memory_id="gone")
    await store.add(
        app_name="weather", user_id="bob", memories=[said("b1", "私はPythonを使う", 1.0)]
    )
    explicit = NewMemory(
        id="c1",
        content=types.Content(parts=[types.Part(text="plays the Sicilian defence")]),
        time_text="last year",
        custom_metadata={"source": "notes"},
    )
    await store.add(app_name="chess", user_id="alice", memories=[explicit])
    return store


@pytest.fixture
async def target(server_dsn: str) -> AsyncIterator[str]:
    async with throwaway_database(server_dsn) as dsn:
        await migrate(dsn)
        yield dsn


async def test_search_list_and_delete(pool: asyncpg.Pool, db: str) -> None:
    await fill_memories(pool)
    found = await adk_pg("memory", "search", "--dsn", db, "--app", "weather", "--user", "alice",
                         "lives rivers")  # fmt: skip
    assert found.code == 0, found
    assert "Lyon" in found.out
    assert "e1" in found.out
    escaped = await run_main("memory", "search", "--dsn", db, "--app", "weather", "--user",
                             "alice", "favourite")  # fmt: skip
    assert "\x1b" not in escaped.out  # stored text cannot colour the terminal
    assert "\\x1b[31mrain" in escaped.out
    as_json = await run_main("memory", "search", "--dsn", db, "--app", "weather", "--user",
                             "bob", "python", "--json")  # fmt: skip
    (hit,) = json.loads(as_json.out)
    assert (hit["id"], hit["text"], hit["author"]) == ("b1", "私はPythonを使う", "user")
    none = await run_main("memory", "search", "--dsn", db, "--app", "weather", "--user",
                          "alice", "volcano")  # fmt: skip
    assert (none.code, none.out) == (1, "no memories\n")

    status = json.loads((await run_main("status", "--dsn", db, "--json")).out)
    assert status["memories"] == 4  # the deleted one is not counted
    listed = await run_main("memory", "list", "--dsn", db, "--app", "weather", "--user",
                            "alice", "--json")  # fmt: skip
    assert [m["id"] for m in json.loads(listed.out)] == ["e2", "e1"]  # newest first, no deleted

    deleted = await run_main("memory", "delete", "--dsn", db, "--app", "weather", "--user",
                             "alice", "e1")  # fmt: skip
    assert (deleted.code, deleted.out) == (0, "deleted memory e1\n")
    again = await run_main("memory", "delete", "--dsn", db, "--app", "weather", "--user",
                           "alice", "e1")  # fmt: skip
    assert (again.code, again.out) == (1, "no memory e1\n")
    forget = await run_main("memory", "forget", "--dsn", db, "--app", "weather", "--user",
                            "alice", "--yes")  # fmt: skip
    assert (forget.code, forget.out) == (0, "deleted 3 memories of user alice in app weather\n")
    rows = await dump(db)
    assert [(r["app_name"], r["user_id"], r["id"]) for r in rows] == [
        ("chess", "alice", "c1"),
        ("weather", "bob", "b1"),
    ]
    bad = await run_main("memory", "search", "--dsn", db, "--app", "", "--user", "u", "x")
    assert bad.code == 2
    assert "app_name" in bad.err or "--app" in bad.err


async def test_export_and_import_carry_memories_exactly(
    pool: asyncpg.Pool, db: str, target: str, tmp_path: Path
) -> None:
    await fill_memories(pool)
    path = tmp_path / "all.jsonl"
    exported = await adk_pg("export", "--dsn", db, "-o", str(path))
    assert exported.code == 0, exported
    assert exported.out.endswith(", 5 memories, 0 artifact versions\n")
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    memories = [line for line in lines if line.get("type") == "memory"]
    assert [m["id"] for m in memories] == ["c1", "e1", "e2", "gone", "b1"]
    gone = memories[3]
    assert (gone["content"], gone["search_text"]) == (None, None)
    assert gone["deleted_time"] is not None
    assert lines[-1]["memories"] == 5

    first = await run_main("import", str(path), "--dsn", target, "--json")
    assert first.code == 0, first
    assert json.loads(first.out)["memories_imported"] == 5
    assert await dump(target) == await dump(db)  # the vectors built again are the same
    again = await run_main("import", str(path), "--dsn", target, "--json")
    assert (
        json.loads(again.out)["memories_imported"],
        json.loads(again.out)["memories_skipped"],
    ) == (0, 5)
    # A plain asyncpg pool, without adk-pg's codecs: the store reads JSON as text.
    target_pool = await asyncpg.create_pool(target, min_size=1, max_size=1)
    try:
        found = await MemoryStore(target_pool).search(
            app_name="weather", user_id="bob", query="python"
        )
        assert [m.id for m in found] == ["b1"]
        # The deletion moved too: adding the memory again does not bring it back.
        assert (
            await MemoryStore(target_pool).add(
                app_name="weather", user_id="alice", memories=[said("gone", "forget me", 2.0)]
            )
            == 0
        )
    finally:
        await target_pool.close()


async def test_a_version_1_file_imports_and_bad_memory_lines_are_refused(
    pool: asyncpg.Pool, db: str, target: str, tmp_path: Path
) -> None:
    await fill_memories(pool)
    lines = [json.loads(line) for line in (await run_main("export", "--dsn", db)).out.splitlines()]
    header, end = lines[0], lines[-1]
    old_end = {k: v for k, v in end.items() if k != "memories"}
    old = [{**header, "version": 1}, {**old_end, "memories": 0}]
    old_path = tmp_path / "v1.jsonl"
    old_path.write_text("".join(json.dumps(d) + "\n" for d in [old[0], old_end]))
    result = await run_main("import", str(old_path), "--dsn", target)
    assert result.code == 0, result
    # A memory line in a version 1 file is not one of its lines.
    memory = next(line for line in lines if line.get("type") == "memory")
    (tmp_path / "v1mem.jsonl").write_text(
        "".join(json.dumps(d) + "\n" for d in [old[0], memory, old_end])
    )
    refused = await run_main("import", str(tmp_path / "v1mem.jsonl"), "--dsn", target)
    assert refused.code == 2
    assert "line 2: unknown line type 'memory'" in refused.err
    bad_lines = {
        "no id": ({**memory, "id": ""}, "id must not be empty"),
        "bad content": ({**memory, "content": {"parts": "x"}}, "content must be"),
        "deleted with text": ({**memory, "deleted_time": memory["update_time"]}, "deleted"),
        "bad config": ({**memory, "search_config": "english; x"}, "search_config"),
        "unknown config": ({**memory, "search_config": "klingon"}, "klingon"),
        "time": ({**memory, "event_time": "noon"}, "event_time"),
        "far time": ({**memory, "event_time": 1e300}, "years 1-9999"),
    }
    for name, (doc, message) in bad_lines.items():
        path = tmp_path / "bad.jsonl"
        path.write_text(
            "".join(json.dumps(d) + "\n" for d in [header, doc, {**end, "memories": 1}])
        )
        result = await run_main("import", str(path), "--dsn", target)
        assert result.code in (2, 3), (name, result)
        assert "line 2" in result.err, (name, result.err)
        assert message in result.err, (name, result.err)
    assert await dump(target) == []


async def test_prune_memories_keeps_recent_ones_and_live_sessions_deletions(
    pool: asyncpg.Pool, db: str, admin: asyncpg.Connection
) -> None:
    await fill_memories(pool)
    # weather/alice/s1 exists: its deleted memory "gone" must stay deleted, so it is kept.
    await admin.execute(
        "INSERT INTO adk.sessions (app_name, user_id, id, state)"
        " VALUES ('weather', 'alice', 's1', '{}')"
    )
    await admin.execute(
        "UPDATE adk.memories SET update_time = now() - interval '400 days' WHERE id <> 'c1'"
    )
    dry = await run_main("prune", "--memories", "--older-than", "365d", "--dsn", db, "--dry-run")
    assert (dry.code, dry.out.split(" not written")[0]) == (1, "would delete 3 memories")
    done = await run_main("prune", "--memories", "--older-than", "365d", "--dsn", db,
                          "--batch-size", "1", "--json")  # fmt: skip
    assert done.code == 0, done
    assert json.loads(done.out)["memories"] == 3
    assert [r["id"] for r in await dump(db)] == ["c1", "gone"]
    # Sessions' prune leaves memories alone.
    await admin.execute("UPDATE adk.sessions SET write_time = now() - interval '2 days'")
    sessions = await run_main("prune", "--older-than", "1d", "--dsn", db, "--yes")
    assert (sessions.code, sessions.out.split(" not written")[0]) == (
        0,
        "deleted 1 sessions (0 events)",
    )
    assert [r["id"] for r in await dump(db)] == ["c1", "gone"]
    # Once the session is gone, so is the need to keep its deletion.
    last = await run_main("prune", "--memories", "--older-than", "365d", "--dsn", db, "--yes")
    assert last.code == 0, last
    assert [r["id"] for r in await dump(db)] == ["c1"]
