"""``SessionStore.list_events``: keyset pages of a session's events, in one statement."""

from __future__ import annotations

from typing import TypedDict

import asyncpg
import pytest

from adk_pg import Event, EventActions, InvalidArgumentError, SessionNotFoundError
from adk_pg.sessions.paging import encode_event_token
from adk_pg.sessions.queries import QUERIES
from adk_pg.sessions.store import SessionStore


class Key(TypedDict):
    """The session's ids, as keyword arguments."""

    app_name: str
    user_id: str
    session_id: str


KEY = Key(app_name="app", user_id="u", session_id="s")
# Two pairs of equal timestamps: ties are broken by id.
STAMPS = [("e1", 1.5), ("e2", 2.25), ("e3", 2.25), ("e4", 3.0000001), ("e5", 3.0000001)]


@pytest.fixture
async def events(store: SessionStore) -> list[Event]:
    """Five events appended out of order, so storage order is not the answer."""
    await store.create_session(app_name="app", user_id="u", session_id="s")
    appended = [
        Event(id=i, author="user", timestamp=t, actions=EventActions(state_delta={"n": i}))
        for i, t in STAMPS
    ]
    for revision, event in enumerate(reversed(appended)):
        await store.append_event(**KEY, event=event, expected_revision=revision)
    return appended


async def pages(store: SessionStore, size: int | None, *, newest_first: bool) -> list[list[str]]:
    found: list[list[str]] = []
    token = None
    while True:
        page = await store.list_events(
            **KEY, page_size=size, page_token=token, newest_first=newest_first
        )
        found.append([e.id for e in page.events])
        token = page.next_page_token
        if token is None:
            return found


async def test_pages_forward_and_backward(store: SessionStore, events: list[Event]) -> None:
    assert await pages(store, 2, newest_first=False) == [["e1", "e2"], ["e3", "e4"], ["e5"]]
    assert await pages(store, 2, newest_first=True) == [["e5", "e4"], ["e3", "e2"], ["e1"]]
    assert await pages(store, 5, newest_first=False) == [["e1", "e2", "e3", "e4", "e5"]]
    assert await pages(store, None, newest_first=True) == [["e5", "e4", "e3", "e2", "e1"]]
    page = await store.list_events(**KEY, page_size=1)
    assert page.events == events[:1]  # every field, as appended


async def test_a_token_survives_appends_and_keeps_its_place(
    store: SessionStore, events: list[Event]
) -> None:
    first = await store.list_events(**KEY, page_size=2)
    await store.append_event(
        **KEY, event=Event(id="e0", author="user", timestamp=0.5), expected_revision=None
    )
    rest = await store.list_events(**KEY, page_token=first.next_page_token)
    assert [e.id for e in rest.events] == ["e3", "e4", "e5"]
    assert rest.next_page_token is None


async def test_errors(store: SessionStore, events: list[Event]) -> None:
    with pytest.raises(SessionNotFoundError):
        await store.list_events(app_name="app", user_id="u", session_id="missing")
    forward = (await store.list_events(**KEY, page_size=1)).next_page_token
    assert forward is not None
    with pytest.raises(InvalidArgumentError, match="other direction"):
        await store.list_events(**KEY, page_token=forward, newest_first=True)
    crafted = [
        encode_event_token(
            KEY["app_name"], KEY["user_id"], KEY["session_id"], 1.0, bad_id, newest_first=False
        )
        for bad_id in ("e\x00", "x" * 129)
    ]
    other_session = encode_event_token("app", "u", "other", 1.0, "e1", newest_first=False)
    with pytest.raises(InvalidArgumentError, match="another events listing"):
        await store.list_events(**KEY, page_token=other_session)
    for token in ("", "garbage!", "W10", forward[:-4], *crafted):
        with pytest.raises(InvalidArgumentError, match="page_token"):
            await store.list_events(**KEY, page_token=token)
    for size in (0, -1, 10_001):
        with pytest.raises(InvalidArgumentError, match="page_size"):
            await store.list_events(**KEY, page_size=size)
    with pytest.raises(InvalidArgumentError, match="newest_first"):
        await store.list_events(**KEY, newest_first=1)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="session_id"):
        await store.list_events(app_name="app", user_id="u", session_id=" ")


@pytest.mark.single_server("a prepared statement's generic plan: Citus plans each execution")
async def test_a_page_is_one_index_range_scan(
    store: SessionStore, events: list[Event], admin: asyncpg.Connection
) -> None:
    # The generic plan (what a prepared statement settles on) must serve either direction
    # with a range scan of the index, the other branch switched off by its one-time filter.
    await admin.execute("SET plan_cache_mode = force_generic_plan")
    await admin.execute("PREPARE list_events_plan AS " + QUERIES.list_events.sql)
    try:
        for newest_first in ("false", "true"):
            rows = await admin.fetch(
                "EXPLAIN EXECUTE list_events_plan"
                f"('app', 'u', 's', 'Infinity', '', {newest_first}, 11)"
            )
            plan = "\n".join(r[0] for r in rows)
            assert "Index Scan using events_session_time_idx" in plan
            assert "Index Scan Backward using events_session_time_idx" in plan
            assert plan.count('(ROW("timestamp", (id)::text)') == 2  # the keyset is an index bound
            assert "Seq Scan" not in plan
            assert "Sort" not in plan
    finally:
        await admin.execute("DEALLOCATE list_events_plan")
        await admin.execute("RESET plan_cache_mode")
