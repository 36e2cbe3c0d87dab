"""Hostile and malformed input to every public method: stored intact, or a clear error.

Every rejection is an :class:`InvalidArgumentError` (a ``ValueError``) naming the argument,
raised before any SQL, with the four tables unchanged; "not found" and "stale" keep their own
classes. The README's Guarantees section has the table of input -> outcome -> test.
"""

from __future__ import annotations

import base64
import datetime
import decimal
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pydantic
import pytest
from google.adk.events.event import Event as AdkEvent
from google.adk.events.event_actions import EventActions as AdkEventActions
from google.adk.sessions.base_session_service import GetSessionConfig
from google.genai import types

from adk_pg import (
    Event,
    EventActions,
    InvalidArgumentError,
    SessionNotFoundError,
    SessionStore,
    StaleSessionError,
    StorageError,
)
from adk_pg.adk import PostgresSessionService
from adk_pg.db.pool import create_pool
from adk_pg.sessions.rows import SessionRows

APP = "app"
USER = "user"
SID = "s"
TEN_MB = 10 * 1024 * 1024


def an_event(text: str = "hi", **fields: Any) -> Event:
    fields.setdefault("timestamp", time.time())
    return Event(
        author="user",
        content=types.Content(role="user", parts=[types.Part(text=text)]),
        **fields,
    )


async def snapshot(admin: asyncpg.Connection) -> dict[str, list[dict[str, Any]]]:
    """All four tables, to prove that a rejected call wrote nothing."""
    out = {}
    for name in ("sessions", "events", "app_states", "user_states"):
        rows = await admin.fetch(f"SELECT * FROM adk.{name} ORDER BY 1, 2")
        out[name] = [dict(r) for r in rows]
    return out


@pytest.fixture
async def seeded(store: SessionStore, admin: asyncpg.Connection) -> dict[str, Any]:
    """One session with an event and app/user state; returns the snapshot of the tables."""
    await store.create_session(
        app_name=APP, user_id=USER, session_id=SID, state={"k": 1, "app:a": 1, "user:u": 1}
    )
    await store.append_event(
        app_name=APP, user_id=USER, session_id=SID, event=an_event(), expected_revision=0
    )
    return await snapshot(admin)


@pytest.fixture(scope="module")
async def unused_store(dsn: str) -> AsyncIterator[SessionStore]:
    """A store for arguments rejected before any SQL: no clean tables needed."""
    pool = await create_pool(dsn, min_size=0, max_size=1)
    yield SessionStore(pool)
    await pool.close()


# ---- ids -----------------------------------------------------------------------------------

BAD_IDS: list[tuple[Any, str]] = [
    ("", "must not be empty"),
    ("   ", "must not be empty"),
    ("x" * 129, "129 characters"),
    (5, "must be a string"),
    (None, "must be a string"),
    (b"bytes", "must be a string"),
    ("a\x00b", "NUL"),
]
ID_PARAMS = {
    "create_session": ("app_name", "user_id", "session_id"),
    "get_session": ("app_name", "user_id", "session_id"),
    "list_sessions": ("app_name", "user_id"),
    "delete_session": ("app_name", "user_id", "session_id"),
    "append_event": ("app_name", "user_id", "session_id"),
    "get_user_state": ("app_name", "user_id"),
    "get_app_state": ("app_name",),
}
# Not errors: create_session makes a fresh id for a missing or blank one (as ADK's in-memory
# service does), and list_sessions(user_id=None) lists every user.
VALID_THERE = {
    ("create_session", "session_id", None),
    ("create_session", "session_id", ""),
    ("create_session", "session_id", "   "),
    ("list_sessions", "user_id", None),
}


def call_kwargs(method: str) -> dict[str, Any]:
    """Valid arguments for ``method`` (one id is then replaced by a bad one)."""
    kwargs: dict[str, Any] = {
        p: {"app_name": APP, "user_id": USER}.get(p, SID) for p in ID_PARAMS[method]
    }
    if method == "append_event":
        kwargs.update(event=an_event(), expected_revision=1)
    return kwargs


@pytest.mark.parametrize("method", list(ID_PARAMS))
async def test_bad_ids_are_rejected_naming_the_argument(
    store: SessionStore, admin: asyncpg.Connection, seeded: dict[str, Any], method: str
) -> None:
    # One test per method, all its id arguments x all the bad values (a clean database per
    # case would cost a TRUNCATE each); each failure names its case.
    for param in ID_PARAMS[method]:
        for value, message in BAD_IDS:
            if (method, param, value) in VALID_THERE:
                continue
            case = f"{method}({param}={value!r:.20})"
            try:
                with pytest.raises(InvalidArgumentError) as info:
                    await getattr(store, method)(**{**call_kwargs(method), param: value})
            except pytest.fail.Exception:
                pytest.fail(f"{case} was accepted")
            assert re.match(f"{param} .*{message}", str(info.value)), (case, str(info.value))
    assert await snapshot(admin) == seeded


@pytest.mark.parametrize("event_id", ["   ", "e" * 129, "e\x00"])
async def test_bad_event_ids_are_rejected(
    store: SessionStore, admin: asyncpg.Connection, seeded: dict[str, Any], event_id: str
) -> None:
    # A NUL is caught while the event is serialised, before the id check: same outcome.
    with pytest.raises(InvalidArgumentError, match=r"event\.id|event holds a NUL"):
        await store.append_event(
            app_name=APP,
            user_id=USER,
            session_id=SID,
            event=an_event(id=event_id),
            expected_revision=1,
        )
    assert await snapshot(admin) == seeded


@pytest.mark.parametrize("param", ["app_name", "user_id", "session_id"])
async def test_ids_with_lone_surrogates_are_invalid_arguments(
    store: SessionStore, admin: asyncpg.Connection, seeded: dict[str, Any], param: str
) -> None:
    with pytest.raises(InvalidArgumentError, match=param):
        await store.get_session(**{**call_kwargs("get_session"), param: "bad \udc80"})
    with pytest.raises(InvalidArgumentError, match=param):
        await store.create_session(**{**call_kwargs("create_session"), param: "bad \udc80"})
    assert await snapshot(admin) == seeded


async def test_longest_ids_and_any_characters_are_stored_intact(store: SessionStore) -> None:
    for value in ["x" * 128, "é" * 128, "\U0001f600" * 128, " lead and trail ", "a/b\\c%_*"]:
        created = await store.create_session(app_name=value, user_id=value, session_id=value)
        got = await store.get_session(app_name=value, user_id=value, session_id=created.id)
        assert got is not None
        assert (got.app_name, got.user_id) == (value, value)
        # Session ids are stripped (as ADK's in-memory service does); app and user ids not.
        assert got.id == value.strip()


async def test_sql_in_ids_and_keys_is_stored_literally(
    store: SessionStore, admin: asyncpg.Connection
) -> None:
    nasty = ["x'); DROP TABLE adk.sessions; --", "$1", "%s", '"; SELECT 1; --', "\\'"]
    for value in nasty:
        await store.create_session(
            app_name=value, user_id=value, session_id=value, state={value: value}
        )
        await store.append_event(
            app_name=value,
            user_id=value,
            session_id=value,
            event=an_event(value, id=value, actions=EventActions(state_delta={f"app:{value}": 1})),
            expected_revision=0,
        )
        got = await store.get_session(app_name=value, user_id=value, session_id=value)
        assert got is not None
        assert got.state == {value: value, f"app:{value}": 1}
        assert [e.id for e in got.events] == [value]
        assert [s.id for s in (await store.list_sessions(app_name=value)).sessions] == [value]
    assert await admin.fetchval("SELECT count(*) FROM adk.sessions") == len(nasty)


# ---- state ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "message"),
    [
        (["not", "a", "dict"], "state must be a dict"),
        ("text", "state must be a dict"),
        ({1: "int key"}, "keys must be strings"),
        ({"k": "nul \x00 inside"}, "NUL"),
        ({"nul \x00 key": 1}, "NUL"),
        ({"k": "lone \udcc3 surrogate"}, "surrogate"),
        ({"app:k": {"deep": ["nul \x00"]}}, "NUL"),
    ],
)
async def test_state_that_cannot_be_stored_is_rejected(
    store: SessionStore,
    admin: asyncpg.Connection,
    seeded: dict[str, Any],
    state: Any,
    message: str,
) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        await store.create_session(app_name=APP, user_id=USER, state=state)
    if isinstance(state, dict) and all(isinstance(k, str) for k in state):
        with pytest.raises(InvalidArgumentError, match=message):
            await store.append_event(
                app_name=APP,
                user_id=USER,
                session_id=SID,
                event=an_event(actions=EventActions(state_delta=state)),
                expected_revision=1,
            )
    assert await snapshot(admin) == seeded


async def test_state_keys_with_lone_surrogates_are_rejected_at_create(
    store: SessionStore, admin: asyncpg.Connection, seeded: dict[str, Any]
) -> None:
    with pytest.raises(InvalidArgumentError, match="surrogate"):
        await store.create_session(app_name=APP, user_id=USER, state={"lone \ud800 key": 1})
    assert await snapshot(admin) == seeded


async def test_event_state_keys_with_lone_surrogates_are_rejected(
    store: SessionStore, admin: asyncpg.Connection, seeded: dict[str, Any]
) -> None:
    with pytest.raises(InvalidArgumentError, match="surrogate"):
        await store.append_event(
            app_name=APP,
            user_id=USER,
            session_id=SID,
            event=an_event(actions=EventActions(state_delta={"lone \ud800 key": 1})),
            expected_revision=1,
        )
    assert await snapshot(admin) == seeded


async def test_non_json_values_are_stored_in_their_json_or_string_form(
    store: SessionStore, caplog: pytest.LogCaptureFixture
) -> None:
    class Opaque:
        def __str__(self) -> str:
            return "opaque-thing"

    when = datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    ident = uuid.UUID(int=7)
    with caplog.at_level(logging.WARNING, logger="adk_pg"):
        s = await store.create_session(
            app_name=APP,
            user_id=USER,
            state={
                "set": {3, 1, 2},
                "tuple": (1, "a"),
                "when": when,
                "bytes": b"xy",
                "decimal": decimal.Decimal("1.5"),
                "uuid": ident,
                "opaque": Opaque(),
            },
        )
    got = await store.get_session(app_name=APP, user_id=USER, session_id=s.id)
    assert got is not None
    assert got.state == {
        "set": [1, 2, 3],
        "tuple": [1, "a"],
        "when": "2024-01-02T03:04:05Z",
        "bytes": "xy",
        "decimal": "1.5",
        "uuid": str(ident),
        "opaque": "opaque-thing",
    }
    # The one value with no JSON form is named in a warning (no payload is logged).
    assert "not JSON" in caplog.text
    assert "opaque-thing" not in caplog.text


async def test_nan_and_infinity_in_state_are_stored_as_null_or_rejected_clearly(
    store: SessionStore, admin: asyncpg.Connection, seeded: dict[str, Any]
) -> None:
    state = {"nan": float("nan"), "inf": float("inf")}
    try:
        s = await store.create_session(app_name=APP, user_id=USER, state=state)
    except InvalidArgumentError as exc:
        rejected: InvalidArgumentError | None = exc
    else:
        rejected = None
    if rejected is not None:
        assert "NaN" in str(rejected) or "Infinity" in str(rejected)
        assert await snapshot(admin) == seeded
    else:
        got = await store.get_session(app_name=APP, user_id=USER, session_id=s.id)
        assert got is not None
        assert (got.state["nan"], got.state["inf"]) == (None, None)


async def test_nan_in_an_event_is_stored_as_null(store: SessionStore, seeded: Any) -> None:
    # Events are pydantic models, whose JSON holds NaN and Infinity as null.
    delta = {"nan": float("nan"), "app:inf": float("-inf")}
    await store.append_event(
        app_name=APP,
        user_id=USER,
        session_id=SID,
        event=an_event(actions=EventActions(state_delta=delta), avg_logprobs=float("nan")),
        expected_revision=1,
    )
    got = await store.get_session(app_name=APP, user_id=USER, session_id=SID)
    assert got is not None
    assert got.state["nan"] is None
    assert got.state["app:inf"] is None
    assert got.events[-1].avg_logprobs is None


def nested(depth: int) -> Any:
    value: Any = "leaf"
    for i in range(depth):
        value = {"d": value} if i % 2 else [value]
    return value


async def test_state_nested_150_levels_is_stored_and_read_back(store: SessionStore) -> None:
    s = await store.create_session(app_name=APP, user_id=USER, state={"deep": nested(150)})
    await store.append_event(
        app_name=APP,
        user_id=USER,
        session_id=s.id,
        event=an_event(actions=EventActions(state_delta={"user:deep": nested(150)})),
        expected_revision=0,
    )
    got = await store.get_session(app_name=APP, user_id=USER, session_id=s.id)
    assert got is not None
    assert got.state == {"deep": nested(150), "user:deep": nested(150)}
    listed = await store.list_sessions(app_name=APP, user_id=USER)
    assert listed.sessions[0].state == got.state


@pytest.mark.parametrize("depth", [210, 253])
async def test_state_too_deep_to_read_back_is_refused_at_write(
    store: SessionStore, admin: asyncpg.Connection, seeded: dict[str, Any], depth: int
) -> None:
    for attempt in ("create", "append"):
        try:
            if attempt == "create":
                await store.create_session(
                    app_name=APP, user_id=USER, session_id="deep", state={"d": nested(depth)}
                )
            else:
                await store.append_event(
                    app_name=APP,
                    user_id=USER,
                    session_id=SID,
                    event=an_event(actions=EventActions(state_delta={"d": nested(depth)})),
                    expected_revision=1,
                )
        except InvalidArgumentError:
            assert await snapshot(admin) == seeded
        else:  # stored: then it must also read back
            for session_id in ("deep", SID):
                await store.get_session(app_name=APP, user_id=USER, session_id=session_id)
            await store.list_sessions(app_name=APP)


@pytest.mark.parametrize("depth", [255, 10_000])
async def test_state_nested_deeper_is_rejected_before_sql(
    store: SessionStore, admin: asyncpg.Connection, seeded: dict[str, Any], depth: int
) -> None:
    # pydantic-core stops serialising at 255 levels (PostgreSQL's jsonb would take ~10,000
    # and more, up to max_stack_depth): an InvalidArgumentError, nothing written.
    with pytest.raises(InvalidArgumentError):
        await store.create_session(app_name=APP, user_id=USER, state={"deep": nested(depth)})
    with pytest.raises(InvalidArgumentError):
        await store.append_event(
            app_name=APP,
            user_id=USER,
            session_id=SID,
            event=an_event(actions=EventActions(state_delta={"deep": nested(depth)})),
            expected_revision=1,
        )
    assert await snapshot(admin) == seeded


async def test_state_nested_too_deep_error_names_the_nesting(
    store: SessionStore, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        caplog.at_level(logging.WARNING, logger="adk_pg"),
        pytest.raises(InvalidArgumentError, match=r"nest|deep|depth"),
    ):
        await store.create_session(app_name=APP, user_id=USER, state={"deep": nested(300)})
    assert "not JSON" not in caplog.text


async def test_ten_megabyte_values_are_stored_intact(store: SessionStore) -> None:
    big = "x" * TEN_MB
    s = await store.create_session(app_name=APP, user_id=USER, state={"big": big})
    await store.append_event(
        app_name=APP,
        user_id=USER,
        session_id=s.id,
        event=an_event(big, actions=EventActions(state_delta={"user:b": "small"})),
        expected_revision=0,
    )
    got = await store.get_session(app_name=APP, user_id=USER, session_id=s.id)
    assert got is not None
    assert got.state == {"big": big, "user:b": "small"}
    content = got.events[0].content
    assert content is not None
    assert content.parts is not None
    assert content.parts[0].text == big


# ---- events and sessions -------------------------------------------------------------------


async def test_events_with_unknown_fields_keep_them(store: SessionStore, seeded: Any) -> None:
    # A field from a newer ADK survives the round trip (kept in adk.events.extra).
    newer = an_event(id="newer", brand_new_field={"a": [1, 2]}, another="x")
    await store.append_event(
        app_name=APP, user_id=USER, session_id=SID, event=newer, expected_revision=1
    )
    got = await store.get_session(app_name=APP, user_id=USER, session_id=SID)
    assert got is not None
    stored = got.events[-1]
    assert stored.model_extra == {"brand_new_field": {"a": [1, 2]}, "another": "x"}


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"id": "e", "author": "user"}, "adk_pg Event"),
        (AdkEvent(author="user"), "adk_pg Event"),
        (an_event("nul \x00 text"), "NUL"),
        (an_event("lone \ud800 text"), "surrogate"),
        (an_event(timestamp=float("nan")), "timestamp"),
        (an_event(timestamp=float("inf")), "timestamp"),
        (an_event(timestamp=1e12), "timestamp"),
    ],
    ids=["dict", "adk-event", "nul", "surrogate", "ts-nan", "ts-inf", "ts-year-33658"],
)
async def test_events_that_cannot_be_stored_are_rejected(
    store: SessionStore, admin: asyncpg.Connection, seeded: dict[str, Any], event: Any, message: str
) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        await store.append_event(
            app_name=APP, user_id=USER, session_id=SID, event=event, expected_revision=1
        )
    assert await snapshot(admin) == seeded


@pytest.mark.parametrize("revision", [-1, True, "1", 1.5])
async def test_bad_expected_revisions_are_rejected(
    store: SessionStore, admin: asyncpg.Connection, seeded: dict[str, Any], revision: Any
) -> None:
    with pytest.raises(InvalidArgumentError, match="expected_revision"):
        await store.append_event(
            app_name=APP, user_id=USER, session_id=SID, event=an_event(), expected_revision=revision
        )
    assert await snapshot(admin) == seeded


async def test_a_revision_from_the_future_is_stale(
    store: SessionStore, admin: asyncpg.Connection, seeded: dict[str, Any]
) -> None:
    with pytest.raises(StaleSessionError):
        await store.append_event(
            app_name=APP, user_id=USER, session_id=SID, event=an_event(), expected_revision=9
        )
    assert await snapshot(admin) == seeded


async def test_partial_events_are_not_stored(
    store: SessionStore, admin: asyncpg.Connection, seeded: dict[str, Any]
) -> None:
    result = await store.append_event(
        app_name=APP,
        user_id=USER,
        session_id=SID,
        event=an_event(partial=True),
        expected_revision=1,
    )
    assert result is None
    assert await snapshot(admin) == seeded


@pytest.mark.parametrize("target", ["other-app", "other-user", "never-created", "deleted"])
async def test_appending_to_a_session_that_is_not_there(
    store: SessionStore, admin: asyncpg.Connection, seeded: dict[str, Any], target: str
) -> None:
    ids = {"app_name": APP, "user_id": USER, "session_id": SID}
    if target == "other-app":
        ids["app_name"] = "other"
    elif target == "other-user":
        ids["user_id"] = "other"
    elif target == "never-created":
        ids["session_id"] = "never"
    else:
        await store.create_session(app_name=APP, user_id=USER, session_id="gone")
        await store.delete_session(app_name=APP, user_id=USER, session_id="gone")
        ids["session_id"] = "gone"
    with pytest.raises(SessionNotFoundError, match=ids["session_id"]):
        await store.append_event(**ids, event=an_event(), expected_revision=None)
    assert await snapshot(admin) == seeded


# ---- reads and pages -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"num_recent_events": -1}, "num_recent_events"),
        ({"num_recent_events": True}, "num_recent_events"),
        ({"num_recent_events": "3"}, "num_recent_events"),
        ({"num_recent_events": 1.5}, "num_recent_events"),
        ({"after_timestamp": float("nan")}, "after_timestamp"),
        ({"after_timestamp": float("inf")}, "after_timestamp"),
        ({"after_timestamp": "yesterday"}, "after_timestamp"),
        ({"after_timestamp": True}, "after_timestamp"),
    ],
)
async def test_bad_get_session_filters_are_rejected(
    unused_store: SessionStore, config: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        await unused_store.get_session(app_name=APP, user_id=USER, session_id=SID, **config)


def token_of(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "token",
    [
        "garbage!",
        "",
        "x" * 5000,
        token_of(b"[1, 2]"),
        token_of(b'["a", "b", "c"]'),
        token_of(b"{}"),
        token_of(b'[1e400, "u", "s"]'),
        token_of(b'[100000000000000000000000000, "u", "s"]'),
        token_of(b'[1, "\\ud800", "s"]'),
        5,
    ],
)
async def test_malformed_page_tokens_are_rejected(unused_store: SessionStore, token: Any) -> None:
    with pytest.raises(InvalidArgumentError, match="page_token is malformed"):
        await unused_store.list_sessions(app_name=APP, page_size=10, page_token=token)


@pytest.mark.parametrize("inner", ['"u\\u0000"', '"nul \\u0000 too"'])
async def test_page_tokens_with_impossible_ids_are_malformed(
    unused_store: SessionStore, inner: str
) -> None:
    token = token_of(f"[1, {inner}, {inner}]".encode())
    with pytest.raises(InvalidArgumentError, match="page_token is malformed"):
        await unused_store.list_sessions(app_name=APP, page_size=10, page_token=token)


@pytest.mark.parametrize("size", [0, -1, 10_001, True, "5", 2.0])
async def test_bad_page_sizes_are_rejected(unused_store: SessionStore, size: Any) -> None:
    with pytest.raises(InvalidArgumentError, match="page_size"):
        await unused_store.list_sessions(app_name=APP, page_size=size)


# ---- where PostgresSessionService differs --------------------------------------------------


@pytest.fixture
async def service(pool: asyncpg.Pool) -> PostgresSessionService:
    return PostgresSessionService(pool=pool, migrate=False)


async def test_adk_service_rejects_the_same_bad_input(
    service: PostgresSessionService, admin: asyncpg.Connection
) -> None:
    with pytest.raises(InvalidArgumentError, match="user_id must not be empty"):
        await service.create_session(app_name=APP, user_id=" ")
    with pytest.raises(InvalidArgumentError, match="NUL"):
        await service.create_session(app_name=APP, user_id=USER, state={"k": "\x00"})
    with pytest.raises(InvalidArgumentError, match="app_name must be a string"):
        await service.get_session(app_name=None, user_id=USER, session_id=SID)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="session_id is 129"):
        await service.delete_session(app_name=APP, user_id=USER, session_id="s" * 129)
    # ADK's own config model refuses a negative count before we see it.
    with pytest.raises(pydantic.ValidationError, match="num_recent_events"):
        GetSessionConfig(num_recent_events=-1)
    assert (await snapshot(admin))["sessions"] == []


async def test_adk_service_drops_unknown_event_fields_as_adk_does(
    service: PostgresSessionService,
) -> None:
    # ADK's Event ignores unknown fields at construction (extra="ignore"): nothing to store.
    event = AdkEvent.model_validate({"author": "user", "brand_new_field": 1})
    assert "brand_new_field" not in event.model_dump()
    session = await service.create_session(app_name=APP, user_id=USER)
    await service.append_event(session, event)
    got = await service.get_session(app_name=APP, user_id=USER, session_id=session.id)
    assert got is not None
    assert [e.id for e in got.events] == [event.id]


@pytest.mark.parametrize("target", ["other-app", "other-user", "never-created", "deleted"])
async def test_adk_service_append_with_a_wrong_session_object(
    service: PostgresSessionService, admin: asyncpg.Connection, target: str
) -> None:
    session = await service.create_session(app_name=APP, user_id=USER, session_id=SID)
    if target == "other-app":
        session.app_name = "other"
    elif target == "other-user":
        session.user_id = "other"
    elif target == "never-created":
        session.id = "never"
    else:
        await service.delete_session(app_name=APP, user_id=USER, session_id=SID)
    before = await snapshot(admin)
    event = AdkEvent(author="user", actions=AdkEventActions(state_delta={"k": 1}))
    # ADK's SessionNotFoundError (and ours): existing `except` clauses keep working.
    with pytest.raises(SessionNotFoundError):
        await service.append_event(session, event)
    assert await snapshot(admin) == before


async def test_adk_service_refuses_a_session_marker_it_did_not_write(
    service: PostgresSessionService, admin: asyncpg.Connection
) -> None:
    session = await service.create_session(app_name=APP, user_id=USER)
    session._storage_update_marker = "2024-01-01T00:00:00"  # e.g. DatabaseSessionService's
    before = await snapshot(admin)
    with pytest.raises(InvalidArgumentError, match="storage marker"):
        await service.append_event(session, AdkEvent(author="user"))
    assert await snapshot(admin) == before


async def test_appending_malformed_event_json_writes_nothing(
    store: SessionStore, admin: asyncpg.Connection, seeded: dict[str, Any]
) -> None:
    # The adapters' lower level takes JSON it trusts; garbage is refused by the server, whole.
    rows = SessionRows(store.pool)

    def append(raw: str) -> Any:
        return rows.append(
            app_name=APP,
            user_id=USER,
            session_id=SID,
            event_id="x",
            event_timestamp=1.0,
            event_json=raw,
            state_delta={"k": 1},
            expected_revision=None,
        )

    for raw in ["not json", "[]", '{"actions": []}']:
        with pytest.raises(StorageError):
            await append(raw)
    assert await snapshot(admin) == seeded
