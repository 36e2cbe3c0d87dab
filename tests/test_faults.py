"""Faults against the real server: killed connections, lost replies, restarts, cancellation,
timeouts. Every call either succeeds or raises a StorageError; nothing is ever half-written.

"Half-written" is checked by reading the tables back: each event n of a session writes the
keys ``k<n>`` (session), ``app:<session>:k<n>`` and ``user:<session>:k<n>``, so the set of
stored events and the set of keys in each scope must match exactly, and the session's revision
must equal its number of events. The server restart runs on a throwaway cluster; the shared
server on 5432 is never restarted.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from _cluster import Cluster, temp_cluster
from google.adk.events.event import Event as AdkEvent
from google.adk.events.event_actions import EventActions as AdkEventActions

from adk_pg import Event, EventActions, SessionStore, StorageError, migrate
from adk_pg.adk import PostgresSessionService
from adk_pg.db.connection_hooks import init_connection
from adk_pg.db.pool import create_pool

APP = "app"
USER = "user"


def delta(session_id: str, n: int) -> dict[str, Any]:
    """The state delta of event n: one key per scope, named after the event."""
    return {f"k{n}": n, f"app:{session_id}:k{n}": n, f"user:{session_id}:k{n}": n}


def make_event(session_id: str, n: int) -> Event:
    return Event(
        id=f"{session_id}-{n:03d}",
        author="user",
        invocation_id="inv",
        timestamp=time.time(),
        actions=EventActions(state_delta=delta(session_id, n)),
    )


async def assert_consistent(
    admin: asyncpg.Connection, session_ids: Sequence[str], expected_events: int | None = None
) -> None:
    """No event without its state delta, no delta without its event, revision = #events."""
    app = await admin.fetchval("SELECT state FROM adk.app_states WHERE app_name = $1", APP) or {}
    user = (
        await admin.fetchval(
            "SELECT state FROM adk.user_states WHERE app_name = $1 AND user_id = $2", APP, USER
        )
        or {}
    )
    for session_id in session_ids:
        row = await admin.fetchrow(
            "SELECT revision, state FROM adk.sessions WHERE app_name = $1 AND user_id = $2 "
            "AND id = $3",
            APP,
            USER,
            session_id,
        )
        assert row is not None
        ids = [
            r["id"]
            for r in await admin.fetch(
                'SELECT id FROM adk.events WHERE session_id = $1 ORDER BY "timestamp", id',
                session_id,
            )
        ]
        ns = [int(i.rsplit("-", 1)[1]) for i in ids]
        # Appended in order, each once.
        assert ns == list(range(len(ns))), ids
        assert row["revision"] == len(ns)
        if expected_events is not None:
            assert len(ns) == expected_events
        keys = {f"k{n}" for n in ns}
        assert set(row["state"]) == keys
        assert {k for k in app if k.startswith(f"{session_id}:")} == {
            f"{session_id}:{k}" for k in keys
        }
        assert {k for k in user if k.startswith(f"{session_id}:")} == {
            f"{session_id}:{k}" for k in keys
        }


async def append_until_stored(
    store: SessionStore,
    session_id: str,
    count: int,
    failures: list[StorageError],
    *,
    pause: float = 0.0,
    progress: asyncio.Event | None = None,
) -> None:
    """Append events 0..count-1, retrying each (same id, same revision) on StorageError.

    Only a retryable StorageError is tolerated; any other exception fails the test.
    """
    revision = 0
    for n in range(count):
        event = make_event(session_id, n)
        for _ in range(1000):
            try:
                result = await store.append_event(
                    app_name=APP,
                    user_id=USER,
                    session_id=session_id,
                    event=event,
                    expected_revision=revision,
                )
            except StorageError as exc:
                failures.append(exc)
                if not exc.retryable:
                    raise
                await asyncio.sleep(pause)
                continue
            assert result is not None
            # A retry after a lost reply finds its event stored: same revision, no double.
            assert result.revision == n + 1
            revision = result.revision
            break
        else:
            raise AssertionError(f"event {n} of {session_id} never got stored")
        if progress is not None and n == count // 4:
            progress.set()


def tag() -> str:
    """A unique application_name, to find (and kill) exactly one pool's backends."""
    return f"adk_pg_fault_{uuid.uuid4().hex[:8]}"


async def stuck_backends(admin: asyncpg.Connection) -> list[asyncpg.Record]:
    """Backends of the test database left inside a transaction."""
    rows: list[asyncpg.Record] = await admin.fetch(
        "SELECT pid, application_name, state FROM pg_stat_activity "
        "WHERE datname = current_database() AND state LIKE 'idle in transaction%'"
    )
    return rows


async def wait_until_idle(admin: asyncpg.Connection, name: str) -> None:
    """Wait (at most 5 s) until every backend of pool ``name`` is idle, not in a transaction."""
    deadline = time.monotonic() + 5
    while True:
        states = await admin.fetch(
            "SELECT state FROM pg_stat_activity WHERE application_name = $1", name
        )
        if all(r["state"] == "idle" for r in states):
            return
        assert time.monotonic() < deadline, states
        await asyncio.sleep(0.02)


async def wait_until_the_pool_saw_the_kills(
    pool: asyncpg.Pool, admin: asyncpg.Connection, name: str, killed: set[int]
) -> None:
    """Wait (at most 10 s) until the killed backends have exited and the pool has noticed.

    Noticed: the pool counts as connected exactly the backends the server still has.
    """
    deadline = time.monotonic() + 10
    while True:
        live = set(
            await admin.fetchval(
                "SELECT coalesce(array_agg(pid), '{}') FROM pg_stat_activity "
                "WHERE application_name = $1",
                name,
            )
        )
        if not live & killed and pool.get_size() == len(live):
            return
        assert time.monotonic() < deadline, (sorted(live & killed), pool.get_size(), len(live))
        await asyncio.sleep(0.01)


async def wait_for_lock_wait(admin: asyncpg.Connection, name: str) -> None:
    """Wait until a backend of pool ``name`` is blocked on a lock: the statement was sent."""
    deadline = time.monotonic() + 5
    while not await admin.fetchval(
        "SELECT EXISTS (SELECT FROM pg_stat_activity WHERE application_name = $1 "
        "AND wait_event_type = 'Lock')",
        name,
    ):
        assert time.monotonic() < deadline, "the append never reached the lock"
        await asyncio.sleep(0.01)


@pytest.fixture
async def locker(db: str) -> AsyncIterator[asyncpg.Connection]:
    """A second connection that can hold row locks the store's statements then wait on."""
    conn = await asyncpg.connect(db)
    yield conn
    await conn.close()


async def lock_session(
    conn: asyncpg.Connection, session_id: str
) -> asyncpg.transaction.Transaction:
    """Begin a transaction on ``conn`` holding the session row's lock; return it."""
    tx = conn.transaction()
    await tx.start()
    await conn.execute(
        "SELECT 1 FROM adk.sessions WHERE app_name = $1 AND user_id = $2 AND id = $3 FOR UPDATE",
        APP,
        USER,
        session_id,
    )
    return tx


# ---- connections killed by the server ------------------------------------------------------


async def test_terminated_connections_fail_retryably_and_never_half_write(
    db: str, admin: asyncpg.Connection
) -> None:
    name = tag()
    pool = await create_pool(db, min_size=4, max_size=4, server_settings={"application_name": name})
    store = SessionStore(pool)
    try:
        ids = [f"kill{i}" for i in range(4)]
        for session_id in ids:
            await store.create_session(app_name=APP, user_id=USER, session_id=session_id)
        failures: list[StorageError] = []
        writers = asyncio.gather(*(append_until_stored(store, s, 40, failures) for s in ids))
        killed: set[int] = set()
        rng = random.Random(7)
        # Ten rounds of killing every backend of the pool, at random moments of the run.
        for _ in range(10):
            if writers.done():
                break
            await asyncio.sleep(rng.uniform(0.005, 0.03))
            killed |= set(
                await admin.fetchval(
                    "SELECT coalesce(array_agg(pid) FILTER (WHERE pg_terminate_backend(pid)), "
                    "'{}') FROM pg_stat_activity WHERE application_name = $1",
                    name,
                )
            )
        await asyncio.wait_for(writers, timeout=60)
        assert killed
        # Calls in flight did fail (and were retried): the faults were real.
        assert failures, "no append was in flight when its connection was killed"
        assert all(f.sqlstate in {None, "57P01", "08003", "08006"} for f in failures), {
            f.sqlstate for f in failures
        }
        await assert_consistent(admin, ids, expected_events=40)

        # Once the client has read the server's goodbye, the same pool just works.
        await wait_until_the_pool_saw_the_kills(pool, admin, name, killed)
        for session_id in ids:
            await store.append_event(
                app_name=APP,
                user_id=USER,
                session_id=session_id,
                event=make_event(session_id, 40),
                expected_revision=40,
            )
        await assert_consistent(admin, ids, expected_events=41)
        assert await stuck_backends(admin) == []
    finally:
        await pool.close()


# ---- a reply lost after the commit ---------------------------------------------------------


class Proxy:
    """A TCP relay to the server that can swallow its replies and then cut every link."""

    def __init__(self, host: str, port: int) -> None:
        self._upstream = (host, port)
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []
        self._pumps: set[asyncio.Task[None]] = set()
        self.swallow_replies = False

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._link, "127.0.0.1", 0)
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def _link(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        server_r, server_w = await asyncio.open_connection(*self._upstream)
        self._writers += [client_w, server_w]
        for pump in (self._pump(client_r, server_w, False), self._pump(server_r, client_w, True)):
            task = asyncio.create_task(pump)
            self._pumps.add(task)
            task.add_done_callback(self._pumps.discard)

    async def _pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, replies: bool
    ) -> None:
        try:
            while data := await reader.read(65536):
                if replies and self.swallow_replies:
                    continue
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def cut(self) -> None:
        """Reset every relayed connection at once, as a dead network path would."""
        for writer in self._writers:
            writer.transport.abort()
        self._writers.clear()
        await asyncio.gather(*self._pumps, return_exceptions=True)

    async def close(self) -> None:
        await self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


def via(dsn: str, port: int) -> str:
    parts = urlsplit(dsn)
    host = parts.netloc.rpartition("@")
    return urlunsplit(parts._replace(netloc=f"{host[0]}{host[1]}127.0.0.1:{port}"))


@pytest.mark.parametrize("api", ["store", "adk"])
async def test_reply_lost_after_commit_then_retry_stores_the_event_once(
    db: str, admin: asyncpg.Connection, api: str
) -> None:
    server = urlsplit(db)
    proxy = Proxy(server.hostname or "127.0.0.1", server.port or 5432)
    port = await proxy.start()
    pool = await create_pool(via(db, port), min_size=1, max_size=1)
    store = SessionStore(pool)
    service = PostgresSessionService(pool=pool, migrate=False)
    try:
        session = await service.create_session(app_name=APP, user_id=USER, session_id="lost")
        first, second = make_event("lost", 0), make_event("lost", 1)

        async def append(event: Event, revision: int) -> None:
            if api == "store":
                await store.append_event(
                    app_name=APP,
                    user_id=USER,
                    session_id="lost",
                    event=event,
                    expected_revision=revision,
                )
            else:
                adk_event = AdkEvent(
                    id=event.id,
                    author="user",
                    timestamp=event.timestamp,
                    actions=AdkEventActions(state_delta=event.actions.state_delta),
                )
                # The service sends the revision the session object carries.
                await service.append_event(session, adk_event)

        await append(first, 0)
        proxy.swallow_replies = True
        pending = asyncio.create_task(append(second, 1))
        # Wait until the server has committed the event whose reply is being swallowed.
        deadline = time.monotonic() + 5
        while not await admin.fetchval("SELECT count(*) FROM adk.events WHERE id = $1", second.id):
            assert time.monotonic() < deadline, "the append never committed"
            await asyncio.sleep(0.01)
        assert not pending.done()
        await proxy.cut()
        with pytest.raises(StorageError) as info:
            await asyncio.wait_for(pending, timeout=5)
        assert info.value.retryable
        proxy.swallow_replies = False

        await append(second, 1)  # the client's retry: same event, same expected revision
        await assert_consistent(admin, ["lost"], expected_events=2)
        if api == "adk":
            assert [e.id for e in session.events] == [first.id, second.id]
            assert session._storage_update_marker == "2"
    finally:
        await pool.close()
        await proxy.close()


# ---- a full server restart (on a throwaway cluster) ---------------------------------------


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    """A throwaway cluster this module may restart; stopped and deleted afterwards."""
    with temp_cluster() as c:
        yield c


async def test_server_restart_fails_retryably_then_the_same_store_recovers(
    cluster: Cluster,
) -> None:
    database = f"adk_restart_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(cluster.dsn())
    try:
        await conn.execute(f'CREATE DATABASE "{database}"')
    finally:
        await conn.close()
    dsn = cluster.dsn(database)
    await migrate(dsn)
    store = await SessionStore.connect(dsn, min_size=2, max_size=4, pool_timeout=5)
    admin = await asyncpg.connect(dsn)
    try:
        await init_connection(admin)  # jsonb as Python objects, as the shared admin has it
        ids = ["r0", "r1"]
        for session_id in ids:
            await store.create_session(app_name=APP, user_id=USER, session_id=session_id)
        failures: list[StorageError] = []
        progress = [asyncio.Event() for _ in ids]
        writers = asyncio.gather(
            *(
                append_until_stored(store, s, 60, failures, pause=0.02, progress=p)
                for s, p in zip(ids, progress, strict=True)
            )
        )
        await asyncio.wait_for(asyncio.gather(*(p.wait() for p in progress)), timeout=30)
        await admin.close()
        await cluster.restart()
        await asyncio.wait_for(writers, timeout=60)
        assert failures, "no call noticed the restart"
        admin = await asyncpg.connect(dsn)
        await init_connection(admin)
        await assert_consistent(admin, ids, expected_events=60)
        # No restart of the application: the store that saw the outage keeps working.
        got = await store.get_session(app_name=APP, user_id=USER, session_id="r0")
        assert got is not None
        assert got.revision == 60
    finally:
        await store.close()
        if not admin.is_closed():
            await admin.close()


# ---- cancellation --------------------------------------------------------------------------


@pytest.mark.single_server(
    "the lock wait is on a worker, not in the coordinator's pg_stat_activity"
)
async def test_cancel_while_the_statement_waits_leaves_nothing_and_no_open_transaction(
    db: str, admin: asyncpg.Connection, locker: asyncpg.Connection
) -> None:
    name = tag()
    pool = await create_pool(db, min_size=1, max_size=1, server_settings={"application_name": name})
    store = SessionStore(pool)
    try:
        await store.create_session(app_name=APP, user_id=USER, session_id="cancel")
        tx = await lock_session(locker, "cancel")
        try:
            task = asyncio.create_task(
                store.append_event(
                    app_name=APP,
                    user_id=USER,
                    session_id="cancel",
                    event=make_event("cancel", 0),
                    expected_revision=0,
                )
            )
            await wait_for_lock_wait(admin, name)  # sent, and running on the server
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        finally:
            await tx.rollback()
        await wait_until_idle(admin, name)
        assert await stuck_backends(admin) == []
        await assert_consistent(admin, ["cancel"], expected_events=0)
        # The pool's only connection is healthy, and the same event can be appended.
        await append_until_stored(store, "cancel", 1, [])
        await assert_consistent(admin, ["cancel"], expected_events=1)
    finally:
        await pool.close()


async def test_cancel_at_many_points_never_half_writes(db: str, admin: asyncpg.Connection) -> None:
    name = tag()
    pool = await create_pool(db, min_size=2, max_size=2, server_settings={"application_name": name})
    store = SessionStore(pool)
    try:
        await store.create_session(app_name=APP, user_id=USER, session_id="points")
        # From "before anything is sent" (0) through "reply on its way" to "already done".
        delays = [0.0] + [0.0001 * 1.35**i for i in range(24)]
        revision = 0
        outcomes = {"cancelled": 0, "done": 0}
        for n, delay in enumerate(delays):
            event = make_event("points", n)
            call = store.append_event(
                app_name=APP,
                user_id=USER,
                session_id="points",
                event=event,
                expected_revision=revision,
            )
            try:
                await asyncio.wait_for(call, timeout=delay)
                outcomes["done"] += 1
            except asyncio.TimeoutError:
                outcomes["cancelled"] += 1
            await wait_until_idle(admin, name)
            # Whatever point it was cancelled at: all of the event or none of it.
            await assert_consistent(admin, ["points"])
            result = await store.append_event(  # the retry is always safe
                app_name=APP,
                user_id=USER,
                session_id="points",
                event=event,
                expected_revision=revision,
            )
            assert result is not None
            revision = result.revision
        assert outcomes["cancelled"] > 0
        assert outcomes["done"] > 0
        await assert_consistent(admin, ["points"], expected_events=len(delays))
        assert await stuck_backends(admin) == []
    finally:
        await pool.close()


# ---- timeouts ------------------------------------------------------------------------------


async def test_statement_timeout_is_a_clear_retryable_storage_error(
    db: str, admin: asyncpg.Connection, locker: asyncpg.Connection
) -> None:
    store = await SessionStore.connect(db, max_size=1, server_settings={"statement_timeout": "200"})
    try:
        await store.create_session(app_name=APP, user_id=USER, session_id="slow")
        tx = await lock_session(locker, "slow")
        try:
            with pytest.raises(StorageError, match="statement_timeout") as info:
                await store.append_event(
                    app_name=APP,
                    user_id=USER,
                    session_id="slow",
                    event=make_event("slow", 0),
                    expected_revision=0,
                )
        finally:
            await tx.rollback()
        assert info.value.sqlstate == "57014"
        assert info.value.retryable
        assert "slow" in str(info.value)  # names the session
        await assert_consistent(admin, ["slow"], expected_events=0)
        await append_until_stored(store, "slow", 1, [])
    finally:
        await store.close()


async def test_command_timeout_is_a_retryable_storage_error_and_cancels_the_statement(
    db: str, admin: asyncpg.Connection, locker: asyncpg.Connection
) -> None:
    name = tag()
    store = await SessionStore.connect(
        db, max_size=1, command_timeout=0.2, server_settings={"application_name": name}
    )
    try:
        await store.create_session(app_name=APP, user_id=USER, session_id="cmd")
        tx = await lock_session(locker, "cmd")
        try:
            with pytest.raises(StorageError, match="timed out") as info:
                await store.append_event(
                    app_name=APP,
                    user_id=USER,
                    session_id="cmd",
                    event=make_event("cmd", 0),
                    expected_revision=0,
                )
            # The driver cancelled the statement server-side: it is not left waiting.
            await wait_until_idle(admin, name)
        finally:
            await tx.rollback()
        assert info.value.retryable
        await assert_consistent(admin, ["cmd"], expected_events=0)
        await append_until_stored(store, "cmd", 1, [])
    finally:
        await store.close()


async def test_exhausted_pool_is_a_retryable_storage_error_after_pool_timeout(db: str) -> None:
    store = await SessionStore.connect(db, max_size=1, pool_timeout=0.2)
    try:
        async with store.pool.acquire():  # the only connection is busy
            started = time.monotonic()
            with pytest.raises(StorageError, match="timed out") as info:
                await store.get_app_state(app_name=APP)
            assert time.monotonic() - started < 2
        assert info.value.retryable
        assert await store.get_app_state(app_name=APP) == {}
    finally:
        await store.close()
