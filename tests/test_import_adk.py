"""``adk-pg import-adk``: ADK's own DatabaseSessionService tables (v1 and v0) into adk-pg.

The source tables are made by ADK itself: v1 by ``DatabaseSessionService`` on a fresh database,
v0 by its legacy schema's ``create_all`` (the service then writes pickled actions itself). Both
are filled through ADK's API, imported by the real command, and every session is read back
through both services: same state, same events field for field, same timestamps.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pickle
import re
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from _cli import adk_pg, run_main
from _dbutil import REPO_ROOT
from google.adk.events.event import Event
from google.adk.events.event_actions import EventActions, EventCompaction
from google.adk.sessions.database_session_service import DatabaseSessionService
from google.adk.sessions.schemas import v0
from google.adk.sessions.session import Session
from google.adk.tools.tool_confirmation import ToolConfirmation
from google.genai import types
from sqlalchemy.ext.asyncio import create_async_engine

from adk_pg.adk import PostgresSessionService, legacy_pickle
from adk_pg.ops.queries import LEGACY_QUERIES
from adk_pg.schema.admin import throwaway_database
from adk_pg.schema.runner import migrate
from adk_pg.sessions.store import SessionStore

APP, OTHER_APP = "legacy_app", "other_app"
# Sub-microsecond digits: v1 keeps them in event_data; the timestamp column cannot.
T0 = 1_700_000_000.1234567


def without_adk(tmp_path: Path) -> dict[str, str]:
    """The environment of a command that cannot import google.adk (no ``adk`` extra)."""
    (tmp_path / "sitecustomize.py").write_text("import sys\nsys.modules['google.adk'] = None\n")
    return {"PYTHONPATH": str(tmp_path)}


def adk_url(dsn: str) -> str:
    """The same database as a SQLAlchemy asyncpg URL, as ADK users write it."""
    return urlunsplit(urlsplit(dsn)._replace(scheme="postgresql+asyncpg"))


@pytest.fixture
async def fresh(server_dsn: str) -> AsyncIterator[str]:
    """An empty database of its own."""
    async with throwaway_database(server_dsn) as dsn:
        yield dsn


def events_for(n: int) -> list[Event]:
    """A turn with text, a tool call and response, bytes, state deltas in every scope."""
    t = T0 + n * 100
    return [
        Event(
            invocation_id=f"inv-{n}",
            author="user",
            timestamp=t,
            content=types.Content(role="user", parts=[types.Part(text=f"hello {n} ☃")]),
            actions=EventActions(state_delta={"turn": n, "app:seen": n, "user:name": "ann"}),
        ),
        Event(
            invocation_id=f"inv-{n}",
            author="agent",
            branch="root.helper",
            timestamp=t + 1.000001,
            content=types.Content(
                role="model",
                parts=[types.Part(function_call=types.FunctionCall(name="lookup", args={"q": n}))],
            ),
            long_running_tool_ids={"b", "a"},
            actions=EventActions(
                requested_tool_confirmations={"c1": ToolConfirmation(hint="ok?", payload={"x": 1})}
            ),
        ),
        Event(
            invocation_id=f"inv-{n}",
            author="agent",
            timestamp=t + 2.5,
            content=types.Content(
                role="model",
                parts=[
                    types.Part(text="done"),
                    types.Part(inline_data=types.Blob(mime_type="image/png", data=bytes(range(9)))),
                ],
            ),
            custom_metadata={"trace": [1, 2.5]},
            usage_metadata=types.GenerateContentResponseUsageMetadata(total_token_count=7),
            actions=EventActions(
                state_delta={"turn": None, "user:name": None},
                artifact_delta={"f.txt": 2},
                compaction=EventCompaction(
                    start_timestamp=t,
                    end_timestamp=t + 1,
                    compacted_content=types.Content(role="model", parts=[types.Part(text="s")]),
                ),
            ),
        ),
    ]


async def fill(url: str) -> list[tuple[str, str, str]]:
    """Sessions written through ADK's own API; returns their keys."""
    keys = []
    async with DatabaseSessionService(url) as service:
        for n, (app, user) in enumerate([(APP, "ann"), (APP, "bob"), (OTHER_APP, "ann")]):
            session = await service.create_session(
                app_name=app,
                user_id=user,
                session_id=f"s{n}",
                state={"k": n, "app:region": "eu", "user:lang": "fr", "temp:x": 1},
            )
            for event in events_for(n):
                await service.append_event(session, event)
            keys.append((app, user, session.id))
        empty = await service.create_session(app_name=APP, user_id="cy", session_id="empty")
        keys.append((APP, "cy", empty.id))
    return keys


async def read_all(
    service: DatabaseSessionService | PostgresSessionService, keys: list[tuple[str, str, str]]
) -> dict[tuple[str, str, str], Session | None]:
    return {
        key: await service.get_session(app_name=key[0], user_id=key[1], session_id=key[2])
        for key in keys
    }


def assert_same(theirs: Session | None, ours: Session | None) -> None:
    """Equal in everything but the storage marker (ADK's is a time, ours a revision)."""
    assert theirs is not None
    assert ours is not None
    assert (ours.app_name, ours.user_id, ours.id) == (theirs.app_name, theirs.user_id, theirs.id)
    assert ours.state == theirs.state
    assert ours.last_update_time == theirs.last_update_time  # bit for bit
    assert len(ours.events) == len(theirs.events)
    for mine, reference in zip(ours.events, theirs.events, strict=True):
        assert mine.model_dump() == reference.model_dump()
        assert mine == reference
        assert mine.timestamp.hex() == reference.timestamp.hex()


async def compare(
    source: str, target: str, keys: list[tuple[str, str, str]]
) -> list[Session | None]:
    async with DatabaseSessionService(adk_url(source)) as adk:
        theirs = await read_all(adk, keys)
        app_state = await adk.get_session(app_name=APP, user_id="ann", session_id="s0")
        user_state = await adk.get_user_state(app_name=APP, user_id="ann")
    async with PostgresSessionService(target, migrate=False) as service:
        ours = await read_all(service, keys)
        assert await service.get_user_state(app_name=APP, user_id="ann") == user_state
    for key in keys:
        assert_same(theirs[key], ours[key])
    assert app_state is not None
    return list(ours.values())


async def prepare_legacy_queries(dsn: str, version: str) -> None:
    """Every sql/legacy/ statement meant for this schema version prepares on ADK's tables."""
    skip = {"0": {"legacy_v1_events", "legacy_schema_version"}, "1": {"legacy_v0_events"}}
    conn = await asyncpg.connect(dsn, server_settings={"search_path": "public"})
    try:
        for field in dataclasses.fields(LEGACY_QUERIES):
            if field.name not in skip[version]:
                query = getattr(LEGACY_QUERIES, field.name)
                statement = await conn.prepare(query.sql)
                assert len(statement.get_parameters()) == len(query.params)
    finally:
        await conn.close()


async def test_v1_in_place_keeps_everything_and_is_idempotent(fresh: str) -> None:
    keys = await fill(adk_url(fresh))
    await prepare_legacy_queries(fresh, "1")
    await migrate(fresh)  # schema adk next to ADK's tables in public
    # A local time zone far from UTC: naive ADK times must still be read as UTC.
    env = {"TZ": "America/New_York"}
    first = await adk_pg("import-adk", "--from", adk_url(fresh), "--dsn", fresh, env=env)
    assert (first.code, first.err) == (0, ""), first
    assert "read ADK schema v1 tables in schema public" in first.out
    assert "imported 4 sessions (9 events), 2 app states, 4 user states, 0 memories" in first.out
    sessions = await compare(fresh, fresh, keys)
    # The exact epoch from event_data, not the microsecond column.
    assert sessions[0] is not None
    assert sessions[0].events[0].timestamp == T0

    again = await run_main("import-adk", "--from", fresh, "--dsn", fresh, "--json")
    assert again.code == 0, again
    assert '"sessions_skipped": 4' in again.out
    assert '"events_imported": 0' in again.out
    conn = await asyncpg.connect(fresh)
    try:
        assert await conn.fetchval("SELECT count(*) FROM adk.events") == 9
        revisions = await conn.fetch("SELECT id, revision FROM adk.sessions ORDER BY id")
        assert [(r["id"], r["revision"]) for r in revisions] == [
            ("empty", 0),
            ("s0", 3),
            ("s1", 3),
            ("s2", 3),
        ]
    finally:
        await conn.close()


async def test_padded_and_blank_adk_ids_are_normalised_and_usable(
    fresh: str, tmp_path: Path
) -> None:
    url = adk_url(fresh)
    originals = (" padded ", "")
    async with DatabaseSessionService(url) as service:
        for n, source_id in enumerate(originals):
            session = await service.create_session(
                app_name=APP, user_id="ann", session_id=source_id, state={"n": n}
            )
            for event in events_for(n):
                await service.append_event(session, event)
        # ADK keeps both as given: " padded " is not "padded" there.
        assert await service.get_session(app_name=APP, user_id="ann", session_id="padded") is None
        theirs = [
            await service.get_session(app_name=APP, user_id="ann", session_id=source_id)
            for source_id in originals
        ]
    await migrate(fresh)
    # v1 needs no google-adk.
    first = await adk_pg("import-adk", "--from", url, "--dsn", fresh, env=without_adk(tmp_path))
    assert (first.code, first.err) == (0, ""), first
    assert "imported 2 sessions (6 events)" in first.out
    assert "changed 2 session ids (stripped, or generated for a blank id):" in first.out
    assert f"  app {APP!r} user 'ann': ' padded ' -> 'padded'" in first.out
    generated = re.search(r"'' -> '([0-9a-f-]{36})'", first.out)
    assert generated is not None
    uuid.UUID(generated[1])
    again = await run_main("import-adk", "--from", url, "--dsn", fresh, "--json")
    report = json.loads(again.out)
    assert (report["sessions_skipped"], report["session_ids_changed"]) == (2, 2)
    # The generated id is the same on every run, so the second run skipped the session.
    assert {c["source_id"]: c["id"] for c in report["session_id_changes"]} == {
        " padded ": "padded",
        "": generated[1],
    }

    store = await SessionStore.connect(fresh)
    try:
        for n, (session_id, reference) in enumerate(
            zip(("padded", generated[1]), theirs, strict=True)
        ):
            ours = await store.get_session(app_name=APP, user_id="ann", session_id=session_id)
            assert ours is not None
            assert reference is not None
            assert (ours.id, ours.state["n"]) == (session_id, n)
            assert [e.id for e in ours.events] == [e.id for e in reference.events]
            await store.delete_session(app_name=APP, user_id="ann", session_id=session_id)
            assert (
                await store.get_session(app_name=APP, user_id="ann", session_id=session_id) is None
            )
    finally:
        await store.close()
    conn = await asyncpg.connect(fresh)
    try:
        assert await conn.fetchval("SELECT count(*) FROM adk.sessions") == 0
        assert await conn.fetchval("SELECT count(*) FROM adk.events") == 0
        await conn.execute("TRUNCATE adk.app_states, adk.user_states")
    finally:
        await conn.close()

    # Two ADK sessions that differ only by padding are never merged into one.
    async with DatabaseSessionService(url) as service:
        for source_id in ("twin", " twin"):
            await service.create_session(
                app_name=APP, user_id="bob", session_id=source_id, state={"id": source_id}
            )
    twins = await run_main("import-adk", "--from", url, "--dsn", fresh)
    assert twins.code == 3, twins
    assert "session ids " in twins.err
    assert "'twin'" in twins.err
    assert "' twin'" in twins.err
    assert "of app 'legacy_app' user 'bob' both become 'twin'" in twins.err
    assert "refused rather than merged" in twins.err
    conn = await asyncpg.connect(fresh)
    try:
        rows = await conn.fetch("SELECT id, state FROM adk.sessions WHERE user_id = 'bob'")
    finally:
        await conn.close()
    assert [r["id"] for r in rows] == ["twin"]


async def create_v0_tables(url: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(v0.Base.metadata.create_all)
    finally:
        await engine.dispose()


class Boom:
    """Unpickling this would run a shell command that leaves a marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch {self.marker}",))


async def test_v0_from_another_database_and_a_malicious_pickle(
    server_dsn: str, tmp_path: Path
) -> None:
    async with throwaway_database(server_dsn) as source, throwaway_database(server_dsn) as target:
        await create_v0_tables(adk_url(source))
        keys = await fill(adk_url(source))  # the service sees v0 and pickles the actions
        await prepare_legacy_queries(source, "0")
        await migrate(target)
        conn = await asyncpg.connect(source)
        try:
            assert await conn.fetchval("SELECT count(*) FROM events WHERE actions IS NOT NULL")
        finally:
            await conn.close()
        no_adk = await adk_pg(
            "import-adk", "--from", source, "--dsn", target, env=without_adk(tmp_path)
        )
        assert no_adk.code == 3, no_adk
        assert "ADK's v0 session tables" in no_adk.err
        assert "pip install 'adk-pg[adk]'" in no_adk.err
        result = await adk_pg(
            "import-adk", "--from", source, "--dsn", target, env={"TZ": "Asia/Kolkata"}
        )
        assert (result.code, result.err) == (0, ""), result
        assert "read ADK schema v0 tables in schema public" in result.out
        assert "imported 4 sessions" in result.out  # none came in without google-adk
        await compare(source, target, keys)

        # A row no ADK wrote: its actions would run a command when unpickled.
        marker = tmp_path / "pwned"
        conn = await asyncpg.connect(source)
        try:
            await conn.execute(
                "INSERT INTO sessions (app_name, user_id, id, state, create_time, update_time)"
                " VALUES ('zz_app', 'mallory', 'evil', '{}', now(), now())"
            )
            await conn.execute(
                "INSERT INTO events (id, app_name, user_id, session_id, invocation_id, author,"
                " actions, timestamp) VALUES ('e-evil', 'zz_app', 'mallory', 'evil', 'i', 'x',"
                " $1, now())",
                pickle.dumps(Boom(marker)),
            )
        finally:
            await conn.close()
        refused = await adk_pg("import-adk", "--from", source, "--dsn", target)
        assert refused.code == 3, refused
        assert refused.out == ""
        for name in ("'zz_app'", "'mallory'", "'evil'", "'e-evil'", "system"):
            assert name in refused.err
        assert "Traceback" not in refused.err
        assert not marker.exists()
        conn = await asyncpg.connect(target)
        try:
            assert not await conn.fetchval("SELECT count(*) FROM adk.sessions WHERE id = 'evil'")
        finally:
            await conn.close()


async def test_missing_tables_and_bad_source_are_clear_errors(fresh: str) -> None:
    await migrate(fresh)
    missing = await run_main("import-adk", "--from", fresh, "--dsn", fresh, "--from-schema", "nope")
    assert missing.code == 3, missing
    assert "schema 'nope' has no ADK session tables" in missing.err
    secret = "s3cret-Pw"
    unreachable = f"postgresql://postgres:{secret}@127.0.0.1:1/x"
    bad = await run_main("import-adk", "--from", unreachable, "--dsn", fresh)
    assert bad.code == 3, bad
    assert secret not in bad.err + bad.out
    usage = await run_main("import-adk", "--dsn", fresh)
    assert usage.code == 2
    assert "--from" in usage.err
    # adk-pg's own schema has tables of the same names: it is not mistaken for ADK's.
    own = await run_main("import-adk", "--from", fresh, "--dsn", fresh, "--from-schema", "adk")
    assert own.code == 3, own
    assert "schema 'adk' holds adk-pg's own tables, not those of ADK's" in own.err


def test_reading_v0_tables_without_sqlalchemy_names_what_is_missing() -> None:
    # ADK's v0 schema module imports SQLAlchemy, which only google-adk[db] brings.
    script = (
        "import sys; sys.modules['sqlalchemy'] = None\n"
        "from adk_pg.adk.legacy import v0_reader\n"
        "try:\n    v0_reader()\nexcept Exception as exc:\n    print(type(exc).__name__, exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    assert out.startswith("LegacyDataError "), out
    assert "sqlalchemy is missing (pip install 'google-adk[db]')" in out


def test_restricted_unpickler_admits_adk_actions_and_refuses_code() -> None:
    actions = EventActions(
        state_delta={"k": [1, (2, 3)], "when": types.FinishReason.STOP},
        requested_tool_confirmations={"c": ToolConfirmation(hint="h")},
        compaction=EventCompaction(
            start_timestamp=1.0,
            end_timestamp=2.0,
            compacted_content=types.Content(role="model", parts=[types.Part(text="t")]),
        ),
    )
    assert legacy_pickle.loads(pickle.dumps(actions, protocol=pickle.HIGHEST_PROTOCOL)) == actions
    with pytest.raises(legacy_pickle.RefusedPickleError, match=r"posix\.system|nt\.system"):
        legacy_pickle.loads(pickle.dumps(Boom(Path("/nonexistent"))))
    with pytest.raises(legacy_pickle.RefusedPickleError, match=r"builtins\.eval"):
        legacy_pickle.loads(b"\x80\x04cbuiltins\neval\n\x8c\x011\x85R.")
    with pytest.raises(legacy_pickle.LegacyPickleError, match="not a valid pickle"):
        legacy_pickle.loads(b"\x80\x04garbage")


def nested_lists(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        # 23 bytes that ask for bytes(200_000_000): 200 MB.
        (b"\x80\x04cbuiltins\nbytes\nJ\x00\xc2\xeb\x0b\x85R.", "would allocate"),
        (b"\x80\x04cbuiltins\nbytearray\nJ\x00\xc2\xeb\x0b\x85R.", "would allocate"),
        # list() of a long text: one object per character.
        (pickle.dumps(("x" * 200_000,)), None),
        (pickle.dumps([1] * 1_100_000), "more than 1,000,000 objects"),
        (pickle.dumps(nested_lists(300)), "deeper"),
        (b"\x80\x04" + b"N" * (16 * 1024 * 1024 + 1) + b".", "over the limit"),
    ],
    ids=["bytes-bomb", "bytearray-bomb", "plain-long-text", "many-objects", "deep", "huge"],
)
def test_the_unpickler_refuses_what_would_exhaust_resources(
    payload: bytes, reason: str | None
) -> None:
    if reason is None:  # a long text itself is fine: it is as big in the pickle
        assert legacy_pickle.loads(payload) == ("x" * 200_000,)
        expands = b"\x80\x04cbuiltins\nlist\n" + pickle.dumps("x" * 200_000)[2:-1] + b"\x85R."
        with pytest.raises(legacy_pickle.BoundsError, match="200,000-item str"):
            legacy_pickle.loads(expands)
        return
    with pytest.raises(legacy_pickle.BoundsError, match=reason):
        legacy_pickle.loads(payload)


def test_only_legacy_pickle_imports_pickle() -> None:
    package = REPO_ROOT / "adk_pg"
    importers = {
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if re.search(r"^\s*(import pickle|from pickle import)", path.read_text(), re.MULTILINE)
    }
    assert importers == {"adk/legacy_pickle.py"}


async def test_v1_tables_in_another_schema_and_another_database(
    fresh: str, server_dsn: str
) -> None:
    """ADK's tables in schema `legacy` of one database, imported into another database."""
    conn = await asyncpg.connect(fresh)
    try:
        await conn.execute("CREATE SCHEMA legacy")
    finally:
        await conn.close()
    in_legacy = {"connect_args": {"server_settings": {"search_path": "legacy"}}}
    async with DatabaseSessionService(adk_url(fresh), **in_legacy) as service:
        session = await service.create_session(
            app_name=APP, user_id="ann", session_id="s0", state={"k": 1, "user:lang": "fr"}
        )
        for event in events_for(0):
            await service.append_event(session, event)
        theirs = await service.get_session(app_name=APP, user_id="ann", session_id="s0")
        their_user_state = await service.get_user_state(app_name=APP, user_id="ann")
    async with throwaway_database(server_dsn) as target:
        await migrate(target)
        result = await adk_pg(
            "import-adk", "--from", adk_url(fresh), "--from-schema", "legacy", "--dsn", target
        )
        assert (result.code, result.err) == (0, ""), result
        assert "read ADK schema v1 tables in schema legacy" in result.out
        async with PostgresSessionService(target, migrate=False) as ours:
            mine = await ours.get_session(app_name=APP, user_id="ann", session_id="s0")
            assert await ours.get_user_state(app_name=APP, user_id="ann") == their_user_state
    assert_same(theirs, mine)


def test_importing_the_adk_package_without_google_adk_says_what_to_install() -> None:
    script = (
        "import sys; sys.modules['google.adk'] = None\n"
        "try:\n    import adk_pg.adk\nexcept ImportError as exc:\n    print(exc)\n"
        "import adk_pg, adk_pg.sessions.store  # the core needs no google-adk\n"
        "print('core ok', adk_pg.__version__)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    assert "needs google-adk, which is not installed: pip install 'adk-pg[adk]'" in out
    assert "core ok" in out
