"""The change feed: ``SessionStore.watch`` and ``PostgresSessionService.watch_session``.

Two stores on two pools stand for two replicas: A writes, B watches. Every appended event
must reach B exactly once, in order per session, also when B's connection is killed or the
server restarts meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import unquote, urlsplit

import asyncpg
import pytest
from _cluster import Cluster, temp_cluster
from _dbutil import REPO_ROOT
from _pgbouncer import run_pgbouncer
from google.adk.events.event import Event as AdkEvent

from adk_pg import Change, Event, InvalidArgumentError, SessionStore, StorageError, migrate
from adk_pg.adk import PostgresSessionService
from adk_pg.db.pool import create_pool
from adk_pg.schema.admin import throwaway_database

pytestmark = [
    pytest.mark.usefixtures("change_feed"),
    pytest.mark.single_server(
        "the change feed: LISTEN/NOTIFY are per node, and on Citus the triggers fire on the workers"
    ),
]

APP = "watched"
WATCHER = "adk-pg-test-watcher"  # the application_name of B's connections


@pytest.fixture
async def writer(pool: asyncpg.Pool) -> SessionStore:
    return SessionStore(pool)


@pytest.fixture
async def watcher(db: str) -> AsyncIterator[SessionStore]:
    """Store B: its own pool, its connections named so a test can find and kill them."""
    store = await SessionStore.connect(db, server_settings={"application_name": WATCHER})
    yield store
    await store.close()


async def collect(changes: AsyncIterator[Change], into: list[Change]) -> None:
    async for change in changes:
        into.append(change)


async def until(check: Any, timeout: float = 20.0) -> None:
    """Wait until ``check()`` is true."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def write(store: SessionStore, sessions: int, events: int, *, pause: float = 0.0) -> None:
    """Create ``sessions`` sessions and append ``events`` events across them, concurrently."""
    for n in range(sessions):
        await store.create_session(app_name=APP, user_id=f"u{n % 2}", session_id=f"s{n}")

    async def one(n: int) -> None:
        for i in range(events // sessions):
            await store.append_event(
                app_name=APP,
                user_id=f"u{n % 2}",
                session_id=f"s{n}",
                event=Event(id=f"s{n}-e{i}", author="user"),
                expected_revision=None,
            )
            if pause:
                await asyncio.sleep(pause)

    await asyncio.gather(*(one(n) for n in range(sessions)))


def check_exactly_once(seen: list[Change], sessions: int, events: int) -> None:
    """Every session created once, then its events once each, in the order appended."""
    per_session = events // sessions
    for n in range(sessions):
        mine = [c for c in seen if c.session_id == f"s{n}"]
        assert mine[0].kind == "created"
        appended = [c for c in mine if c.kind == "event"]
        assert [c.event_id for c in appended] == [f"s{n}-e{i}" for i in range(per_session)]
        assert [c.revision for c in appended] == list(range(1, per_session + 1))
        assert len(mine) == per_session + 1


async def test_a_watcher_sees_every_change_exactly_once_in_order(
    writer: SessionStore, watcher: SessionStore
) -> None:
    seen: list[Change] = []
    task = asyncio.create_task(collect(watcher.watch(APP), seen))
    await asyncio.sleep(0.3)  # the feed starts from now: let it listen first
    await write(writer, 5, 200)
    await until(lambda: len(seen) == 205)
    check_exactly_once(seen, 5, 200)
    await writer.delete_session(app_name=APP, user_id="u0", session_id="s0")
    await until(lambda: len(seen) == 206)
    task.cancel()
    assert seen[-1].model_dump() == {
        "kind": "deleted",
        "app_name": APP,
        "user_id": "u0",
        "session_id": "s0",
        "revision": 40,
        "event_id": None,
    }


async def test_killed_connections_lose_and_repeat_nothing(
    writer: SessionStore,
    watcher: SessionStore,
    admin: asyncpg.Connection,
    caplog: pytest.LogCaptureFixture,
) -> None:
    seen: list[Change] = []
    task = asyncio.create_task(collect(watcher.watch(APP), seen))
    await asyncio.sleep(0.3)
    writing = asyncio.create_task(write(writer, 5, 200, pause=0.005))
    for _ in range(2):
        await until(lambda: len(seen) >= 20)
        killed = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE application_name = $1",
            WATCHER,
        )
        assert killed >= 1
        await asyncio.sleep(0.2)
    await writing
    await until(lambda: len(seen) == 205)
    await asyncio.sleep(0.3)  # nothing more arrives
    task.cancel()
    check_exactly_once(seen, 5, 200)
    lost = [r for r in caplog.records if "connection lost" in r.getMessage()]
    assert len(lost) >= 2  # the feed did reconnect, twice


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    with temp_cluster() as c:
        yield c


async def test_a_server_restart_loses_and_repeats_nothing(cluster: Cluster) -> None:
    dsn = cluster.dsn()
    await migrate(dsn)
    admin = await asyncpg.connect(dsn)
    await admin.execute("ALTER DATABASE postgres SET adk_pg.change_feed = on")
    await admin.close()
    writer = await SessionStore.connect(dsn)
    watcher = await SessionStore.connect(dsn)
    seen: list[Change] = []
    task = asyncio.create_task(collect(watcher.watch(APP), seen))
    try:
        await asyncio.sleep(0.3)
        await write(writer, 5, 100)
        await until(lambda: len(seen) == 105)
        await cluster.restart()
        # Written while the watcher reconnects, or after: caught up either way.
        for n in range(5):
            for i in range(20, 40):
                for _ in range(50):  # the writer's pool meets the restart too
                    try:
                        await writer.append_event(
                            app_name=APP,
                            user_id=f"u{n % 2}",
                            session_id=f"s{n}",
                            event=Event(id=f"s{n}-e{i}", author="user"),
                            expected_revision=None,
                        )
                        break
                    except StorageError:
                        await asyncio.sleep(0.1)
        await until(lambda: len(seen) == 205, timeout=60)
        await asyncio.sleep(0.3)
        check_exactly_once(seen, 5, 200)
    finally:
        task.cancel()
        await writer.close()
        await watcher.close()


async def test_scopes_resume_and_release(
    writer: SessionStore, watcher: SessionStore, admin: asyncpg.Connection
) -> None:
    for n in range(3):
        await writer.create_session(app_name=APP, user_id="u", session_id=f"s{n}")
    await writer.create_session(app_name="other", user_id="u", session_id="s0")
    await write_n(writer, "s1", 0, 6)
    one: list[Change] = []
    user: list[Change] = []
    resumed: list[Change] = []
    tasks = [
        asyncio.create_task(collect(watcher.watch(APP, user_id="u", session_id="s0"), one)),
        asyncio.create_task(collect(watcher.watch(APP, user_id="u"), user)),
        # Resume s1 after revision 4: events 5 and 6 first, then the new ones.
        asyncio.create_task(
            collect(watcher.watch(APP, user_id="u", session_id="s1", after=4), resumed)
        ),
    ]
    await asyncio.sleep(0.3)
    await write_n(writer, "s0", 0, 3)
    await write_n(writer, "s1", 6, 2)
    await writer.append_event(
        app_name="other", user_id="u", session_id="s0",
        event=Event(id="elsewhere", author="user"), expected_revision=0,
    )  # fmt: skip
    await until(lambda: len(one) == 3 and len(user) == 5 and len(resumed) == 4)
    await asyncio.sleep(0.2)
    assert [c.event_id for c in one] == ["s0-e0", "s0-e1", "s0-e2"]  # nothing of the others
    assert [c.revision for c in resumed] == [5, 6, 7, 8]
    assert {c.session_id for c in user} == {"s0", "s1"}
    held = await connections(admin)
    assert held >= 3  # one connection per feed, outside B's pool
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await asyncio.sleep(0.3)
    assert await connections(admin) == held - 3  # cancelling closed each feed's connection


async def write_n(store: SessionStore, session_id: str, first: int, count: int) -> None:
    for i in range(first, first + count):
        await store.append_event(
            app_name=APP, user_id="u", session_id=session_id,
            event=Event(id=f"{session_id}-e{i}", author="user"), expected_revision=None,
        )  # fmt: skip


async def connections(admin: asyncpg.Connection) -> int:
    count: int = await admin.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", WATCHER
    )
    return count


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"session_id": "s"}, "needs its user_id"),
        ({"after": 3}, "after= is a session's revision"),
        ({"user_id": "u", "session_id": "s", "after": -1}, "after must be"),
        ({"user_id": "u", "session_id": "s", "after": True}, "after must be"),
        ({"idle_check": 0}, "idle_check"),
        ({"user_id": ""}, "user_id"),
    ],
)
async def test_bad_arguments_are_refused_before_anything_connects(
    watcher: SessionStore, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        watcher.watch(APP, **kwargs)
    with pytest.raises(InvalidArgumentError):
        watcher.watch("")


async def test_a_first_connection_that_fails_is_the_callers_error(db: str) -> None:
    store = SessionStore(await create_pool(db))
    try:
        changes = store.watch(APP)
        # The feed opens its own connection with the pool's settings; point them nowhere.
        store.pool.set_connect_args(dsn="postgresql://postgres@127.0.0.1:1/x")
        with pytest.raises(StorageError):
            await asyncio.wait_for(changes.__anext__(), 20)
    finally:
        await store.pool.close()


async def test_the_adk_service_yields_a_sessions_new_events(db: str) -> None:
    a = PostgresSessionService(db)
    b = PostgresSessionService(db)
    try:
        session = await a.create_session(app_name=APP, user_id="u", state={"n": 0})
        for _ in range(2):
            await a.append_event(session, AdkEvent(author="user", invocation_id="i"))
        events = b.watch_session(app_name=APP, user_id="u", session_id=session.id, after_revision=1)
        got: list[AdkEvent] = []

        async def drain() -> None:
            async for event in events:
                got.append(event)

        task = asyncio.create_task(drain())
        await until(lambda: len(got) == 1)  # the one after revision 1
        later = AdkEvent(author="model", invocation_id="i", actions={"state_delta": {"n": 1}})
        await a.append_event(session, later)
        await until(lambda: len(got) == 2)
        assert [e.id for e in got] == [e.id for e in session.events[1:]]
        assert got[1].actions.state_delta == {"n": 1}
        await a.delete_session(app_name=APP, user_id="u", session_id=session.id)
        await asyncio.wait_for(task, 10)  # the session is gone: the iteration ends
        with pytest.raises(ValueError, match="needs its user_id"):
            b.watch_session(app_name=APP, user_id=None, session_id="s")  # type: ignore[arg-type]
    finally:
        await a.close()
        await b.close()


async def test_the_command_prints_json_lines_until_interrupted(
    writer: SessionStore, db: str
) -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"ADK_PG_DSN", "ADK_PG_SCHEMA"}}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "adk_pg", "watch", "--app", APP, "--dsn", db,
        cwd=REPO_ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        await asyncio.sleep(2.0)  # interpreter start and LISTEN
        await writer.create_session(app_name=APP, user_id="u", session_id="cli")
        await write_n(writer, "cli", 0, 2)
        assert proc.stdout is not None
        lines = [json.loads(await asyncio.wait_for(proc.stdout.readline(), 20)) for _ in range(3)]
        assert [(x["kind"], x["revision"], x["event_id"]) for x in lines] == [
            ("created", 0, None),
            ("event", 1, "cli-e0"),
            ("event", 2, "cli-e1"),
        ]
        proc.send_signal(signal.SIGINT)
        code = await asyncio.wait_for(proc.wait(), 20)
        assert proc.stderr is not None
        err = (await proc.stderr.read()).decode()
        assert code == 130, err
        assert "Traceback" not in err
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()


async def test_two_schemas_have_separate_feeds(db: str) -> None:
    await migrate(db, schema="feed_b")
    a = await SessionStore.connect(db)
    b = await SessionStore.connect(db, schema="feed_b")
    seen: list[Change] = []
    task = asyncio.create_task(collect(b.watch(APP), seen))
    try:
        await asyncio.sleep(0.3)
        await a.create_session(app_name=APP, user_id="u", session_id="in_adk")
        await b.create_session(app_name=APP, user_id="u", session_id="in_b")
        await until(lambda: len(seen) == 1)
        await asyncio.sleep(0.3)
        assert [c.session_id for c in seen] == ["in_b"]
    finally:
        task.cancel()
        await a.close()
        await b.close()


async def test_transaction_pooling_is_a_clear_error_not_a_silent_hang(
    db: str, writer: SessionStore
) -> None:
    name = unquote(urlsplit(db).path.lstrip("/"))
    with run_pgbouncer(db, {"adk": (name, 2)}) as bouncer:
        store = await SessionStore.connect(
            bouncer.dsn("adk", "statement_cache_size=0"), min_size=2, max_size=2
        )
        try:
            # Keep the bouncer's other server connection busy now and then, as an app does:
            # the feed's next statement runs on whichever server connection is free.
            async def busy() -> None:
                while True:
                    await store.list_sessions(app_name=APP)

            load = asyncio.create_task(busy())
            changes = store.watch(APP, idle_check=0.2)

            async def follow() -> None:
                await writer.create_session(app_name=APP, user_id="u", session_id="pgb")
                async for _ in changes:
                    pass

            with pytest.raises(StorageError, match="transaction pooling"):
                await asyncio.wait_for(follow(), 20)
            load.cancel()
        finally:
            await store.close()


async def test_a_foreign_notification_on_the_channel_does_not_stop_the_feed(
    pool: asyncpg.Pool, writer: SessionStore, watcher: SessionStore
) -> None:
    seen: list[Change] = []
    task = asyncio.create_task(collect(watcher.watch(APP), seen))
    await asyncio.sleep(0.3)  # the feed starts from now: let it listen first
    try:
        await writer.create_session(app_name=APP, user_id="u", session_id="first")
        await until(lambda: len(seen) == 1)
        async with pool.acquire() as conn:
            for junk in ("not json", '{"kind": "event"}'):
                await conn.execute("SELECT pg_notify(adk.change_channel($1), $2)", APP, junk)
        await writer.create_session(app_name=APP, user_id="u", session_id="second")
        await until(lambda: len(seen) == 2)
        assert not task.done()
        assert [c.session_id for c in seen] == ["first", "second"]
    finally:
        task.cancel()


async def forge(pool: asyncpg.Pool, **hint: object) -> None:
    """NOTIFY a well-formed hint on the app's channel, as any role that can connect may."""
    async with pool.acquire() as conn:
        await conn.execute("SELECT pg_notify(adk.change_channel($1), $2)", APP, json.dumps(hint))


async def test_forged_hints_never_make_a_feed_skip_or_repeat_a_real_event(
    pool: asyncpg.Pool, writer: SessionStore, watcher: SessionStore
) -> None:
    seen: list[Change] = []
    task = asyncio.create_task(collect(watcher.watch(APP), seen))
    await asyncio.sleep(0.3)  # the feed starts from now: let it listen first
    try:
        await write(writer, 2, 4)  # s0 and s1, 2 events each
        await until(lambda: len(seen) == 6)
        ids = {"user_id": "u0", "session_id": "s0"}
        # A jump far ahead, a delete of a live session, a creation far ahead of a new one.
        await forge(pool, kind="event", revision=10**9, event_id="forged", **ids)
        await forge(pool, kind="deleted", revision=2, **ids)
        await forge(pool, kind="created", user_id="u0", session_id="later", revision=10**9)
        await writer.create_session(app_name=APP, user_id="u0", session_id="later")
        for session_id, revision in (("s0", 2), ("later", 0)):
            await writer.append_event(
                app_name=APP,
                user_id="u0",
                session_id=session_id,
                event=Event(id=f"{session_id}-real", author="user"),
                expected_revision=revision,
            )
        await until(lambda: {"s0-real", "later-real"} <= {c.event_id for c in seen})
        await asyncio.sleep(0.2)  # anything repeated would come now
        assert not task.done()
        mine = [c for c in seen[6:] if c.session_id == "s0"]
        # The forged jump read the table (nothing new), the forged delete was checked.
        assert [(c.kind, c.event_id, c.revision) for c in mine] == [("event", "s0-real", 3)]
        later = [(c.kind, c.event_id) for c in seen if c.session_id == "later"]
        assert later == [("created", None), ("event", "later-real")]

        # A forged hint naming the very next event is believed, until the real one's hint
        # names another event at that revision: then the real one comes too.
        s1 = {"user_id": "u1", "session_id": "s1"}
        await forge(pool, kind="event", revision=3, event_id="forged-next", **s1)
        await until(lambda: "forged-next" in {c.event_id for c in seen})
        for i, event_id in enumerate(("s1-real", "s1-after")):
            await writer.append_event(
                app_name=APP,
                user_id="u1",
                session_id="s1",
                event=Event(id=event_id, author="user"),
                expected_revision=2 + i,
            )
            if i == 1:  # a forged second name for the event just yielded changes nothing
                await until(lambda: "s1-after" in {c.event_id for c in seen})
                await forge(pool, kind="event", revision=4, event_id="forged-late", **s1)
        await asyncio.sleep(0.3)
        s1_changes = [(c.event_id, c.revision) for c in seen[6:] if c.session_id == "s1"]
        assert s1_changes == [("forged-next", 3), ("s1-real", 3), ("s1-after", 4)]
    finally:
        task.cancel()


async def test_a_quiet_feed_checks_its_connection_and_keeps_going(
    writer: SessionStore, watcher: SessionStore
) -> None:
    seen: list[Change] = []
    task = asyncio.create_task(collect(watcher.watch(APP, idle_check=0.05), seen))
    try:
        await asyncio.sleep(0.5)  # about ten idle checks
        assert not task.done()
        await writer.create_session(app_name=APP, user_id="u", session_id="quiet")
        await until(lambda: len(seen) == 1)
    finally:
        task.cancel()


async def test_a_database_without_the_feed_says_how_to_turn_it_on(server_dsn: str) -> None:
    async with throwaway_database(server_dsn, "adk_pg_feed_off") as dsn:
        await migrate(dsn)
        store = await SessionStore.connect(dsn)
        try:
            with pytest.raises(StorageError, match=r"adk_pg\.change_feed = on"):
                await asyncio.wait_for(store.watch(APP).__anext__(), 20)
        finally:
            await store.close()
