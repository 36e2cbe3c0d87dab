"""SessionStore against the real server: ADK's session semantics, one statement per call."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from typing import Any

import asyncpg
import pytest
from google.genai import types

from adk_pg import (
    AlreadyExistsError,
    Event,
    EventActions,
    EventConflictError,
    InvalidArgumentError,
    SchemaOutdatedError,
    SessionNotFoundError,
    SessionStore,
    StaleSessionError,
)
from adk_pg.schema.admin import throwaway_database

APP = "app"
USER = "user"


def event(
    text: str = "hi",
    *,
    delta: dict[str, Any] | None = None,
    ts: float | None = None,
    event_id: str | None = None,
    **fields: Any,
) -> Event:
    """A small user event with an optional state delta."""
    return Event(
        id=event_id or "",
        author="user",
        invocation_id="inv",
        timestamp=time.time() if ts is None else ts,
        content=types.Content(role="user", parts=[types.Part(text=text)]),
        actions=EventActions(state_delta=delta or {}),
        **fields,
    )


async def table(admin: asyncpg.Connection, name: str) -> list[dict[str, Any]]:
    """Every row of an adk table, as dicts, in a stable order."""
    rows = await admin.fetch(f"SELECT * FROM adk.{name} ORDER BY 1, 2")
    return [dict(r) for r in rows]


async def snapshot(admin: asyncpg.Connection) -> dict[str, list[dict[str, Any]]]:
    """All four tables, to prove that a failed call wrote nothing."""
    return {t: await table(admin, t) for t in ("sessions", "events", "app_states", "user_states")}


# ---- create / get -------------------------------------------------------------------------


async def test_create_routes_state_by_prefix(
    store: SessionStore, admin: asyncpg.Connection
) -> None:
    created = await store.create_session(
        app_name=APP,
        user_id=USER,
        state={"k": 1, "app:a": "A", "user:u": [1, 2], "temp:t": "gone", "x:y": None},
    )
    assert created.state == {"k": 1, "app:a": "A", "user:u": [1, 2], "x:y": None}
    assert created.events == []
    assert created.revision == 0
    sessions = await table(admin, "sessions")
    assert sessions[0]["state"] == {"k": 1, "x:y": None}
    assert (await table(admin, "app_states"))[0]["state"] == {"a": "A"}
    assert (await table(admin, "user_states"))[0]["state"] == {"u": [1, 2]}
    got = await store.get_session(app_name=APP, user_id=USER, session_id=created.id)
    assert got == created


async def test_create_duplicate_id_raises_and_writes_nothing(
    store: SessionStore, admin: asyncpg.Connection
) -> None:
    await store.create_session(app_name=APP, user_id=USER, session_id="s1", state={"k": 1})
    before = await snapshot(admin)
    with pytest.raises(AlreadyExistsError, match="s1"):
        await store.create_session(
            app_name=APP, user_id=USER, session_id="s1", state={"app:a": 2, "user:b": 3}
        )
    assert await snapshot(admin) == before


async def test_session_ids_are_normalised_like_in_memory(store: SessionStore) -> None:
    padded = await store.create_session(app_name=APP, user_id=USER, session_id="  pad  ")
    assert padded.id == "pad"
    got = await store.get_session(app_name=APP, user_id=USER, session_id=" pad ")
    assert got is not None
    assert got.id == "pad"
    blank = await store.create_session(app_name=APP, user_id=USER, session_id="   ")
    generated = await store.create_session(app_name=APP, user_id=USER)
    assert len(blank.id) == 36
    assert len(generated.id) == 36
    assert blank.id != generated.id


async def test_get_missing_session_is_none(store: SessionStore) -> None:
    assert await store.get_session(app_name=APP, user_id=USER, session_id="nope") is None


async def test_other_user_or_app_cannot_see_a_session(store: SessionStore) -> None:
    s = await store.create_session(app_name=APP, user_id=USER)
    assert await store.get_session(app_name=APP, user_id="other", session_id=s.id) is None
    assert await store.get_session(app_name="other", user_id=USER, session_id=s.id) is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"app_name": ""}, "app_name must not be empty"),
        ({"app_name": "   "}, "app_name must not be empty"),
        ({"user_id": None}, "user_id must be a string"),
        ({"user_id": 7}, "user_id must be a string"),
        ({"user_id": "u" * 129}, "129 characters"),
        ({"session_id": "s" * 129}, "129 characters"),
        ({"session_id": 5}, "session_id must be a string"),
        ({"user_id": "a\x00b"}, "NUL"),
        ({"state": ["not", "a", "dict"]}, "state must be a dict"),
        ({"state": {1: "int key"}}, "keys must be strings"),
        ({"state": {"k": "nul \x00 inside"}}, "NUL"),
        ({"state": {"k": "lone \udcc3 surrogate"}}, "surrogate"),
    ],
)
async def test_create_rejects_bad_arguments(
    store: SessionStore, admin: asyncpg.Connection, kwargs: dict[str, Any], message: str
) -> None:
    args: dict[str, Any] = {"app_name": APP, "user_id": USER, **kwargs}
    with pytest.raises(InvalidArgumentError, match=message):
        await store.create_session(**args)
    assert (await snapshot(admin))["sessions"] == []


async def test_non_json_state_values_become_their_string_form(
    store: SessionStore, caplog: pytest.LogCaptureFixture
) -> None:
    class Opaque:
        def __str__(self) -> str:
            return "opaque-thing"

    with caplog.at_level(logging.WARNING, logger="adk_pg"):
        s = await store.create_session(app_name=APP, user_id=USER, state={"o": Opaque()})
    assert "not JSON" in caplog.text
    got = await store.get_session(app_name=APP, user_id=USER, session_id=s.id)
    assert got is not None
    assert isinstance(got.state["o"], str)
    assert got.state == s.state


# ---- append ---------------------------------------------------------------------------------


async def test_append_merges_state_shallowly_and_keeps_none(
    store: SessionStore, admin: asyncpg.Connection
) -> None:
    s = await store.create_session(
        app_name=APP, user_id=USER, state={"d": {"x": 1, "y": 2}, "keep": 1, "user:n": 1}
    )
    e = event(delta={"d": {"z": 3}, "gone": None, "app:a": 1, "user:n": None, "temp:t": 9})
    result = await store.append_event(
        app_name=APP, user_id=USER, session_id=s.id, event=e, expected_revision=s.revision
    )
    assert result is not None
    assert result.revision == 1
    assert result.last_update_time == pytest.approx(e.timestamp, abs=1e-6)
    got = await store.get_session(app_name=APP, user_id=USER, session_id=s.id)
    assert got is not None
    assert got.state == {"d": {"z": 3}, "keep": 1, "gone": None, "app:a": 1, "user:n": None}
    assert got.revision == 1
    assert got.last_update_time == result.last_update_time
    stored = (await table(admin, "events"))[0]
    assert stored["actions"]["state_delta"] == {
        "d": {"z": 3},
        "gone": None,
        "app:a": 1,
        "user:n": None,
    }
    assert await store.get_user_state(app_name=APP, user_id=USER) == {"n": None}
    assert await store.get_app_state(app_name=APP) == {"a": 1}
    # The caller's event is not changed: temp keys are trimmed from a copy.
    assert "temp:t" in e.actions.state_delta


async def test_partial_events_are_not_stored(
    store: SessionStore, admin: asyncpg.Connection
) -> None:
    s = await store.create_session(app_name=APP, user_id=USER)
    result = await store.append_event(
        app_name=APP,
        user_id=USER,
        session_id=s.id,
        event=event(partial=True, delta={"k": 1}),
        expected_revision=0,
    )
    assert result is None
    assert await table(admin, "events") == []


async def test_stale_append_raises_and_writes_nothing(
    store: SessionStore, admin: asyncpg.Connection
) -> None:
    s = await store.create_session(app_name=APP, user_id=USER)
    await store.append_event(
        app_name=APP, user_id=USER, session_id=s.id, event=event(), expected_revision=0
    )
    before = await snapshot(admin)
    with pytest.raises(StaleSessionError, match="modified in storage"):
        await store.append_event(
            app_name=APP,
            user_id=USER,
            session_id=s.id,
            event=event(delta={"k": 1, "app:a": 1, "user:u": 1}),
            expected_revision=0,
        )
    assert await snapshot(admin) == before


async def test_duplicate_append_is_a_successful_no_op(
    store: SessionStore, admin: asyncpg.Connection
) -> None:
    s = await store.create_session(app_name=APP, user_id=USER)
    e = event(delta={"n": 1}, event_id="e1")
    first = await store.append_event(
        app_name=APP, user_id=USER, session_id=s.id, event=e, expected_revision=0
    )
    before = await snapshot(admin)
    # A retry after a lost acknowledgement carries the old revision: still a success.
    again = await store.append_event(
        app_name=APP, user_id=USER, session_id=s.id, event=e, expected_revision=0
    )
    assert first is not None
    assert first.written
    assert again == dataclasses.replace(first, written=False)
    assert await snapshot(admin) == before


@pytest.mark.parametrize("expected_revision", [None, 0, 1])
async def test_another_event_under_a_stored_id_is_a_conflict(
    store: SessionStore, admin: asyncpg.Connection, expected_revision: int | None
) -> None:
    s = await store.create_session(app_name=APP, user_id=USER)
    e = event("first", delta={"n": 1}, event_id="e1", ts=100.0)
    await store.append_event(
        app_name=APP, user_id=USER, session_id=s.id, event=e, expected_revision=0
    )
    before = await snapshot(admin)
    others = [
        event("second", delta={"n": 1}, event_id="e1", ts=100.0),  # other text
        event("first", delta={"n": 2}, event_id="e1", ts=100.0),  # other delta
        e.model_copy(update={"branch": "b"}),  # other branch
        e.model_copy(update={"custom_metadata": {"x": 1}}),  # another field
        e.model_copy(update={"timestamp": 101.0}),  # other time
    ]
    for other in others:
        if expected_revision == 0 and other.timestamp != e.timestamp:
            # Not found under its own time, with a revision that moved on: stale, as ADK
            # checks the revision first. Reloading and appending again finds the conflict.
            with pytest.raises(StaleSessionError):
                await store.append_event(
                    app_name=APP, user_id=USER, session_id=s.id, event=other, expected_revision=0
                )
            continue
        with pytest.raises(EventConflictError, match="e1"):
            await store.append_event(
                app_name=APP,
                user_id=USER,
                session_id=s.id,
                event=other,
                expected_revision=expected_revision,
            )
    assert await snapshot(admin) == before
    # The same event again is still a successful no-op, whatever revision it carries.
    again = await store.append_event(
        app_name=APP, user_id=USER, session_id=s.id, event=e, expected_revision=expected_revision
    )
    assert again is not None
    assert not again.written
    assert await snapshot(admin) == before


async def test_append_to_missing_session_raises(store: SessionStore) -> None:
    with pytest.raises(SessionNotFoundError, match="nope"):
        await store.append_event(
            app_name=APP, user_id=USER, session_id="nope", event=event(), expected_revision=None
        )


async def test_append_rejects_nul_and_bad_revision_before_writing(
    store: SessionStore, admin: asyncpg.Connection
) -> None:
    s = await store.create_session(app_name=APP, user_id=USER)
    before = await snapshot(admin)
    with pytest.raises(InvalidArgumentError, match="NUL"):
        await store.append_event(
            app_name=APP,
            user_id=USER,
            session_id=s.id,
            event=event("bad \x00 text"),
            expected_revision=0,
        )
    with pytest.raises(InvalidArgumentError, match="expected_revision"):
        await store.append_event(
            app_name=APP, user_id=USER, session_id=s.id, event=event(), expected_revision=-1
        )
    with pytest.raises(InvalidArgumentError, match="timestamp"):
        await store.append_event(
            app_name=APP,
            user_id=USER,
            session_id=s.id,
            event=event(ts=float("nan")),
            expected_revision=0,
        )
    # Escaped backslashes followed by "u0000" are ordinary text, not a NUL.
    await store.append_event(
        app_name=APP,
        user_id=USER,
        session_id=s.id,
        event=event("a literal \\u0000 is fine"),
        expected_revision=0,
    )
    after = await snapshot(admin)
    assert len(after["events"]) == len(before["events"]) + 1


# ---- get_session filters -----------------------------------------------------------------


async def fill(store: SessionStore, timestamps: list[tuple[str, float]]) -> str:
    """A session with events of the given (id, timestamp), appended in that order."""
    s = await store.create_session(app_name=APP, user_id=USER)
    revision = 0
    for event_id, ts in timestamps:
        result = await store.append_event(
            app_name=APP,
            user_id=USER,
            session_id=s.id,
            event=event(event_id, event_id=event_id, ts=ts),
            expected_revision=revision,
        )
        assert result is not None
        revision = result.revision
    return s.id


async def ids(store: SessionStore, session_id: str, **config: Any) -> list[str]:
    got = await store.get_session(app_name=APP, user_id=USER, session_id=session_id, **config)
    assert got is not None
    return [e.id for e in got.events]


async def test_events_are_ordered_by_timestamp_then_id(store: SessionStore) -> None:
    sid = await fill(store, [("c", 3.0), ("b", 2.0), ("z", 1.0), ("a", 2.0), ("d", 5.0)])
    assert await ids(store, sid) == ["z", "a", "b", "c", "d"]


async def test_num_recent_events_and_after_timestamp(store: SessionStore) -> None:
    sid = await fill(store, [(f"e{i}", 100.0 + i) for i in range(6)])
    assert await ids(store, sid, num_recent_events=0) == []
    assert await ids(store, sid, num_recent_events=2) == ["e4", "e5"]
    assert await ids(store, sid, num_recent_events=100) == [f"e{i}" for i in range(6)]
    assert await ids(store, sid, after_timestamp=103.0) == ["e3", "e4", "e5"]
    assert await ids(store, sid, after_timestamp=103.0, num_recent_events=1) == ["e5"]
    assert await ids(store, sid, after_timestamp=0.0) == [f"e{i}" for i in range(6)]
    with pytest.raises(InvalidArgumentError, match="greater than or equal to 0"):
        await ids(store, sid, num_recent_events=-1)


async def test_last_update_time_follows_the_appended_event(store: SessionStore) -> None:
    sid = await fill(store, [("a", 1_700_000_000.25), ("b", 1_600_000_000.5)])
    got = await store.get_session(app_name=APP, user_id=USER, session_id=sid)
    assert got is not None
    # As in ADK, the session's update time is the last appended event's, even if older.
    assert got.last_update_time == 1_600_000_000.5


# ---- list / delete / state ------------------------------------------------------------------


async def test_list_sessions_order_state_and_users(store: SessionStore) -> None:
    a = await store.create_session(app_name=APP, user_id="u1", state={"user:x": 1, "app:y": 2})
    b = await store.create_session(app_name=APP, user_id="u2", state={"s": 3})
    await store.append_event(
        app_name=APP, user_id="u1", session_id=a.id, event=event(), expected_revision=0
    )
    await store.create_session(app_name="other-app", user_id="u1")
    everyone = await store.list_sessions(app_name=APP)
    assert [s.id for s in everyone.sessions] == [b.id, a.id]
    assert everyone.next_page_token is None
    assert all(s.events == [] for s in everyone.sessions)
    assert everyone.sessions[0].state == {"s": 3, "app:y": 2}
    assert everyone.sessions[1].state == {"app:y": 2, "user:x": 1}
    only_u1 = await store.list_sessions(app_name=APP, user_id="u1")
    assert [s.id for s in only_u1.sessions] == [a.id]
    got = await store.get_session(app_name=APP, user_id="u1", session_id=a.id)
    assert got is not None
    assert only_u1.sessions[0] == got.model_copy(update={"events": []})


async def test_listed_sessions_equal_fetched_ones_for_awkward_states(store: SessionStore) -> None:
    """The page is built as JSON text on the server: every state survives it unchanged."""
    awkward: list[dict[str, Any]] = [
        {},
        {"nested": {"deep": {"deeper": [1, {"x": "}"}]}}},  # ends in several closing braces
        {"quote": 'a "b" \\ c', "brace": "{not json}", "unicode": "äöü 漢字 🎉"},
        {"big": 12345678901234567890, "float": 0.1 + 0.2, "neg": -1e-300, "null": None},
        {"list": [], "obj": {}, "bool": False},
    ]
    # One app with app: and user: state merged into every listed session (keys that need
    # escaping, several per scope, in the order they were written), one with user: state
    # only, one without any.
    odd = {'app:"quoted"': 1, "app:ünï": {"a": [1]}, "app:b": None, "app:a": 2}
    await store.create_session(app_name=APP, user_id="u0", state=odd)
    await store.create_session(app_name="users-only", user_id="u1", state={"user:z": 1})
    created = []
    for app, scoped in ((APP, True), ("users-only", True), ("plain", False)):
        for i, state in enumerate(awkward):
            if scoped and i % 2:
                state = {**state, f"user:mine{i}": {"i": i}, 'user:"q\\"': [i]}
            created.append(
                await store.create_session(app_name=app, user_id=f"u{i % 3}", state=state)
            )
    # Update times with sub-millisecond digits that must come back as the same floats.
    for i, s in enumerate(created):
        await store.append_event(
            app_name=s.app_name,
            user_id=s.user_id,
            session_id=s.id,
            event=event(ts=1_700_000_000.123457 + i / 7),
            expected_revision=None,
        )
    for app in (APP, "users-only", "plain"):
        for page in (
            await store.list_sessions(app_name=app),
            await store.list_sessions(app_name=app, user_id="u1"),
            await store.list_sessions(app_name=app, page_size=2),
        ):
            assert page.sessions
            for listed in page.sessions:
                got = await store.get_session(
                    app_name=app, user_id=listed.user_id, session_id=listed.id
                )
                assert got is not None
                assert listed == got.model_copy(update={"events": []})
                assert list(listed.state) == list(got.state)  # the same key order too


async def test_keyset_pages_visit_every_session_once_even_with_updates(
    store: SessionStore,
) -> None:
    created = await asyncio.gather(
        *(
            store.create_session(app_name=APP, user_id=f"u{i % 7}", session_id=f"s{i:04d}")
            for i in range(1000)
        )
    )
    owners = {s.id: s.user_id for s in created}
    seen: list[str] = []
    token: str | None = None
    last_key: tuple[float, str, str] = (0.0, "", "")
    while True:
        page = await store.list_sessions(app_name=APP, page_size=64, page_token=token)
        keys = [(s.last_update_time, s.user_id, s.id) for s in page.sessions]
        assert keys == sorted(keys)
        assert keys[0] > last_key  # pages follow each other in order
        seen.extend(s.id for s in page.sessions)
        last_key = keys[-1]
        token = page.next_page_token
        if token is None:
            break
        # Between pages, sessions not listed yet are updated (they move towards the end):
        # with offsets some would be skipped; with keyset pages each still comes once.
        unseen = [sid for sid in owners if sid not in set(seen)][:5]
        for sid in unseen:
            await store.append_event(
                app_name=APP,
                user_id=owners[sid],
                session_id=sid,
                event=event(ts=time.time() + 60),
                expected_revision=None,
            )
    assert len(seen) == 1000
    assert set(seen) == set(owners)


async def test_a_page_that_ends_the_list_has_no_token(store: SessionStore) -> None:
    for i in range(6):
        await store.create_session(app_name=APP, user_id=USER, session_id=f"s{i}")
    for user_id in (None, USER):
        for size, expected in ((3, [3, 3]), (6, [6]), (7, [6]), (1, [1] * 6)):
            sizes, token = [], None
            while True:
                page = await store.list_sessions(
                    app_name=APP, user_id=user_id, page_size=size, page_token=token
                )
                sizes.append(len(page.sessions))
                token = page.next_page_token
                if token is None:
                    break
            assert sizes == expected, (user_id, size)
    empty = await store.list_sessions(app_name="nobody", page_size=2)
    assert empty.sessions == []
    assert empty.next_page_token is None


async def test_malformed_page_token_is_rejected(store: SessionStore) -> None:
    for token in ["garbage!", "", "W10", "x" * 5000]:
        with pytest.raises(InvalidArgumentError, match="page_token"):
            await store.list_sessions(app_name=APP, page_size=10, page_token=token)
    with pytest.raises(InvalidArgumentError, match="page_size"):
        await store.list_sessions(app_name=APP, page_size=0)


async def test_delete_removes_events_and_keeps_app_and_user_state(
    store: SessionStore, admin: asyncpg.Connection
) -> None:
    s = await store.create_session(app_name=APP, user_id=USER, state={"app:a": 1, "user:u": 2})
    await store.append_event(
        app_name=APP, user_id=USER, session_id=s.id, event=event(), expected_revision=0
    )
    await store.delete_session(app_name=APP, user_id=USER, session_id=s.id)
    assert await store.get_session(app_name=APP, user_id=USER, session_id=s.id) is None
    assert await table(admin, "events") == []
    assert await store.get_user_state(app_name=APP, user_id=USER) == {"u": 2}
    assert await store.get_app_state(app_name=APP) == {"a": 1}
    # Deleting again, or a session that never existed, is not an error.
    await store.delete_session(app_name=APP, user_id=USER, session_id=s.id)


async def test_state_of_unknown_user_and_app_is_empty(store: SessionStore) -> None:
    assert await store.get_user_state(app_name=APP, user_id="nobody") == {}
    assert await store.get_app_state(app_name="no-app") == {}


async def test_ids_with_sql_are_stored_literally(store: SessionStore) -> None:
    nasty = "x'); DROP TABLE adk.sessions; --"
    s = await store.create_session(app_name=nasty, user_id=nasty, session_id=nasty)
    got = await store.get_session(app_name=nasty, user_id=nasty, session_id=nasty)
    assert got is not None
    assert got.id == s.id == nasty


async def test_connect_refuses_an_unmigrated_database_unless_asked_to_migrate(
    server_dsn: str,
) -> None:
    async with throwaway_database(server_dsn) as empty:
        with pytest.raises(SchemaOutdatedError, match="make migrate"):
            await SessionStore.connect(empty)
        async with await SessionStore.connect(empty, migrate=True) as store:
            s = await store.create_session(app_name=APP, user_id=USER)
            assert await store.get_session(app_name=APP, user_id=USER, session_id=s.id) == s
        # The store created that pool, so it closed it on leaving the block.
        assert store.pool.is_closing()


async def test_a_store_on_a_callers_pool_leaves_it_open(pool: asyncpg.Pool) -> None:
    async with SessionStore(pool) as store:
        await store.get_app_state(app_name=APP)
    assert not pool.is_closing()
    assert await pool.fetchval("SELECT 1") == 1
