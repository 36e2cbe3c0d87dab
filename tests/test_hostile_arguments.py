"""Every public call, every parameter, every wrong kind of value: ``InvalidArgumentError``.

Not an AttributeError, a TypeError, an OverflowError or a driver error from the server: a
caller who passes the wrong thing learns which argument, and nothing is written. The calls
are listed from the signatures, so a new method or parameter is covered as it appears.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import pytest
from google.adk.events.event import Event as AdkEvent
from google.adk.sessions.base_session_service import GetSessionConfig
from google.adk.sessions.session import Session as AdkSession

from adk_pg import Event, InvalidArgumentError, SessionStore
from adk_pg.adk import PostgresSessionService

APP, USER, SID = "app", "user", "s"


class Unprintable:
    """An object whose str() and repr() fail, as a hostile argument might."""

    def __str__(self) -> str:
        raise RuntimeError("no str")

    __repr__ = __str__


# Values no parameter of these calls accepts (a few are valid for some: skipped below).
HOSTILE: list[Any] = [
    None,
    True,
    -1,
    2**70,
    -(2**70),
    1.5,
    math.nan,
    math.inf,
    "",
    " ",
    "x" * 129,
    " " + "x" * 128 + " ",
    "nul\x00",
    "lone \ud800",
    b"bytes",
    ["a"],
    {"a": 1},
    object(),
    Unprintable(),
]


def is_id(value: Any, *, stripped: bool = False) -> bool:
    """A usable id: a non-blank string of at most 128 characters (once stripped, for a
    session id), without NUL or lone surrogates."""
    if not isinstance(value, str) or not value.strip():
        return False
    length = len(value.strip() if stripped else value)
    return length <= 128 and "\x00" not in value and "\ud800" not in value


# What each parameter accepts besides its usual value, by name (None where it is optional).
ACCEPTS: dict[str, Callable[[Any], bool]] = {
    "app_name": is_id,
    "user_id": is_id,
    "session_id": lambda v: is_id(v, stripped=True),
    "state": lambda v: v is None or (isinstance(v, dict) and all(isinstance(k, str) for k in v)),
    "num_recent_events": lambda v: v is None or (type(v) is int and v >= 0),
    "after_timestamp": lambda v: v is None or (type(v) in (int, float) and math.isfinite(v)),
    "page_size": lambda v: v is None or (type(v) is int and 1 <= v <= 10_000),
    "page_token": lambda v: v is None,
    "newest_first": lambda v: type(v) is bool,
    "expected_revision": lambda v: v is None or (type(v) is int and 0 <= v < 2**63),
    "config": lambda v: v is None,
    "new_session_id": lambda v: (
        v is None or (isinstance(v, str) and not v.strip()) or is_id(v, stripped=True)
    ),
    "up_to_event_id": lambda v: v is None or is_id(v),
    "state_delta": lambda v: isinstance(v, dict) and bool(v) and all(isinstance(k, str) for k in v),
    "author": lambda v: (
        isinstance(v, str) and bool(v.strip()) and "\x00" not in v and "\ud800" not in v
    ),
}


# Where one call accepts more than the parameter does elsewhere.
ACCEPTS_IN: dict[tuple[str, str], Callable[[Any], bool]] = {
    # A missing or blank id means "make one up", as ADK's services do.
    ("create_session", "session_id"): lambda v: (
        v is None or (isinstance(v, str) and (v.strip() == "" or ACCEPTS["session_id"](v)))
    ),
    # No user: every user of the app.
    ("list_sessions", "user_id"): lambda v: v is None or ACCEPTS["user_id"](v),
}


def valid_arguments(name: str, store_event: Event) -> dict[str, Any]:
    return {
        "app_name": APP,
        "user_id": USER,
        "session_id": SID,
        "state": {},
        "num_recent_events": None,
        "after_timestamp": None,
        "page_size": None,
        "page_token": None,
        "newest_first": False,
        "expected_revision": None,
        "event": store_event,
        "config": None,
        "new_session_id": None,
        "up_to_event_id": None,
        "state_delta": {"k": 1},
        "author": "system",
    }


def calls(target: object) -> list[tuple[str, Callable[..., Awaitable[Any]], list[str]]]:
    """Every public coroutine method and its keyword parameters."""
    found = []
    for name, method in inspect.getmembers(target, inspect.iscoroutinefunction):
        if name.startswith("_") or name in {"close", "flush", "connect"}:
            continue
        params = [
            p.name
            for p in inspect.signature(method).parameters.values()
            if p.kind is inspect.Parameter.KEYWORD_ONLY
        ]
        found.append((name, method, params))
    return found


async def check_every_argument(
    target: object, admin: asyncpg.Connection, store_event: Event
) -> int:
    checked = 0
    before = await admin.fetch("SELECT * FROM adk.sessions ORDER BY 1, 2, 3")
    for name, method, params in calls(target):
        for param in params:
            accepts = ACCEPTS_IN.get((name, param), ACCEPTS.get(param))
            for value in HOSTILE:
                if accepts is not None and accepts(value):
                    continue
                arguments = {p: valid_arguments(name, store_event)[p] for p in params}
                arguments[param] = value
                with pytest.raises(InvalidArgumentError, match=param.split("_")[0]):
                    await method(**arguments)
                checked += 1
    assert await admin.fetch("SELECT * FROM adk.sessions ORDER BY 1, 2, 3") == before
    return checked


async def test_every_store_call_refuses_every_wrong_argument(
    store: SessionStore, admin: asyncpg.Connection
) -> None:
    await store.create_session(app_name=APP, user_id=USER, session_id=SID)
    checked = await check_every_argument(store, admin, Event(author="user"))
    assert checked > 100


async def test_every_service_call_refuses_every_wrong_argument(
    pool: asyncpg.Pool, admin: asyncpg.Connection
) -> None:
    service = PostgresSessionService(pool=pool, migrate=False)
    session = await service.create_session(app_name=APP, user_id=USER, session_id=SID)
    checked = await check_every_argument(service, admin, Event(author="user"))
    assert checked > 50
    # append_event takes ADK's own objects, positionally.
    for wrong_session in HOSTILE:
        with pytest.raises(InvalidArgumentError, match="session"):
            await service.append_event(wrong_session, AdkEvent(author="user"))
    for wrong_event in [*HOSTILE, Event(author="user")]:
        with pytest.raises(InvalidArgumentError, match="event"):
            await service.append_event(session, wrong_event)
    wrong_configs: list[Any] = [5, "all", {"num_recent_events": 1}]
    for wrong_config in wrong_configs:
        with pytest.raises(InvalidArgumentError, match="config"):
            await service.get_session(
                app_name=APP, user_id=USER, session_id=SID, config=wrong_config
            )
    # Numbers ADK's own model lets through, far out of range: answered, not a server error.
    for config in [
        GetSessionConfig(after_timestamp=1e300),
        GetSessionConfig(num_recent_events=2**70),
    ]:
        got = await service.get_session(app_name=APP, user_id=USER, session_id=SID, config=config)
        assert got is not None


async def test_ids_are_the_same_to_every_call(store: SessionStore) -> None:
    # Padded to 129 characters, 127 once stripped: create stores the stripped id, and every
    # other call finds it by the same padded spelling.
    padded = " " + "x" * 127 + " "
    created = await store.create_session(app_name=APP, user_id=USER, session_id=padded)
    assert created.id == "x" * 127
    assert await store.get_session(app_name=APP, user_id=USER, session_id=padded) is not None
    await store.append_event(
        app_name=APP,
        user_id=USER,
        session_id=padded,
        event=Event(author="user"),
        expected_revision=0,
    )
    page = await store.list_events(app_name=APP, user_id=USER, session_id=padded)
    assert len(page.events) == 1
    await store.delete_session(app_name=APP, user_id=USER, session_id=padded)
    assert await store.get_session(app_name=APP, user_id=USER, session_id=padded) is None


async def test_a_refused_append_leaves_the_callers_session_and_event_unchanged(
    pool: asyncpg.Pool,
) -> None:
    service = PostgresSessionService(pool=pool, migrate=False)
    session = await service.create_session(app_name=APP, user_id=USER, session_id=SID)
    stale = await service.get_session(app_name=APP, user_id=USER, session_id=SID)
    assert stale is not None
    await service.append_event(session, AdkEvent(author="user"))  # stale is now behind
    for copy, event in [
        (stale, AdkEvent(author="user", actions={"state_delta": {"temp:t": 1, "k": 1}})),
        (session, AdkEvent(author="user", actions={"state_delta": {"temp:t": 1, "k": "\x00"}})),
    ]:
        before = (copy.model_copy(deep=True), copy._storage_update_marker)
        sent = event.model_copy(deep=True)
        with pytest.raises((ValueError, InvalidArgumentError)):
            await service.append_event(copy, event)
        assert (copy, copy._storage_update_marker) == before
        assert event == sent  # temp: keys still in its delta, nothing trimmed
    assert isinstance(session, AdkSession)
