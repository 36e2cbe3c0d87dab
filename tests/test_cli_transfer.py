"""``adk-pg export`` and ``adk-pg import``: a lossless, idempotent round trip, by real commands."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from _cli import TRICKY_TIMES, adk_pg, fill, run_main

from adk_pg.adk import PostgresSessionService
from adk_pg.cli._output import TerminalProgress
from adk_pg.db.connection_hooks import init_connection
from adk_pg.schema.admin import throwaway_database
from adk_pg.schema.runner import migrate
from adk_pg.sessions.store import SessionStore

# Every column of every table; the float8 event time as its bytes, to compare bit for bit.
DUMPS = {
    "sessions": "SELECT app_name, user_id, id, state, initial_state, revision, create_time,"
    " update_time"
    " FROM adk.sessions ORDER BY app_name, user_id, id",
    "events": "SELECT app_name, user_id, session_id, id, invocation_id, author, branch,"
    " float8send(timestamp) AS timestamp, content, actions, extra"
    " FROM adk.events ORDER BY app_name, user_id, session_id, id",
    "app_states": "SELECT app_name, state, update_time FROM adk.app_states ORDER BY app_name",
    "user_states": "SELECT app_name, user_id, state, update_time FROM adk.user_states"
    " ORDER BY app_name, user_id",
}


async def dump(dsn: str) -> dict[str, list[dict[str, Any]]]:
    """Every row of the four tables, as dicts."""
    conn = await asyncpg.connect(dsn)
    try:
        await init_connection(conn)
        return {name: [dict(r) for r in await conn.fetch(sql)] for name, sql in DUMPS.items()}
    finally:
        await conn.close()


@pytest.fixture
async def target(server_dsn: str) -> AsyncIterator[str]:
    """An empty, migrated database to import into."""
    async with throwaway_database(server_dsn) as dsn:
        await migrate(dsn)
        yield dsn


async def test_round_trip_is_exact_and_importing_twice_changes_nothing(
    store: SessionStore, db: str, target: str, tmp_path: Path
) -> None:
    await fill(store)
    path = tmp_path / "all.jsonl"
    to_file = await adk_pg("export", "--dsn", db, "-o", str(path))
    to_stdout = await run_main("export", "--dsn", db, "--json")
    assert to_file.code == 0, to_file
    assert (
        to_file.out == "exported 3 sessions (5 events), 1 app states, 2 user states, "
        "0 memories, 0 artifact versions\n"
    )
    assert json.loads(to_stdout.err) == {
        "sessions": 3,
        "events": 5,
        "app_states": 1,
        "user_states": 2,
        "memories": 0,
        "artifact_versions": 0,
    }
    text = path.read_text()
    # The same data either way; only the header's export time differs.
    assert text.splitlines()[1:] == to_stdout.out.splitlines()[1:]
    lines = [json.loads(line) for line in text.splitlines()]
    assert lines[0]["format"] == "adk-pg-export"
    assert (lines[0]["version"], lines[0]["sessions"], lines[0]["events"]) == (2, 3, 5)
    assert [line.get("type") for line in lines[1:]] == ["session"] * 3 + ["app_state"] + [
        "user_state"
    ] * 2 + ["end"]
    s1 = next(line for line in lines if line.get("id") == "s1")
    assert s1["state"] == {"city": "Lyon"}
    assert [e["timestamp"] for e in s1["events"][:3]] == list(TRICKY_TIMES)
    assert "1700000000.1234567" in text  # the shortest exact decimal, not a rounded one
    assert "branch" not in s1["events"][0]  # null fields are left out, as ADK does

    first = await adk_pg("import", str(path), "--dsn", target)
    assert first.code == 0, first
    assert first.out == (
        "imported 3 sessions (5 events), 1 app states, 2 user states, 0 memories, "
        "0 artifact versions\n"
    )
    assert await dump(target) == await dump(db)

    again = await adk_pg("import", "-", "--dsn", target, "--json", stdin=path.read_bytes())
    assert again.code == 0, again
    assert json.loads(again.out) == {
        "sessions_imported": 0,
        "sessions_skipped": 3,
        "events_imported": 0,
        "app_states_imported": 0,
        "app_states_skipped": 1,
        "user_states_imported": 0,
        "user_states_skipped": 2,
        "memories_imported": 0,
        "memories_skipped": 0,
        "artifact_versions_imported": 0,
        "artifact_versions_skipped": 0,
        "artifact_versions_conflicting": 0,
        "session_ids_changed": 0,
        "session_id_changes": [],
    }
    assert await dump(target) == await dump(db)


async def test_export_filters_by_app_and_user(store: SessionStore, db: str) -> None:
    await fill(store)
    weather_alice = await run_main("export", "--dsn", db, "--app", "weather", "--user", "alice")
    alice = await run_main("export", "--dsn", db, "--user", "alice")
    lines = [json.loads(line) for line in weather_alice.out.splitlines()]
    assert lines[0]["filters"] == {"app_name": "weather", "user_id": "alice"}
    assert [(x.get("type"), x.get("app_name"), x.get("user_id")) for x in lines[1:]] == [
        ("session", "weather", "alice"),
        ("app_state", "weather", None),
        ("user_state", "weather", "alice"),
        ("end", None, None),
    ]
    kinds = [(x.get("type"), x.get("app_name")) for x in map(json.loads, alice.out.splitlines())]
    assert kinds[1:] == [
        ("session", "chess"),
        ("session", "weather"),
        ("app_state", "weather"),
        ("user_state", "chess"),
        ("user_state", "weather"),
        ("end", None),
    ]


async def test_malformed_files_are_refused_naming_the_line(
    store: SessionStore, db: str, target: str, tmp_path: Path
) -> None:
    await fill(store)
    good = (await run_main("export", "--dsn", db)).out.splitlines(keepends=True)
    header = json.loads(good[0])
    cases = {
        "not_export": ['{"hello": 1}\n'],
        "future": [json.dumps({**header, "version": 3}) + "\n"],
        "truncated": good[:3],  # two sessions, no end line
        "garbage": [*good[:2], "{not json\n", *good[2:]],
        "nan": [good[0], '{"type": "app_state", "app_name": "a", "state": {"x": NaN}}\n'],
        "bad_session": [good[0], '{"type": "session", "app_name": "a"}\n'],
        "miscount": [*good[:-1], '{"type": "end", "sessions": 9}\n'],
        "empty": [],
        "blank_first": ["\n", *good[1:]],  # a blank line does not make line 2 the header
    }
    for name, content in cases.items():
        (tmp_path / name).write_text("".join(content))
    results = {n: await run_main("import", str(tmp_path / n), "--dsn", target) for n in cases}
    expected = {
        "not_export": "line 1: not an adk-pg export",
        "future": "line 1: export format version 3 is not supported",
        "truncated": "the input ends at line 3 without its end line: it is truncated",
        "garbage": "line 3: not valid JSON",
        "nan": "line 2: not valid JSON",
        "bad_session": "line 2: user_id must be a string",
        "miscount": "the end line counts 9 sessions but the file holds 3",
        "empty": "the input is empty",
        "blank_first": "line 2: not an adk-pg export",
    }
    for name, message in expected.items():
        result = results[name]
        assert result.code == 2, (name, result)
        assert result.err.startswith("adk-pg import: error: "), result
        assert message in result.err, (name, result.err)
        assert len(result.err.splitlines()) == 1
    missing = await run_main("import", str(tmp_path / "nope.jsonl"), "--dsn", target)
    assert missing.code == 2
    assert "No such file" in missing.err
    # Each session went in whole: what the truncated and garbled files held before the bad
    # line is imported, complete with its events.
    rows = await dump(target)
    assert [s["id"] for s in rows["sessions"]] == ["c1", "s1", "s2"]
    assert len(rows["events"]) == 5


async def export_docs(db: str) -> list[dict[str, Any]]:
    """The lines of an export of ``db``, parsed."""
    return [json.loads(line) for line in (await run_main("export", "--dsn", db)).out.splitlines()]


def write_jsonl(path: Path, docs: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(doc, ensure_ascii=False) + "\n" for doc in docs))
    return path


async def test_a_padded_session_id_is_stripped_and_the_session_is_usable(
    store: SessionStore, db: str, target: str, tmp_path: Path
) -> None:
    await fill(store)
    # A file from another tool (or from adk-pg before imports normalised ids).
    docs = [{**d, "id": " s2\t"} if d.get("id") == "s2" else d for d in await export_docs(db)]
    path = write_jsonl(tmp_path / "padded.jsonl", docs)
    first = await adk_pg("import", str(path), "--dsn", target)
    assert first.code == 0, first
    assert first.out == (
        "imported 3 sessions (5 events), 1 app states, 2 user states, 0 memories, "
        "0 artifact versions\n"
        "changed 1 session ids (stripped, or generated for a blank id):\n"
        "  app 'weather' user 'bob': ' s2\\t' -> 's2'\n"
    )
    assert await dump(target) == await dump(db)  # stored exactly as the source's "s2"
    again = await run_main("import", str(path), "--dsn", target, "--json")
    report = json.loads(again.out)
    assert (report["sessions_skipped"], report["session_ids_changed"]) == (3, 1)
    assert report["session_id_changes"] == [
        {"app_name": "weather", "user_id": "bob", "source_id": " s2\t", "id": "s2"}
    ]
    ours = await SessionStore.connect(target)
    try:
        for spelling in ("s2", " s2\t"):  # the store strips what it is given, too
            session = await ours.get_session(app_name="weather", user_id="bob", session_id=spelling)
            assert session is not None
            assert (session.id, len(session.events)) == ("s2", 1)
        await ours.delete_session(app_name="weather", user_id="bob", session_id="s2")
        assert await ours.get_session(app_name="weather", user_id="bob", session_id="s2") is None
    finally:
        await ours.close()
    rows = await dump(target)
    assert [s["id"] for s in rows["sessions"]] == ["c1", "s1"]
    assert all(e["session_id"] == "s1" for e in rows["events"])


async def test_two_ids_that_strip_alike_are_refused_not_merged(
    store: SessionStore, db: str, target: str, tmp_path: Path
) -> None:
    await fill(store)
    docs = await export_docs(db)
    s1 = next(d for d in docs if d.get("id") == "s1")
    twin = {**s1, "id": " s1 ", "state": {"twin": True}, "events": s1["events"][:1]}
    end = docs[-1]
    end = {**end, "sessions": end["sessions"] + 1, "events": end["events"] + 1}
    at = docs.index(s1) + 1
    path = write_jsonl(tmp_path / "twins.jsonl", [*docs[:at], twin, *docs[at:-1], end])
    result = await run_main("import", str(path), "--dsn", target)
    assert result.code == 2, result
    assert f"line {at + 1}: session ids 's1' and ' s1 ' of app 'weather' user 'alice'" in (
        result.err
    )
    assert "refused rather than merged" in result.err
    rows = await dump(target)
    # Lines before the refused one went in; "s1" is the source's own s1, untouched.
    assert [s["id"] for s in rows["sessions"]] == ["c1", "s1"]
    assert rows["sessions"][1]["state"] == {"city": "Lyon"}
    assert len([e for e in rows["events"] if e["session_id"] == "s1"]) == 4


@pytest.mark.parametrize(
    ("change", "refused"),
    [
        ({"content": "just text"}, "content"),  # adk-pg's own Event refuses it
        ({"partial": "sometimes"}, "partial"),
        ({"usage_metadata": {"total_token_count": "many"}}, "usage_metadata"),
        ({"actions": {"state_delta": {}, "not_an_action": 1}}, "not_an_action"),  # ADK's Event
    ],
)
async def test_events_a_reader_would_refuse_are_refused_before_anything_is_written(
    store: SessionStore,
    db: str,
    target: str,
    tmp_path: Path,
    change: dict[str, Any],
    refused: str,
) -> None:
    await fill(store)
    docs = await export_docs(db)
    s2 = next(d for d in docs if d.get("id") == "s2")
    bad = {**s2, "events": [{**s2["events"][0], **change}]}
    at = docs.index(s2)
    path = write_jsonl(tmp_path / "bad.jsonl", [*docs[:at], bad, *docs[at + 1 :]])
    result = await run_main("import", str(path), "--dsn", target)
    assert result.code == 2, result
    event_id = s2["events"][0]["id"]
    assert f"line {at + 1}: event #1 ({event_id!r}) cannot be read back" in result.err
    assert refused in result.err
    assert "just text" not in result.err  # no payloads
    assert "many" not in result.err
    rows = await dump(target)
    assert "s2" not in [s["id"] for s in rows["sessions"]]  # nothing of that line
    # What was imported reads back through the store and through ADK's service.
    ours = await SessionStore.connect(target)
    try:
        for session in rows["sessions"]:
            key = {"app_name": session["app_name"], "user_id": session["user_id"]}
            assert await ours.get_session(**key, session_id=session["id"]) is not None
    finally:
        await ours.close()
    async with PostgresSessionService(target) as service:
        for session in rows["sessions"]:
            key = {"app_name": session["app_name"], "user_id": session["user_id"]}
            assert await service.get_session(**key, session_id=session["id"]) is not None


class FakeTerminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def test_the_progress_bar_draws_only_on_a_terminal() -> None:
    terminal, pipe = FakeTerminal(), io.StringIO()
    for stream in (terminal, pipe):
        progress = TerminalProgress("export", stream)
        progress.start(4, "sessions")
        for _ in range(4):
            progress.advance(1)
        progress.finish()
    assert pipe.getvalue() == ""
    drawn = terminal.getvalue()
    assert drawn.startswith("\rexport [" + "." * 30 + "]   0% 0 sessions")
    assert drawn.endswith("\rexport [" + "#" * 30 + "] 100% 4 sessions\x1b[K\n")
    sized = FakeTerminal()
    progress = TerminalProgress("import", sized)
    progress.start(None, "bytes")
    progress.advance(3 * 1024 * 1024)
    progress.finish()
    assert sized.getvalue().endswith("\rimport 3.0 MB\x1b[K\n")
