"""``adk.get_session_routed`` (migration 0014, the form of get_session Citus routes) returns
exactly what ``get_session.sql`` returns, compared on whatever server the suite runs on: every
event field, every selection of events, a missing session, and ``extra_float_digits`` 0."""

from __future__ import annotations

import asyncpg
from google.genai import types

from adk_pg import Event, EventActions, SessionStore
from adk_pg.sessions.queries import QUERIES


async def _history(store: SessionStore) -> list[float]:
    """Sessions of every shape; the timestamps of the full one's events."""
    await store.create_session(
        app_name="app", user_id="ada", session_id="full", state={"app:a": 1, "user:u": 2, "s": 3}
    )
    await store.create_session(app_name="app", user_id="ada", session_id="empty")
    await store.create_session(app_name="app", user_id="bob", session_id="bare")
    events = [
        Event(author="user", content=types.Content(role="user", parts=[types.Part(text="hé\n")])),
        Event(author="agent", branch="root.sub", invocation_id="inv", timestamp=1e9 + 0.1 + 0.2),
        Event(author="agent", custom_metadata={"k": [1, {"x": None}]}, interrupted=True),
        Event(author="agent", actions=EventActions(state_delta={"s": 4}), turn_complete=True),
        Event(author="user", timestamp=1e9 + 0.1 + 0.2),  # the same timestamp: ties by id
        Event(author="agent", error_code="E", error_message='quote " and \\'),
    ]
    revision = 0
    for event in events:
        done = await store.append_event(
            app_name="app",
            user_id="ada",
            session_id="full",
            event=event,
            expected_revision=revision,
        )
        assert done is not None
        revision = done.revision
    return sorted(e.timestamp for e in events)


async def test_the_routed_get_returns_what_the_statement_returns(
    store: SessionStore, admin: asyncpg.Connection
) -> None:
    stamps = await _history(store)
    keys = [("app", "ada", "full"), ("app", "ada", "empty"), ("app", "bob", "bare")]
    keys += [("app", "ada", "missing"), ("other", "ada", "full")]
    selections: list[tuple[int | None, str | None]] = [(n, None) for n in (None, 0, 1, 3, 100)]
    selections += [(n, repr(at)) for n in (None, 2) for at in (stamps[2], stamps[-1] + 1)]
    compared = 0
    for digits in (1, 0, 3):
        await admin.execute(f"SET extra_float_digits = {digits}")
        try:
            for key in keys:
                for limit, after in selections:
                    args = (*key, limit, after)
                    stated = [dict(r) for r in await admin.fetch(QUERIES.get_session.sql, *args)]
                    routed = await admin.fetch(QUERIES.get_session_citus.sql, *args)
                    assert [dict(r) for r in routed] == stated, (digits, args)
                    compared += len(stated)
        finally:
            await admin.execute("RESET extra_float_digits")
    # The comparison saw rows, events in them, and the missing sessions gave none.
    assert compared == 3 * 3 * len(selections)
    full = await admin.fetchrow(QUERIES.get_session_citus.sql, "app", "ada", "full", None, None)
    assert full is not None
    assert full["events"].count('"author"') == 6
