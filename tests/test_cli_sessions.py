"""``adk-pg sessions list`` and ``sessions show``, run as real commands."""

from __future__ import annotations

import json

from _cli import TRICKY_TIMES, adk_pg, fill, run_main
from google.genai import types

from adk_pg import Event
from adk_pg.sessions.store import SessionStore


async def test_list_filters_and_orders_newest_first(store: SessionStore, db: str) -> None:
    await fill(store)
    everything = await adk_pg("sessions", "list", "--dsn", db)
    weather = await run_main("sessions", "list", "--dsn", db, "--app", "weather")
    alice = await run_main("sessions", "list", "--dsn", db, "--user", "alice")
    one = await run_main("sessions", "list", "--dsn", db, "--limit", "1")
    as_json = await run_main(
        "sessions", "list", "--dsn", db, "--json", "--app", "weather", "--user", "alice"
    )
    nothing = await run_main("sessions", "list", "--dsn", db, "--app", "nope")
    bad = await run_main("sessions", "list", "--dsn", db, "--limit", "0")
    assert everything.code == 0, everything
    rows = [line.split() for line in everything.out.splitlines()]
    assert rows[0] == ["APP", "USER", "SESSION", "EVENTS", "UPDATED", "(UTC)"]
    # c1 was created now; s2's last event is newer than s1's.
    assert [r[:4] for r in rows[1:]] == [
        ["chess", "alice", "c1", "0"],
        ["weather", "bob", "s2", "1"],
        ["weather", "alice", "s1", "4"],
    ]
    assert rows[3][4:] == ["2023-11-14", "22:13:23"]  # s1: its last event, UTC
    assert [line.split()[2] for line in weather.out.splitlines()[1:]] == ["s2", "s1"]
    assert [line.split()[2] for line in alice.out.splitlines()[1:]] == ["c1", "s1"]
    assert len(one.out.splitlines()) == 2
    assert json.loads(as_json.out) == [
        {
            "app_name": "weather",
            "user_id": "alice",
            "id": "s1",
            "events": 4,
            "revision": 4,
            "create_time": json.loads(as_json.out)[0]["create_time"],
            "update_time": "2023-11-14T22:13:23.623457Z",
        }
    ]
    assert (nothing.code, nothing.out) == (1, "no sessions\n")
    assert bad.code == 2
    assert "expected an integer from 1 to 10000" in bad.err


async def test_show_prints_state_then_a_timeline(store: SessionStore, db: str) -> None:
    await fill(store)
    shown = await adk_pg("sessions", "show", "weather", "alice", "s1", "--dsn", db)
    newest = await run_main(
        "sessions", "show", "weather", "alice", "s1", "--dsn", db, "--events", "1"
    )
    as_json = await run_main("sessions", "show", "weather", "alice", "s1", "--dsn", db, "--json")
    missing = await run_main("sessions", "show", "weather", "alice", "nope", "--dsn", db)
    bad = await run_main(
        "sessions", "show", "weather", "alice", "s1", "--dsn", db, "--events", "-1"
    )
    assert shown.code == 0, shown
    lines = shown.out.splitlines()
    assert lines[:4] == [
        "session   weather / alice / s1",
        "updated   2023-11-14 22:13:23.623 UTC",
        "revision  4",
        "state",
    ]
    assert lines[4:8] == [
        '  city      = "Lyon"',
        "  app:units = null",
        '  user:lang = "fr"',
        "  user:seen = true",
    ]
    assert lines[8] == "events (4)"
    timeline = [" ".join(line.split()) for line in lines[9:]]
    assert timeline == [
        "2023-11-14 22:13:20.123 user Weather in Paris?",
        '2023-11-14 22:13:21.000 forecaster call get_weather({"city": "Paris"})',
        '2023-11-14 22:13:23.000 forecaster response get_weather -> {"temp_c": 21}',
        "2023-11-14 22:13:23.623 forecaster It is 21°C ☀",
        "[image/png, 2 bytes]",
        'state {"city": "Lyon", "app:units": null, "user:seen": true}',
    ]
    assert newest.code == 0
    assert "events (newest 1)" in newest.out
    assert "Weather in Paris" not in newest.out
    doc = json.loads(as_json.out)
    assert doc["state"]["user:lang"] == "fr"
    assert [e["timestamp"] for e in doc["events"][:3]] == list(TRICKY_TIMES)
    assert doc["events"][1]["content"]["parts"][0]["function_call"]["name"] == "get_weather"
    assert (missing.code, missing.out) == (1, "no session weather / alice / nope\n")
    assert bad.code == 2
    assert "num_recent_events" in bad.err


async def test_stored_text_cannot_drive_the_terminal(store: SessionStore, db: str) -> None:
    # Ids, authors and text an attacker chose: escape sequences, a bell, a bidi override.
    evil = "s\x1b[2J\x07\u202e"
    await store.create_session(
        app_name="app", user_id="u\x1b]0;title\x07", session_id=evil, state={"k\x1b": "\x9bv"}
    )
    await store.append_event(
        app_name="app",
        user_id="u\x1b]0;title\x07",
        session_id=evil,
        event=Event(
            author="agent\x1b[31m",
            content=types.Content(role="model", parts=[types.Part(text="hi\x1b[1A\rthere")]),
        ),
        expected_revision=0,
    )
    listed = await run_main("sessions", "list", "--dsn", db)
    shown = await run_main("sessions", "show", "app", "u\x1b]0;title\x07", evil, "--dsn", db)
    as_json = await run_main("sessions", "list", "--dsn", db, "--json")
    for result in (listed, shown, as_json):
        assert result.code == 0, result
        assert not any(c in result.out for c in "\x1b\x07\x9b\u202e\r"), result.out
    assert "s\\x1b[2J\\x07\\u202e" in listed.out
    assert "agent\\x1b[31m" in shown.out
    assert "hi\\x1b[1A" in shown.out
    assert json.loads(as_json.out)[0]["id"] == evil  # JSON escapes, the value is intact
