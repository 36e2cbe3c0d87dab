"""adk-pg's session operations beyond ADK's interface: fork, state updates outside a turn,
paging from the ADK service; and ADK's own rewind, differentially against ADK's services."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, NamedTuple

import asyncpg
import pytest
from _adk_helpers import EXAMPLES_DIR
from _citus import CITUS_DSN
from _cli import run_main
from google.adk.artifacts import FileArtifactService, InMemoryArtifactService
from google.adk.artifacts.base_artifact_service import BaseArtifactService
from google.adk.errors.already_exists_error import AlreadyExistsError
from google.adk.events.event import Event as AdkEvent
from google.adk.events.event_actions import EventActions as AdkActions
from google.adk.runners import Runner
from google.adk.sessions import InMemorySessionService
from google.adk.sessions.base_session_service import BaseSessionService
from google.adk.sessions.database_session_service import DatabaseSessionService
from google.adk.sessions.session import Session as AdkSession
from google.adk.tools.base_tool import BaseTool
from google.adk.tools.tool_context import ToolContext
from google.genai import types

from adk_pg import Event, EventActions, InvalidArgumentError, SessionNotFoundError, SessionStore
from adk_pg.adk import (
    PostgresArtifactService,
    PostgresSessionService,
    SessionsPage,
    StaleSessionError,
)
from adk_pg.adk import SessionNotFoundError as AdkSessionNotFoundError
from adk_pg.db.dsn import with_database
from adk_pg.db.pool import create_pool
from adk_pg.schema.admin import throwaway_database

APP, USER = "ops", "ada"


def step(i: int, delta: dict[str, Any], text: str | None = None) -> Event:
    content = types.Content(role="user", parts=[types.Part(text=text or f"message {i}")])
    return Event(
        id=f"e{i:02d}",
        invocation_id=f"inv{i}",
        author="user",
        timestamp=1000.0 + i,
        content=content,
        actions=EventActions(state_delta=delta),
    )


DELTAS: list[dict[str, Any]] = [
    {"topic": "tea", "count": 1},
    {"count": 2, "app:total": 1, "user:lang": "en"},
    {"topic": None, "list": [1, 2]},
    {"count": 3, "temp:scratch": "x", "nested": {"a": {"b": 1}}},
    {"list": [3], "user:lang": "fr", "fresh": True},
]


async def history(store: SessionStore, session_id: str = "s") -> None:
    await store.create_session(
        app_name=APP, user_id=USER, session_id=session_id, state={"seed": 0, "count": 0}
    )
    for i, delta in enumerate(DELTAS):
        await store.append_event(
            app_name=APP,
            user_id=USER,
            session_id=session_id,
            event=step(i, delta),
            expected_revision=None,
        )


async def replayed_state(cut: int) -> dict[str, Any]:
    """The session-scope state after the first ``cut`` events, by ADK's in-memory service."""
    service = InMemorySessionService()
    session = await service.create_session(
        app_name=APP, user_id=USER, state={"seed": 0, "count": 0}
    )
    for i, delta in enumerate(DELTAS[:cut]):
        await service.append_event(
            session,
            AdkEvent(
                invocation_id=f"inv{i}", author="user", actions=AdkActions(state_delta=dict(delta))
            ),
        )
    return {k: v for k, v in session.state.items() if not k.startswith(("app:", "user:", "temp:"))}


def session_scope(state: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in state.items() if not k.startswith(("app:", "user:"))}


async def test_fork_copies_a_prefix_with_the_state_as_of_its_last_event(
    store: SessionStore, admin: asyncpg.Connection
) -> None:
    await history(store)
    source_before = await admin.fetch("SELECT * FROM adk.events WHERE session_id = 's' ORDER BY id")
    for cut in range(1, len(DELTAS) + 1):
        fork = await store.fork_session(
            app_name=APP, user_id=USER, session_id="s", up_to_event_id=f"e{cut - 1:02d}"
        )
        assert session_scope(fork.state) == await replayed_state(cut), cut
        assert fork.state["user:lang"] == "fr"  # user: and app: state are shared, not copied
        assert fork.events == []  # get_session reads them
        got = await store.get_session(app_name=APP, user_id=USER, session_id=fork.id)
        assert got is not None
        assert [e.id for e in got.events] == [f"e{i:02d}" for i in range(cut)]
        assert got.state == fork.state
        assert got.last_update_time == 1000.0 + cut - 1
        # The fork is a session of its own: it can be appended to at once.
        result = await store.append_event(
            app_name=APP, user_id=USER, session_id=fork.id, event=step(99, {"after": cut}),
            expected_revision=fork.revision,
        )  # fmt: skip
        assert result is not None
    whole = await store.fork_session(
        app_name=APP, user_id=USER, session_id="s", new_session_id="copy"
    )
    source = await store.get_session(app_name=APP, user_id=USER, session_id="s")
    assert source is not None
    assert whole.id == "copy"
    assert whole.state == source.state
    assert await admin.fetch("SELECT * FROM adk.events WHERE session_id = 's' ORDER BY id") == (
        source_before
    )
    copied = await admin.fetch(
        "SELECT id, invocation_id, author, branch, timestamp, content, actions, extra"
        " FROM adk.events WHERE session_id = ANY($1::text[]) ORDER BY session_id, id",
        ["s", "copy"],
    )
    half = len(copied) // 2
    assert [dict(r) for r in copied[:half]] == [dict(r) for r in copied[half:]]


async def test_fork_refusals_write_nothing(store: SessionStore, admin: asyncpg.Connection) -> None:
    await history(store)
    await store.create_session(app_name=APP, user_id=USER, session_id="taken")

    async def tables() -> list[Any]:
        return [
            await admin.fetch("SELECT * FROM adk.sessions ORDER BY id"),
            await admin.fetch("SELECT * FROM adk.events ORDER BY session_id, id"),
        ]

    before = await tables()
    with pytest.raises(SessionNotFoundError):
        await store.fork_session(app_name=APP, user_id=USER, session_id="nope")
    with pytest.raises(SessionNotFoundError):
        await store.fork_session(app_name=APP, user_id="bob", session_id="s")
    with pytest.raises(Exception, match="already exists") as taken:
        await store.fork_session(app_name=APP, user_id=USER, session_id="s", new_session_id="taken")
    assert type(taken.value).__name__ == "AlreadyExistsError"
    with pytest.raises(InvalidArgumentError, match="not an event of session"):
        await store.fork_session(app_name=APP, user_id=USER, session_id="s", up_to_event_id="x")
    with pytest.raises(InvalidArgumentError, match="new_session_id"):
        await store.fork_session(
            app_name=APP, user_id=USER, session_id="s", new_session_id="n" * 129
        )
    # A session from before initial state was recorded: only its newest event is known.
    await admin.execute("UPDATE adk.sessions SET initial_state = NULL WHERE id = 's'")
    before = await tables()
    with pytest.raises(InvalidArgumentError, match="forked there"):
        await store.fork_session(app_name=APP, user_id=USER, session_id="s", up_to_event_id="e01")
    assert await tables() == before
    at_head = await store.fork_session(
        app_name=APP, user_id=USER, session_id="s", up_to_event_id=f"e{len(DELTAS) - 1:02d}"
    )
    source = await store.get_session(app_name=APP, user_id=USER, session_id="s")
    assert source is not None
    assert at_head.state == source.state


async def test_fork_while_the_source_grows_is_a_consistent_prefix(
    store: SessionStore, pool: asyncpg.Pool
) -> None:
    await store.create_session(app_name=APP, user_id=USER, session_id="live", state={"n": 0})
    done = asyncio.Event()

    async def writer() -> None:
        for i in range(1, 120):
            await store.append_event(
                app_name=APP,
                user_id=USER,
                session_id="live",
                event=Event(id=f"w{i:03d}", author="w", timestamp=2000.0 + i,
                            actions=EventActions(state_delta={"n": i, f"k{i}": i})),
                expected_revision=None,
            )  # fmt: skip
        done.set()

    async def forker() -> list[str]:
        made = []
        while not done.is_set():
            fork = await store.fork_session(app_name=APP, user_id=USER, session_id="live")
            made.append(fork.id)
            await asyncio.sleep(0)
        return made

    _, forks = await asyncio.gather(writer(), forker())
    assert forks
    for fork_id in forks:
        fork = await store.get_session(app_name=APP, user_id=USER, session_id=fork_id)
        assert fork is not None
        count = len(fork.events)
        assert [e.id for e in fork.events] == [f"w{i:03d}" for i in range(1, count + 1)]
        assert fork.state["n"] == count  # the state of exactly that prefix
        assert sum(1 for k in fork.state if k.startswith("k")) == count


async def test_each_operation_is_one_statement(db: str) -> None:
    sent: list[str] = []

    def logger(record: Any) -> None:
        sent.append(record.query)

    async def log(conn: asyncpg.Connection) -> None:
        conn.add_query_logger(logger)

    pool = await create_pool(db, min_size=1, max_size=1, setup=log)
    try:
        store = SessionStore(pool)
        await history(store)
        service = PostgresSessionService(pool=pool)
        await service.get_user_state(app_name=APP, user_id=USER)  # first use checks the schema
        calls = [
            store.fork_session(app_name=APP, user_id=USER, session_id="s", up_to_event_id="e02"),
            store.update_session_state(
                app_name=APP, user_id=USER, session_id="s", state_delta={"x": 1}
            ),
            service.fork_session(app_name=APP, user_id=USER, session_id="s"),
            service.update_session_state(
                app_name=APP, user_id=USER, session_id="s", state_delta={"user:y": 2}
            ),
            service.list_sessions(app_name=APP, page_size=2),
            service.list_events(app_name=APP, user_id=USER, session_id="s", page_size=2),
        ]
        for call in calls:
            sent.clear()
            await call
            await asyncio.sleep(0)
            if CITUS_DSN and sent[0].startswith("BEGIN ISOLATION LEVEL REPEATABLE READ"):
                # On Citus a fork's statement runs in steps: one snapshot keeps them together.
                assert sent[-1] == "COMMIT;", sent
                sent = sent[1:-1]
            assert len(sent) == 1, sent
    finally:
        await pool.close()


async def test_update_session_state_appends_an_audit_event(
    store: SessionStore, admin: asyncpg.Connection
) -> None:
    session = await store.create_session(app_name=APP, user_id=USER, session_id="s", state={"a": 1})
    event = await store.update_session_state(
        app_name=APP,
        user_id=USER,
        session_id="s",
        state_delta={"a": 2, "b": [1], "app:flag": True, "user:tier": "gold"},
        author="admin-console",
    )
    got = await store.get_session(app_name=APP, user_id=USER, session_id="s")
    assert got is not None
    assert got.state == {"a": 2, "b": [1], "app:flag": True, "user:tier": "gold"}
    assert got.revision == session.revision + 1
    (stored,) = got.events
    assert (stored.id, stored.author) == (event.id, "admin-console")
    assert stored.actions.state_delta == {"a": 2, "b": [1], "app:flag": True, "user:tier": "gold"}
    assert stored.content is None
    assert await store.get_app_state(app_name=APP) == {"flag": True}
    # The copy loaded before is stale now; the update itself never is.
    with pytest.raises(Exception, match="modified in storage") as stale:
        await store.append_event(
            app_name=APP, user_id=USER, session_id="s", event=step(1, {}),
            expected_revision=session.revision,
        )  # fmt: skip
    assert type(stale.value).__name__ == "StaleSessionError"
    before = await admin.fetch("SELECT * FROM adk.sessions")
    refused: list[tuple[dict[str, Any], str]] = [
        ({}, "empty"),
        ({"temp:x": 1}, "temp:"),
        ({"a": b"\xff"}, "not UTF-8"),
        ({"a": "nul\x00"}, "NUL"),
    ]
    for delta, message in refused:
        with pytest.raises(InvalidArgumentError, match=message):
            await store.update_session_state(
                app_name=APP, user_id=USER, session_id="s", state_delta=delta
            )
    with pytest.raises(SessionNotFoundError):
        await store.update_session_state(
            app_name=APP, user_id=USER, session_id="nope", state_delta={"a": 1}
        )
    assert await admin.fetch("SELECT * FROM adk.sessions") == before


async def test_concurrent_state_updates_lose_nothing(store: SessionStore) -> None:
    await store.create_session(app_name=APP, user_id=USER, session_id="s")
    await asyncio.gather(
        *(
            store.update_session_state(
                app_name=APP, user_id=USER, session_id="s", state_delta={f"k{i}": i}
            )
            for i in range(40)
        )
    )
    got = await store.get_session(app_name=APP, user_id=USER, session_id="s")
    assert got is not None
    assert got.state == {f"k{i}": i for i in range(40)}
    assert len(got.events) == 40
    assert got.revision == 40


async def test_the_service_pages_and_its_operations_speak_adk(pool: asyncpg.Pool) -> None:
    service = PostgresSessionService(pool=pool)
    for i in range(5):
        await service.create_session(
            app_name=APP, user_id=USER if i % 2 else "bob", session_id=f"s{i}"
        )
    everything = await service.list_sessions(app_name=APP)
    assert isinstance(everything, SessionsPage)
    assert everything.next_page_token is None
    assert sorted(s.id for s in everything.sessions) == [f"s{i}" for i in range(5)]
    seen: list[str] = []
    token = None
    while True:
        page = await service.list_sessions(app_name=APP, page_size=2, page_token=token)
        seen += [s.id for s in page.sessions]
        token = page.next_page_token
        if token is None:
            break
    assert sorted(seen) == [f"s{i}" for i in range(5)]
    mine = await service.list_sessions(app_name=APP, user_id=USER, page_size=1)
    assert mine.next_page_token is not None
    with pytest.raises(InvalidArgumentError, match="token"):
        await service.list_sessions(
            app_name=APP, user_id="bob", page_size=1, page_token=mine.next_page_token
        )
    session = await service.get_session(app_name=APP, user_id=USER, session_id="s1")
    assert session is not None
    for i in range(5):
        await service.append_event(
            session, AdkEvent(invocation_id=f"i{i}", author="user", timestamp=10.0 + i)
        )
    ids: list[str] = []
    token = None
    while True:
        events = await service.list_events(
            app_name=APP, user_id=USER, session_id="s1", page_size=2, page_token=token,
            newest_first=True,
        )  # fmt: skip
        assert all(isinstance(e, AdkEvent) for e in events.events)
        ids += [e.id for e in events.events]
        token = events.next_page_token
        if token is None:
            break
    assert ids == [e.id for e in reversed(session.events)]
    with pytest.raises(AdkSessionNotFoundError):
        await service.list_events(app_name=APP, user_id=USER, session_id="nope")
    fork = await service.fork_session(app_name=APP, user_id=USER, session_id="s1")
    assert isinstance(fork, AdkSession)
    with pytest.raises(AlreadyExistsError):
        await service.fork_session(
            app_name=APP, user_id=USER, session_id="s1", new_session_id=fork.id
        )
    with pytest.raises(AdkSessionNotFoundError):
        await service.fork_session(app_name=APP, user_id=USER, session_id="nope")
    update = await service.update_session_state(
        app_name=APP, user_id=USER, session_id=fork.id, state_delta={"done": True}
    )
    assert isinstance(update, AdkEvent)
    with pytest.raises(StaleSessionError):  # the fork object predates the update
        await service.append_event(fork, AdkEvent(invocation_id="late", author="user"))
    with pytest.raises(AdkSessionNotFoundError):
        await service.update_session_state(
            app_name=APP, user_id=USER, session_id="nope", state_delta={"a": 1}
        )


async def test_cli_forks_a_session(store: SessionStore, db: str) -> None:
    await history(store)
    made = await run_main("sessions", "fork", APP, USER, "s", "--new-id", "cli-copy",
                          "--up-to", "e01", "--dsn", db, "--json")  # fmt: skip
    assert made.code == 0, made
    report = json.loads(made.out)
    assert (report["id"], report["events"]) == ("cli-copy", 2)
    assert report["state"]["count"] == 2
    again = await run_main("sessions", "fork", APP, USER, "s", "--new-id", "cli-copy",
                           "--dsn", db)  # fmt: skip
    assert again.code == 1
    assert "already exists" in again.err
    missing = await run_main("sessions", "fork", APP, USER, "nope", "--dsn", db)
    assert missing.code == 1
    bad = await run_main("sessions", "fork", APP, USER, "s", "--up-to", "zz", "--dsn", db)
    assert bad.code == 2


# ---- rewind: ADK's Runner.rewind_async on adk-pg, against ADK's own services -------------

Part = types.Part
PNG = bytes(range(256))
LATE = Part.from_bytes(data=b"\x00late", mime_type="application/octet-stream")
NOTES = [Part(text="Ada ☃"), Part(text="Ada ☃\ntea \x00"), Part(text="Bob")]


def png(tail: bytes) -> types.Part:
    return Part(inline_data=types.Blob(mime_type="image/png", data=PNG + tail))


def profile(name: str) -> types.Part:
    return Part.from_bytes(data=json.dumps({"name": name}).encode(), mime_type="application/json")


# What each turn saves (keyed by the user's words): notes.txt gets a version in turns 1-3,
# chart.png and late.bin appear only after the rewind point, user: artifacts are not rewound.
TURN_ARTIFACTS: dict[str, dict[str, types.Part]] = {
    "my name is Ada": {"notes.txt": NOTES[0], "user:profile.json": profile("Ada")},
    "I like tea": {"notes.txt": NOTES[1]},
    "my name is Bob": {
        "notes.txt": NOTES[2],
        "chart.png": png(b"3"),
        "user:profile.json": profile("Bob"),
    },
    "I like coffee": {"chart.png": png(b"4"), "late.bin": LATE},
    "what do you remember?": {"chart.png": png(b"5")},
}


async def save_turn_artifacts(
    tool: BaseTool, args: dict[str, Any], tool_context: ToolContext, response: dict[str, Any]
) -> dict[str, Any] | None:
    """After the agent's tool: save this turn's artifacts (recorded in the event's delta)."""
    content = tool_context.user_content
    text = "".join(p.text or "" for p in content.parts or []) if content else ""
    for filename, part in TURN_ARTIFACTS[text].items():
        await tool_context.save_artifact(filename, part)
    return None


# Per session-visible name: its versions, each version loaded, and the latest loaded.
Artifacts = dict[str, tuple[list[int], list[types.Part | None], types.Part | None]]


class Rewound(NamedTuple):
    """What one service pair holds after the script."""

    state: dict[str, Any]
    shape: list[Any]
    user_state: dict[str, Any]
    after_rewind: Artifacts
    at_end: Artifacts
    user_keys: list[str]


async def artifacts_of(service: BaseArtifactService, session_id: str) -> Artifacts:
    scope: dict[str, Any] = {"app_name": "demo_agent", "user_id": USER, "session_id": session_id}
    found: Artifacts = {}
    for name in await service.list_artifact_keys(**scope):
        versions = await service.list_versions(**scope, filename=name)
        loaded = [await service.load_artifact(**scope, filename=name, version=v) for v in versions]
        found[name] = versions, loaded, await service.load_artifact(**scope, filename=name)
    return found


@pytest.fixture
async def reference(server_dsn: str) -> AsyncIterator[DatabaseSessionService]:
    async with throwaway_database(server_dsn, "adk_pg_rewind_ref") as dsn:
        url = with_database(dsn, dsn.rpartition("/")[2], scheme="postgresql+asyncpg")
        async with DatabaseSessionService(url) as service:
            yield service


async def rewound(service: BaseSessionService, artifacts: BaseArtifactService) -> Rewound:
    """Four turns, a rewind to before the third, one more turn: state, history, user state,
    and the session's artifacts after the rewind and at the end."""
    sys.path.insert(0, str(EXAMPLES_DIR))
    from demo_agent.agent import build_agent
    from local_model import LocalDemoModel

    agent = build_agent(LocalDemoModel())
    agent.after_tool_callback = save_turn_artifacts
    runner = Runner(
        app_name="demo_agent", agent=agent, session_service=service, artifact_service=artifacts
    )
    session = await service.create_session(app_name="demo_agent", user_id=USER, state={"start": 1})

    async def turn(text: str) -> None:
        message = types.Content(role="user", parts=[types.Part(text=text)])
        async for _ in runner.run_async(user_id=USER, session_id=session.id, new_message=message):
            pass

    for text in ["my name is Ada", "I like tea", "my name is Bob", "I like coffee"]:
        await turn(text)
    loaded = await service.get_session(app_name="demo_agent", user_id=USER, session_id=session.id)
    assert loaded is not None
    third = [e.invocation_id for e in loaded.events if e.author == "user"][2]
    await runner.rewind_async(
        user_id=USER, session_id=session.id, rewind_before_invocation_id=third
    )
    after_rewind = await artifacts_of(artifacts, session.id)
    await turn("what do you remember?")
    final = await service.get_session(app_name="demo_agent", user_id=USER, session_id=session.id)
    assert final is not None
    shape = [
        (
            e.author,
            [p.text or (p.function_call and p.function_call.name) for p in (e.content.parts or [])]
            if e.content
            else None,
            e.actions.state_delta,
            e.actions.artifact_delta,
            e.actions.rewind_before_invocation_id is not None,
        )
        for e in final.events
    ]
    user_state = await service.get_user_state(app_name="demo_agent", user_id=USER)
    user_keys = await artifacts.list_artifact_keys(app_name="demo_agent", user_id=USER)
    return Rewound(
        final.state,
        shape,
        user_state,
        after_rewind,
        await artifacts_of(artifacts, session.id),
        user_keys,
    )


async def test_rewind_gives_what_adks_services_give(
    pool: asyncpg.Pool, reference: DatabaseSessionService, tmp_path: Path
) -> None:
    ours = await rewound(PostgresSessionService(pool=pool), PostgresArtifactService(pool=pool))
    in_memory = await rewound(InMemorySessionService(), InMemoryArtifactService())
    database = await rewound(reference, FileArtifactService(tmp_path / "artifacts"))
    # Compared whole, with nothing normalised: the script avoids the documented differences
    # (test_difference_* in test_artifacts_adk.py: blobs all have a MIME type, no metadata).
    assert ours == in_memory
    assert ours == database  # artifacts too: ADK's services also load a tombstone as None
    rewinds = [delta for _, _, _, delta, rewind in ours.shape if rewind]
    # The rewind event is stored, with the versions the rewind saved: notes.txt as at turn 2,
    # tombstones for chart.png and late.bin; user:profile.json is left alone.
    assert rewinds == [{"notes.txt": 3, "chart.png": 2, "late.bin": 1}]
    assert ours.state["notes"] == ["my name is Ada", "I like tea"]  # the rewound turns are undone
    notes = [0, 1, 2, 3], [*NOTES, NOTES[1]], NOTES[1]
    late = [0, 1], [LATE, None], None
    profiles = [0, 1], [profile("Ada"), profile("Bob")], profile("Bob")
    assert ours.after_rewind == {
        "notes.txt": notes,
        "chart.png": ([0, 1, 2], [png(b"3"), png(b"4"), None], None),  # listed, loads as None
        "late.bin": late,
        "user:profile.json": profiles,
    }
    assert ours.at_end == {
        "notes.txt": notes,
        "chart.png": ([0, 1, 2, 3], [png(b"3"), png(b"4"), None, png(b"5")], png(b"5")),
        "late.bin": late,
        "user:profile.json": profiles,
    }
    assert ours.user_keys == ["user:profile.json"]
