"""Differential contract tests: one body per behaviour, run on three session services.

``memory`` is ADK's InMemorySessionService, ``database`` ADK's DatabaseSessionService on a
fresh database of the same PostgreSQL server, ``adkpg`` our PostgresSessionService. Where a
service deliberately behaves differently, the expectation is spelled out per service in a
table named after the difference (never a skip), so every difference is visible here.
"""

from __future__ import annotations

import asyncio
import inspect
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest
import sqlalchemy.exc
from _adk_helpers import rich_event
from google.adk.errors import StaleSessionError
from google.adk.errors.already_exists_error import AlreadyExistsError
from google.adk.errors.session_not_found_error import SessionNotFoundError
from google.adk.events.event import Event
from google.adk.events.event_actions import EventActions
from google.adk.sessions import (
    BaseSessionService,
    DatabaseSessionService,
    InMemorySessionService,
    Session,
)
from google.adk.sessions.base_session_service import GetSessionConfig, ListSessionsResponse
from google.genai import types

from adk_pg.adk import PostgresSessionService
from adk_pg.db.dsn import with_database
from adk_pg.errors import EventConflictError, StorageError
from adk_pg.schema.admin import throwaway_database

KINDS = ("memory", "database", "adkpg")
# Services whose storage outlives the instance: two instances can share one session.
PERSISTENT = ("database", "adkpg")
APP = "contract_app"
USER = "u1"
# Whole quarter seconds: exact in a float and in PostgreSQL's microsecond timestamps.
BASE_TS = float(int(time.time()) - 3600)

# ---- the deliberate differences ---------------------------------------------------------

# InMemorySessionService has no stale-writer detection: it appends whatever the caller held.
DETECTS_STALE = {"memory": False, "database": True, "adkpg": True}
# InMemorySessionService keeps append order; the database services sort by (timestamp, id).
SORTS_EVENTS = {"memory": False, "database": True, "adkpg": True}
# DatabaseSessionService keeps padded and empty session ids verbatim (upstream marks this a
# known divergence); InMemorySessionService and ours strip them, and generate an id for "".
STRIPS_SESSION_IDS = {"memory": True, "database": False, "adkpg": True}
# InMemorySessionService keeps non-JSON values as objects; the others store str(value).
STRINGIFIES_STATE = {"memory": False, "database": True, "adkpg": True}
# DatabaseSessionService declares delete_session without `*`; the base and the rest do not.
SIGNATURE_DIFFERENCES = {"memory": set(), "database": {"delete_session"}, "adkpg": set()}
PUBLIC_METHODS = (
    "create_session",
    "get_session",
    "list_sessions",
    "delete_session",
    "get_user_state",
    "append_event",
    "flush",
)


@dataclass
class Backend:
    """One service under test, and a way to open a second instance on the same storage."""

    kind: str
    service: BaseSessionService
    peer: Callable[[], AbstractAsyncContextManager[BaseSessionService]]


@pytest.fixture(scope="module")
async def reference_dsn(server_dsn: str) -> AsyncIterator[str]:
    """A fresh database for DatabaseSessionService (its tables go to schema public)."""
    async with throwaway_database(server_dsn, "adk_pg_ref") as dsn:
        yield dsn


def _sqlalchemy_url(dsn: str) -> str:
    return with_database(dsn, dsn.rpartition("/")[2], scheme="postgresql+asyncpg")


@pytest.fixture(scope="module")
async def reference_service(reference_dsn: str) -> AsyncIterator[DatabaseSessionService]:
    """ADK's DatabaseSessionService with its tables created."""
    service = DatabaseSessionService(_sqlalchemy_url(reference_dsn))
    await service.prepare_tables()
    yield service
    await service.close()


@pytest.fixture(scope="module")
async def reference_admin(
    reference_dsn: str, reference_service: DatabaseSessionService
) -> AsyncIterator[asyncpg.Connection]:
    """A plain connection to the reference database, for emptying its tables."""
    conn = await asyncpg.connect(reference_dsn)
    yield conn
    await conn.close()


@pytest.fixture(params=KINDS)
async def backend(
    request: pytest.FixtureRequest,
    db: str,
    reference_dsn: str,
    reference_service: DatabaseSessionService,
    reference_admin: asyncpg.Connection,
) -> AsyncIterator[Backend]:
    """The service named by the parameter, on empty storage."""
    kind: str = request.param
    if kind == "memory":
        memory = InMemorySessionService()

        @asynccontextmanager
        async def memory_peer() -> AsyncIterator[BaseSessionService]:
            yield memory  # in-memory storage is the instance itself

        yield Backend(kind, memory, memory_peer)
    elif kind == "database":
        await reference_admin.execute("TRUNCATE events, sessions, app_states, user_states")

        @asynccontextmanager
        async def database_peer() -> AsyncIterator[BaseSessionService]:
            async with DatabaseSessionService(_sqlalchemy_url(reference_dsn)) as peer:
                yield peer

        yield Backend(kind, reference_service, database_peer)
    else:

        @asynccontextmanager
        async def adkpg_peer() -> AsyncIterator[BaseSessionService]:
            async with PostgresSessionService(db, pool_size=4) as peer:
                yield peer

        async with PostgresSessionService(db, pool_size=4) as service:
            yield Backend(kind, service, adkpg_peer)


def make_event(
    timestamp: float = BASE_TS,
    *,
    event_id: str = "",
    delta: dict[str, Any] | None = None,
    partial: bool | None = None,
) -> Event:
    """A user event with a text part and an optional state delta."""
    return Event(
        id=event_id,
        invocation_id="inv",
        author="user",
        timestamp=timestamp,
        partial=partial,
        content=types.Content(role="user", parts=[types.Part(text=f"at {timestamp}")]),
        actions=EventActions(state_delta=delta or {}),
    )


async def load(
    service: BaseSessionService,
    session_id: str,
    *,
    user_id: str = USER,
    config: GetSessionConfig | None = None,
) -> Session:
    """get_session that must find the session."""
    got = await service.get_session(
        app_name=APP, user_id=user_id, session_id=session_id, config=config
    )
    assert got is not None, session_id
    return got


async def stored_ids(service: BaseSessionService, session_id: str) -> list[str]:
    """The ids of the events storage holds for a session, in the order get_session gives."""
    return [e.id for e in (await load(service, session_id)).events]


# ---- surface ------------------------------------------------------------------------------


async def test_signatures_match_the_base_service(backend: Backend) -> None:
    """Every public method takes the base class's parameters, keyword-only, and is async.

    adk-pg's ``list_sessions`` adds ``page_size`` and ``page_token`` after them, keyword-only
    and defaulting to None (ADK's behaviour).
    """
    for name in PUBLIC_METHODS:
        method = getattr(type(backend.service), name)
        assert inspect.iscoroutinefunction(method), name
        base = inspect.signature(getattr(BaseSessionService, name)).parameters.values()
        ours = list(inspect.signature(method).parameters.values())
        added = ours[len(base) :]
        assert all(p.kind is p.KEYWORD_ONLY and p.default is None for p in added), name
        assert [p.name for p in added] == (
            ["page_size", "page_token"]
            if backend.kind == "adkpg" and name == "list_sessions"
            else []
        ), name
        ours = ours[: len(base)]
        assert [p.name for p in ours] == [p.name for p in base], name
        same = [(p.kind, p.default) for p in ours] == [(p.kind, p.default) for p in base]
        assert same is (name not in SIGNATURE_DIFFERENCES[backend.kind]), name


async def test_methods_return_the_base_types(backend: Backend) -> None:
    """create/get -> Session, list -> ListSessionsResponse, append -> Event, others None/dict."""
    svc = backend.service
    created = await svc.create_session(app_name=APP, user_id=USER)
    assert isinstance(created, Session)
    assert isinstance(
        await svc.get_session(app_name=APP, user_id=USER, session_id=created.id), Session
    )
    assert await svc.get_session(app_name=APP, user_id=USER, session_id="missing") is None
    assert isinstance(await svc.list_sessions(app_name=APP), ListSessionsResponse)
    assert isinstance(await svc.append_event(created, make_event()), Event)
    assert isinstance(await svc.get_user_state(app_name=APP, user_id=USER), dict)
    await svc.flush()
    await svc.delete_session(app_name=APP, user_id=USER, session_id=created.id)


# ---- errors -------------------------------------------------------------------------------


async def test_duplicate_session_id_raises_already_exists(backend: Backend) -> None:
    """A second create with the same id raises ADK's AlreadyExistsError and changes nothing."""
    svc = backend.service
    await svc.create_session(app_name=APP, user_id=USER, session_id="dup", state={"a": 1})
    with pytest.raises(AlreadyExistsError, match="dup") as info:
        await svc.create_session(app_name=APP, user_id=USER, session_id="dup", state={"a": 2})
    assert not isinstance(info.value, ValueError)  # api_server maps it to 409, not 400
    assert (await load(svc, "dup")).state == {"a": 1}
    other = await svc.create_session(app_name=APP, user_id="u2", session_id="dup")
    assert other.id == "dup"  # ids are per user


async def test_append_to_missing_session_raises_session_not_found(backend: Backend) -> None:
    """Appending to a session that does not exist (or was deleted) raises and stores nothing."""
    svc = backend.service
    ghost = Session(id="ghost", app_name=APP, user_id=USER)
    with pytest.raises(SessionNotFoundError) as info:
        await svc.append_event(ghost, make_event())
    assert isinstance(info.value, ValueError)
    deleted = await svc.create_session(app_name=APP, user_id=USER, session_id="gone")
    await svc.delete_session(app_name=APP, user_id=USER, session_id="gone")
    with pytest.raises(SessionNotFoundError):
        await svc.append_event(deleted, make_event())
    assert await svc.get_session(app_name=APP, user_id=USER, session_id="gone") is None


async def test_appending_with_a_stale_copy_raises_stale_session_error(backend: Backend) -> None:
    """A copy loaded before another append is stale: StaleSessionError, nothing written."""
    svc = backend.service
    await svc.create_session(app_name=APP, user_id=USER, session_id="s")
    first, second = await load(svc, "s"), await load(svc, "s")
    winner = await svc.append_event(first, make_event(BASE_TS, delta={"k": "first"}))
    late = make_event(BASE_TS + 1, delta={"k": "late"})
    if DETECTS_STALE[backend.kind]:
        with pytest.raises(StaleSessionError, match="modified in storage") as info:
            await svc.append_event(second, late)
        assert isinstance(info.value, ValueError)
        assert await stored_ids(svc, "s") == [winner.id]
        assert (await load(svc, "s")).state == {"k": "first"}
    else:
        await svc.append_event(second, late)
        assert await stored_ids(svc, "s") == [winner.id, late.id]


async def test_hand_built_session_is_checked_against_stored_events(backend: Backend) -> None:
    """A marker-less session is stale only when storage holds events it has not seen."""
    svc = backend.service
    created = await svc.create_session(app_name=APP, user_id=USER, session_id="s")
    first = await svc.append_event(created, make_event(BASE_TS))
    blank = Session(id="s", app_name=APP, user_id=USER)
    if DETECTS_STALE[backend.kind]:
        with pytest.raises(StaleSessionError):
            await svc.append_event(blank, make_event(BASE_TS + 1))
    up_to_date = Session(id="s", app_name=APP, user_id=USER, events=[first.model_copy()])
    second = await svc.append_event(up_to_date, make_event(BASE_TS + 2))
    assert (await stored_ids(svc, "s"))[-1] == second.id
    assert (await load(svc, "s")).events[-1] == up_to_date.events[-1]


# ---- state --------------------------------------------------------------------------------


async def test_partial_events_are_not_persisted(backend: Backend) -> None:
    """A partial event is returned as is; neither the session nor storage changes."""
    svc = backend.service
    session = await svc.create_session(app_name=APP, user_id=USER, session_id="s")
    event = make_event(delta={"k": 1, "user:u": 1}, partial=True)
    assert await svc.append_event(session, event) is event
    assert session.events == []
    assert "k" not in session.state
    stored = await load(svc, "s")
    assert stored.events == []
    assert stored.state == {}


async def test_temp_state_is_visible_in_memory_but_never_stored(backend: Backend) -> None:
    """temp: keys reach the caller's session, are trimmed from the event, and never stored."""
    svc = backend.service
    session = await svc.create_session(
        app_name=APP, user_id=USER, session_id="s", state={"temp:boot": 1, "k": 0}
    )
    assert session.state == {"k": 0}
    returned = await svc.append_event(session, make_event(delta={"temp:t": "scratch", "k": 1}))
    assert session.state == {"k": 1, "temp:t": "scratch"}
    assert returned.actions.state_delta == {"k": 1}
    stored = await load(svc, "s")
    assert stored.state == {"k": 1}
    assert stored.events[0].actions.state_delta == {"k": 1}


async def test_state_delta_is_a_shallow_update_that_keeps_none(backend: Backend) -> None:
    """dict.update semantics in every scope: nested values replaced, None stored as None."""
    svc = backend.service
    nested = {"a": 1, "b": 2}
    session = await svc.create_session(
        app_name=APP,
        user_id=USER,
        session_id="s",
        state={"d": nested, "gone": 1, "app:d": nested, "app:gone": 1, "user:d": nested},
    )
    delta = {"d": {"a": 9}, "gone": None, "app:d": {"a": 9}, "app:gone": None}
    delta |= {"user:d": {"a": 9}, "user:gone": None}
    await svc.append_event(session, make_event(delta=delta))
    assert session.state == delta
    assert (await load(svc, "s")).state == delta
    assert await svc.get_user_state(app_name=APP, user_id=USER) == {"d": {"a": 9}, "gone": None}


async def test_merged_state_lists_session_then_app_then_user_keys(backend: Backend) -> None:
    """Reads merge session keys, then app: keys, then user: keys; users do not mix."""
    svc = backend.service
    session = await svc.create_session(
        app_name=APP, user_id=USER, session_id="s", state={"s1": 1, "app:a1": 2, "user:u1": 3}
    )
    await svc.append_event(session, make_event(delta={"s2": 4, "app:a2": 5, "user:u2": 6}))
    await svc.create_session(
        app_name=APP, user_id="u2", session_id="t", state={"user:u1": "theirs"}
    )
    expected = {"s1": 1, "s2": 4, "app:a1": 2, "app:a2": 5, "user:u1": 3, "user:u2": 6}
    listed = (await svc.list_sessions(app_name=APP, user_id=USER)).sessions
    for got in (await load(svc, "s"), listed[0]):
        assert got.state == expected
        scopes = [
            2 if k.startswith("user:") else 1 if k.startswith("app:") else 0 for k in got.state
        ]
        assert scopes == sorted(scopes)
    theirs = await load(svc, "t", user_id="u2")
    assert theirs.state == {"app:a1": 2, "app:a2": 5, "user:u1": "theirs"}


async def test_get_user_state_returns_unprefixed_keys(backend: Backend) -> None:
    """get_user_state: the user scope without its prefix, {} for an unknown user."""
    svc = backend.service
    session = await svc.create_session(
        app_name=APP, user_id=USER, state={"user:name": "Ada", "app:x": 1, "k": 2}
    )
    await svc.append_event(session, make_event(delta={"user:visits": 1}))
    assert await svc.get_user_state(app_name=APP, user_id=USER) == {"name": "Ada", "visits": 1}
    assert await svc.get_user_state(app_name=APP, user_id="nobody") == {}


class Opaque:
    """A value that is not JSON: stored as its str() by the database services."""

    def __str__(self) -> str:
        return "<opaque>"


async def test_non_json_state_values_are_stringified(backend: Backend) -> None:
    """Values that are not JSON are stored as str(value), never failing the write."""
    svc = backend.service
    thing = Opaque()
    session = await svc.create_session(
        app_name=APP, user_id=USER, session_id="s", state={"c": thing}
    )
    await svc.append_event(session, make_event(delta={"x": thing, "user:y": thing}))
    stored = await load(svc, "s")
    user_state = await svc.get_user_state(app_name=APP, user_id=USER)
    values = [stored.state["c"], stored.state["x"], stored.state["user:y"], user_state["y"]]
    if STRINGIFIES_STATE[backend.kind]:
        assert values == ["<opaque>"] * 4
    else:
        assert all(isinstance(v, Opaque) for v in values)  # copies of the object itself
    assert session.state["x"] is thing  # the caller's session keeps what it was given


# ---- events -------------------------------------------------------------------------------


async def _session_with_events(svc: BaseSessionService, count: int) -> list[Event]:
    session = await svc.create_session(app_name=APP, user_id=USER, session_id="s")
    return [
        await svc.append_event(session, make_event(BASE_TS + i * 0.25, event_id=f"e{i}"))
        for i in range(count)
    ]


async def test_num_recent_events_selects_the_newest_in_order(backend: Backend) -> None:
    """None = all, 0 = none, N = the newest N, oldest first."""
    svc = backend.service
    ids = [e.id for e in await _session_with_events(svc, 5)]
    for n, expected in ((None, ids), (0, []), (2, ids[-2:]), (5, ids), (10, ids)):
        got = await load(svc, "s", config=GetSessionConfig(num_recent_events=n))
        assert [e.id for e in got.events] == expected, n
    assert (await load(svc, "s", config=GetSessionConfig(num_recent_events=0))).id == "s"


async def test_after_timestamp_is_inclusive(backend: Backend) -> None:
    """after_timestamp keeps events at or after it; with N, the newest N of those."""
    svc = backend.service
    ids = [e.id for e in await _session_with_events(svc, 5)]
    t2 = BASE_TS + 0.5
    cases = [
        (GetSessionConfig(after_timestamp=t2), ids[2:]),
        (GetSessionConfig(after_timestamp=t2 + 0.001), ids[3:]),
        (GetSessionConfig(after_timestamp=t2, num_recent_events=2), ids[3:]),
        (GetSessionConfig(after_timestamp=t2, num_recent_events=9), ids[2:]),
    ]
    for config, expected in cases:
        assert [e.id for e in (await load(svc, "s", config=config)).events] == expected, config


async def test_events_are_ordered_by_timestamp_then_id(backend: Backend) -> None:
    """Storage order is (timestamp, id) whatever the append order."""
    svc = backend.service
    session = await svc.create_session(app_name=APP, user_id=USER, session_id="s")
    appended = [("m", 2.0), ("z", 1.0), ("a", 1.0), ("b", 3.0)]
    for event_id, offset in appended:
        await svc.append_event(session, make_event(BASE_TS + offset, event_id=event_id))
    expected = ["a", "z", "m", "b"] if SORTS_EVENTS[backend.kind] else ["m", "z", "a", "b"]
    assert await stored_ids(svc, "s") == expected


async def test_event_round_trips_every_field(backend: Backend) -> None:
    """Bytes, grounding, confirmations, transcriptions, metadata and the exact float time."""
    svc = backend.service
    session = await svc.create_session(app_name=APP, user_id=USER, session_id="s")
    timestamp = time.time()
    returned = await svc.append_event(session, rich_event(timestamp))
    got = (await load(svc, "s")).events
    assert got == [returned]
    assert got[0].timestamp == timestamp  # bit for bit
    assert got[0].model_dump_json() == returned.model_dump_json()
    content = got[0].content
    assert content is not None
    assert content.parts is not None
    blob = content.parts[1].inline_data
    assert blob is not None
    assert blob.data == bytes(range(256))
    confirmation = got[0].actions.requested_tool_confirmations["fc1"]
    assert confirmation.payload == {"x": 1}
    assert got[0].long_running_tool_ids == {"a", "b"}


async def test_last_update_time_is_the_appended_event_timestamp(backend: Backend) -> None:
    """After an append, last_update_time is the event's timestamp, in every read."""
    svc = backend.service
    session = await svc.create_session(app_name=APP, user_id=USER, session_id="s")
    timestamp = BASE_TS + 0.123456789
    await svc.append_event(session, make_event(timestamp))
    listed = (await svc.list_sessions(app_name=APP, user_id=USER)).sessions
    for seen in (session, await load(svc, "s"), listed[0]):
        assert seen.last_update_time == pytest.approx(timestamp, abs=1e-6)


# ---- sessions -----------------------------------------------------------------------------


async def test_list_sessions_order_scope_and_no_events(backend: Backend) -> None:
    """Ordered by (last_update_time, user_id, id), no events; user_id=None lists every user."""
    svc = backend.service
    plan = [("u1", "s-late", 2.0), ("u2", "s-tie", 1.0), ("u1", "s-tie-b", 1.0)]
    plan += [("u1", "s-tie-a", 1.0), ("u1", "s-early", 0.0)]
    for user_id, session_id, offset in plan:
        session = await svc.create_session(
            app_name=APP, user_id=user_id, session_id=session_id, state={"user:who": user_id}
        )
        await svc.append_event(session, make_event(BASE_TS + offset, delta={"n": session_id}))
    everyone = (await svc.list_sessions(app_name=APP)).sessions
    assert [(s.user_id, s.id) for s in everyone] == [
        ("u1", "s-early"),
        ("u1", "s-tie-a"),
        ("u1", "s-tie-b"),
        ("u2", "s-tie"),
        ("u1", "s-late"),
    ]
    assert all(s.events == [] for s in everyone)
    assert all(s.state == {"n": s.id, "user:who": s.user_id} for s in everyone)
    mine = (await svc.list_sessions(app_name=APP, user_id="u1")).sessions
    assert [s.id for s in mine] == ["s-early", "s-tie-a", "s-tie-b", "s-late"]
    assert (await svc.list_sessions(app_name="no-such-app")).sessions == []
    assert (await svc.list_sessions(app_name=APP, user_id="nobody")).sessions == []


async def test_sessions_compare_equal_across_create_append_get_and_list(backend: Backend) -> None:
    """Created, appended, fetched and listed sessions are == (the private marker included)."""
    svc = backend.service
    created = await svc.create_session(
        app_name=APP, user_id=USER, session_id="s", state={"k": 1, "app:a": 2, "user:u": 3}
    )
    fetched = await load(svc, "s")
    assert fetched == created
    assert fetched._storage_update_marker == created._storage_update_marker
    await svc.append_event(created, make_event(delta={"k": 2}))
    fetched = await load(svc, "s")
    assert fetched == created
    assert fetched._storage_update_marker == created._storage_update_marker
    listed = (await svc.list_sessions(app_name=APP, user_id=USER)).sessions
    assert listed == [await load(svc, "s", config=GetSessionConfig(num_recent_events=0))]


async def test_delete_removes_events_and_keeps_app_and_user_state(backend: Backend) -> None:
    """Delete drops the session and its events; app/user state stay; a missing one: no-op."""
    svc = backend.service
    session = await svc.create_session(
        app_name=APP, user_id=USER, session_id="s", state={"app:a": 1, "user:u": 2, "k": 3}
    )
    await svc.append_event(session, make_event(delta={"user:v": 4}))
    await svc.delete_session(app_name=APP, user_id=USER, session_id="s")
    assert await svc.get_session(app_name=APP, user_id=USER, session_id="s") is None
    assert (await svc.list_sessions(app_name=APP, user_id=USER)).sessions == []
    assert await svc.get_user_state(app_name=APP, user_id=USER) == {"u": 2, "v": 4}
    await svc.create_session(app_name=APP, user_id=USER, session_id="s")
    again = await load(svc, "s")
    assert again.events == []
    assert again.state == {"app:a": 1, "user:u": 2, "user:v": 4}
    await svc.delete_session(app_name=APP, user_id=USER, session_id="missing")
    await svc.delete_session(app_name="no-app", user_id="nobody", session_id="missing")


async def test_session_ids_are_stripped(backend: Backend) -> None:
    """Padded ids are stripped and "" gets a fresh id, except in DatabaseSessionService."""
    svc = backend.service
    padded = await svc.create_session(app_name=APP, user_id=USER, session_id="  padded  ")
    empty = await svc.create_session(app_name=APP, user_id=USER, session_id="")
    found = await svc.get_session(app_name=APP, user_id=USER, session_id="padded")
    if STRIPS_SESSION_IDS[backend.kind]:
        assert padded.id == "padded"
        assert found == padded
        assert uuid.UUID(empty.id)
    else:
        assert padded.id == "  padded  "
        assert found is None
        assert empty.id == ""


# ---- retries and duplicates -----------------------------------------------------------------


async def test_redelivered_event_is_not_stored_twice(backend: Backend) -> None:
    """The same event appended twice to the same session is stored once.

    Deliberate difference: DatabaseSessionService's INSERT fails with sqlalchemy's
    IntegrityError; InMemorySessionService and ours treat the re-delivery as a no-op.
    """
    svc = backend.service
    session = await svc.create_session(app_name=APP, user_id=USER, session_id="s")
    event = make_event(delta={"k": 1})
    await svc.append_event(session, event)
    if backend.kind == "database":
        with pytest.raises(sqlalchemy.exc.IntegrityError):
            await svc.append_event(session, event)
    else:
        assert await svc.append_event(session, event) is event
        assert session.events == [event]
        assert session == await load(svc, "s")
    assert await stored_ids(svc, "s") == [event.id]


async def test_another_event_under_a_stored_id_is_refused(backend: Backend) -> None:
    """A different event reusing a stored event id is a caller bug, and nothing is lost.

    Deliberate differences: DatabaseSessionService fails with sqlalchemy's IntegrityError;
    InMemorySessionService keeps both events; ours raises EventConflictError, which is ADK's
    AlreadyExistsError (HTTP 409 from ADK's api_server), and stores nothing.
    """
    svc = backend.service
    session = await svc.create_session(app_name=APP, user_id=USER, session_id="s")
    event = make_event(delta={"k": 1})
    await svc.append_event(session, event)
    other = make_event(delta={"k": 2}).model_copy(update={"id": event.id})
    if backend.kind == "database":
        with pytest.raises(sqlalchemy.exc.IntegrityError):
            await svc.append_event(session, other)
    elif backend.kind == "memory":
        await svc.append_event(session, other)
        assert await stored_ids(svc, "s") == [event.id, event.id]
        return
    else:
        with pytest.raises(AlreadyExistsError, match=event.id) as refused:
            await svc.append_event(session, other)
        assert isinstance(refused.value, EventConflictError)
        assert session == await load(svc, "s")  # the caller's copy is untouched
    assert await stored_ids(svc, "s") == [event.id]
    assert (await load(svc, "s")).state == {"k": 1}


async def test_retry_after_a_lost_acknowledgement_is_safe(backend: Backend) -> None:
    """Retrying an append from the copy held before it (the reply was lost) stores it once.

    Deliberate difference: ours succeeds and brings the retrying copy up to date;
    DatabaseSessionService sees that copy as stale; InMemorySessionService returns without
    touching the copy.
    """
    svc = backend.service
    await svc.create_session(app_name=APP, user_id=USER, session_id="s")
    sent, retrying = await load(svc, "s"), await load(svc, "s")
    event = make_event(delta={"k": 1})
    await svc.append_event(sent, event)
    retry = event.model_copy(deep=True)
    if backend.kind == "database":
        with pytest.raises(StaleSessionError):
            await svc.append_event(retrying, retry)
    else:
        await svc.append_event(retrying, retry)
        stored = await load(svc, "s")
        assert (retrying == stored) is (backend.kind == "adkpg")
    assert await stored_ids(svc, "s") == [event.id]
    assert (await load(svc, "s")).state == {"k": 1}


async def test_retry_after_others_wrote_leaves_the_copy_stale(backend: Backend) -> None:
    """A retry that lands after another writer must not make the retrying copy look fresh.

    Ours: the retry succeeds (the event is stored) and the copy's next append raises
    StaleSessionError. DatabaseSessionService raises it on the retry itself;
    InMemorySessionService has no stale detection.
    """
    svc = backend.service
    await svc.create_session(app_name=APP, user_id=USER, session_id="s")
    sent, retrying = await load(svc, "s"), await load(svc, "s")
    event = make_event(BASE_TS)
    await svc.append_event(sent, event)
    other = await svc.append_event(sent, make_event(BASE_TS + 1))
    retry = event.model_copy(deep=True)
    if backend.kind == "database":
        with pytest.raises(StaleSessionError):
            await svc.append_event(retrying, retry)
    else:
        await svc.append_event(retrying, retry)
        later = make_event(BASE_TS + 2)
        if DETECTS_STALE[backend.kind]:
            with pytest.raises(StaleSessionError):
                await svc.append_event(retrying, later)
        else:
            await svc.append_event(retrying, later)
    assert (await stored_ids(svc, "s"))[:2] == [event.id, other.id]


async def test_redelivery_to_a_copy_that_holds_the_event_keeps_it_stale(
    backend: Backend,
) -> None:
    """A copy that already holds an event, re-sending it after another writer, stays stale.

    The re-sent event is not applied twice, and the copy's next write is refused, so it can
    never overwrite the other writer's state. InMemorySessionService has no stale detection;
    DatabaseSessionService refuses the re-delivery itself (stale, checked before the INSERT).
    """
    svc = backend.service
    await svc.create_session(app_name=APP, user_id=USER, session_id="s")
    holder = await load(svc, "s")
    event = make_event(BASE_TS, delta={"k": 1})
    await svc.append_event(holder, event)
    other = await load(svc, "s")
    await svc.append_event(other, make_event(BASE_TS + 1, delta={"k": 2}))
    if backend.kind == "database":
        with pytest.raises(StaleSessionError):
            await svc.append_event(holder, event.model_copy(deep=True))
    else:
        await svc.append_event(holder, event.model_copy(deep=True))
        assert [e.id for e in holder.events] == [event.id]
        if DETECTS_STALE[backend.kind]:
            with pytest.raises(StaleSessionError):
                await svc.append_event(holder, make_event(BASE_TS + 2, delta={"k": 3}))
            assert (await load(svc, "s")).state == {"k": 2}
    stored = await stored_ids(svc, "s")
    assert stored[0] == event.id
    assert stored.count(event.id) == 1


# ---- concurrent writers ---------------------------------------------------------------------


async def _race(writer_a: BaseSessionService, writer_b: BaseSessionService, kind: str) -> None:
    """Ten rounds of two loaded copies of one session appending at the same moment."""
    for round_no in range(10):
        session_id = f"race-{round_no}"
        await writer_a.create_session(app_name=APP, user_id=USER, session_id=session_id)
        copy_a = await load(writer_a, session_id)
        copy_b = await load(writer_b, session_id)
        event_a = make_event(BASE_TS, delta={"winner": "a"})
        event_b = make_event(BASE_TS, delta={"winner": "b"})
        results = await asyncio.gather(
            writer_a.append_event(copy_a, event_a),
            writer_b.append_event(copy_b, event_b),
            return_exceptions=True,
        )
        stored = await load(writer_a, session_id)
        if not DETECTS_STALE[kind]:
            assert list(results) == [event_a, event_b]
            assert len(stored.events) == 2
            continue
        stale = [r for r in results if isinstance(r, StaleSessionError)]
        won = [r for r in results if isinstance(r, Event)]
        assert len(stale) == 1, results
        assert len(won) == 1, results
        assert [e.id for e in stored.events] == [won[0].id]
        assert stored.state == {"winner": "a" if won[0] is event_a else "b"}


async def test_concurrent_appends_from_two_loaded_copies(backend: Backend) -> None:
    """Two copies of one session append concurrently: exactly one wins, one is stale."""
    await _race(backend.service, backend.service, backend.kind)


@pytest.mark.parametrize("backend", PERSISTENT, indirect=True)
async def test_concurrent_appends_across_two_service_instances(backend: Backend) -> None:
    """As above, with each copy on its own service instance (as two processes would be).

    Only the services with shared storage take part: two InMemorySessionService instances
    share nothing to race on.
    """
    async with backend.peer() as peer:
        await _race(backend.service, peer, backend.kind)


# ---- our hot path ---------------------------------------------------------------------------


async def test_postgres_service_validates_each_event_once(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Append validates no Event; get validates each stored event exactly once.

    Every Event pydantic builds by validation runs ``model_post_init``; counting those
    calls counts validations (Session(events=[...]) would add one per event if pydantic
    re-validated instances).
    """
    assert Session.model_config.get("revalidate_instances", "never") == "never"
    events = [make_event(BASE_TS + i) for i in range(5)]
    validations = 0
    original = Event.model_post_init

    def counting(self: Event, context: Any, /) -> None:
        nonlocal validations
        validations += 1
        original(self, context)

    async with PostgresSessionService(db, pool_size=2) as service:
        session = await service.create_session(app_name=APP, user_id=USER, session_id="s")
        monkeypatch.setattr(Event, "model_post_init", counting)
        make_event()
        assert validations == 1  # the counter sees a validation
        validations = 0
        for event in events:
            await service.append_event(session, event)
        assert validations == 0
        got = await load(service, "s")
        assert validations == len(events)
        assert got.events == events
        validations = 0
        await service.list_sessions(app_name=APP)
        await load(service, "s", config=GetSessionConfig(num_recent_events=2))
        assert validations == 2


async def test_a_closed_service_refuses_calls_instead_of_reopening(db: str) -> None:
    """After close(), calls raise StorageError (not retryable): no pool is silently reopened."""
    service = PostgresSessionService(db, min_size=0)
    await service.create_session(app_name=APP, user_id=USER, session_id="s")
    await service.close()
    with pytest.raises(StorageError, match="closed") as raised:
        await service.get_session(app_name=APP, user_id=USER, session_id="s")
    assert not raised.value.retryable
    assert service.store is None
