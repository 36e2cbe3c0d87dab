"""Concurrent writers against the real server: nothing lost, nothing doubled, no deadlock.

Writers on one session race through optimistic concurrency (reload on StaleSessionError, as
ADK's runner would); writers on many sessions of one user and app share the app and user state
rows. Two pools stand for two processes; a test also runs two real OS processes (this file is
their script: see ``__main__`` at the bottom).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

import asyncpg
import pytest

from adk_pg import Event, EventActions, SessionStore, StaleSessionError
from adk_pg.db.pool import create_pool

APP = "app"
USER = "user"
# Each append can lose to every other writer; this bounds one writer's loop far above what
# 8 writers x 50 events need (about 8 attempts per event), so a livelock fails instead of
# hanging the run.
MAX_ATTEMPTS_PER_EVENT = 400


@dataclass
class Wins:
    """What one writer stored: (event id, revision its append returned), and its retries."""

    name: str
    stored: list[tuple[str, int]] = field(default_factory=list)
    stale: int = 0


async def writer(
    store: SessionStore, session_id: str, name: str, count: int, *, start: asyncio.Event | None
) -> Wins:
    """Append ``count`` events to one session, reloading and retrying on StaleSessionError.

    Each event writes the session key ``<name>``, ``app:<name>``, ``user:<name>`` and the
    shared key ``last`` (its own id). The timestamp is taken after the revision it expects
    was read, so timestamp order is commit order.
    """
    wins = Wins(name)
    if start is not None:
        await start.wait()
    session = await store.get_session(
        app_name=APP, user_id=USER, session_id=session_id, num_recent_events=0
    )
    assert session is not None
    revision = session.revision
    for n in range(count):
        event_id = f"{name}-{n:03d}"
        for _ in range(MAX_ATTEMPTS_PER_EVENT):
            delta = {name: n, f"app:{name}": n, f"user:{name}": n, "last": event_id}
            event = Event(
                id=event_id,
                author=name,
                invocation_id=name,
                timestamp=time.time(),
                actions=EventActions(state_delta=delta),
            )
            try:
                result = await store.append_event(
                    app_name=APP,
                    user_id=USER,
                    session_id=session_id,
                    event=event,
                    expected_revision=revision,
                )
            except StaleSessionError:
                wins.stale += 1
                fresh = await store.get_session(
                    app_name=APP, user_id=USER, session_id=session_id, num_recent_events=0
                )
                assert fresh is not None
                revision = fresh.revision
                continue
            assert result is not None
            revision = result.revision
            wins.stored.append((event_id, result.revision))
            break
        else:
            raise AssertionError(f"{event_id} lost {MAX_ATTEMPTS_PER_EVENT} races in a row")
    return wins


async def run_writers(
    stores: Sequence[SessionStore], session_id: str, names: Sequence[str], count: int
) -> list[Wins]:
    """Run one writer per name, spread round-robin over ``stores``, released together."""
    start = asyncio.Event()
    tasks = [
        asyncio.create_task(writer(stores[i % len(stores)], session_id, name, count, start=start))
        for i, name in enumerate(names)
    ]
    start.set()
    return list(await asyncio.wait_for(asyncio.gather(*tasks), timeout=60))


async def assert_exactly_the_wins_are_stored(
    store: SessionStore, admin: asyncpg.Connection, session_id: str, wins: Sequence[Wins]
) -> None:
    """Every success stored once, in commit order, nothing else; every winner's keys present."""
    stored = sorted((revision, event_id) for w in wins for event_id, revision in w.stored)
    total = len(stored)
    # Each success got its own revision, and together they are 1..N: no gap, no double.
    assert [revision for revision, _ in stored] == list(range(1, total + 1))
    session = await store.get_session(app_name=APP, user_id=USER, session_id=session_id)
    assert session is not None
    assert session.revision == total
    assert [e.id for e in session.events] == [event_id for _, event_id in stored]
    # The table holds nothing the writers were not told about.
    count = await admin.fetchval(
        "SELECT count(*) FROM adk.events WHERE session_id = $1", session_id
    )
    assert count == total
    for w in wins:
        last_n = len(w.stored) - 1
        assert session.state[w.name] == last_n
        assert session.state[f"app:{w.name}"] == last_n
        assert session.state[f"user:{w.name}"] == last_n
    # The shared key holds the value of the last commit.
    assert session.state["last"] == stored[-1][1]


@pytest.fixture
async def two_stores(db: str) -> AsyncIterator[list[SessionStore]]:
    """Two stores on two separate pools: two processes' worth of connections."""
    pools = [await create_pool(db, min_size=1, max_size=4) for _ in range(2)]
    try:
        yield [SessionStore(p) for p in pools]
    finally:
        for p in pools:
            await p.close()


async def test_eight_writers_on_two_pools_store_every_success_once_in_order(
    two_stores: list[SessionStore], admin: asyncpg.Connection
) -> None:
    first = two_stores[0]
    session = await first.create_session(app_name=APP, user_id=USER, session_id="contended")
    names = [f"w{i}" for i in range(8)]
    wins = await run_writers(two_stores, session.id, names, 50)
    assert all(len(w.stored) == 50 for w in wins)
    # The race was real: writers did lose and reload.
    assert sum(w.stale for w in wins) > 0
    await assert_exactly_the_wins_are_stored(first, admin, session.id, wins)


async def test_two_os_processes_writing_one_session(
    dsn: str, store: SessionStore, admin: asyncpg.Connection
) -> None:
    session = await store.create_session(app_name=APP, user_id=USER, session_id="two-procs")
    groups = [["p0a", "p0b", "p0c"], ["p1a", "p1b", "p1c"]]
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            dsn,
            session.id,
            "25",
            *names,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "PYTHONWARNINGS": "error"},
        )
        for names in groups
    ]
    try:
        # Both processes connect first and then start together, so they really race.
        for proc in procs:
            assert proc.stdout is not None
            line = await asyncio.wait_for(proc.stdout.readline(), timeout=30)
            assert line.strip() == b"ready", line
        outputs = []
        for proc in procs:
            outputs.append(proc.communicate(b"go\n"))
        results = await asyncio.wait_for(asyncio.gather(*outputs), timeout=60)
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.kill()  # our own child, by its pid
                await proc.wait()
    wins = []
    for proc, (out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err.decode()
        for item in json.loads(out):
            wins.append(Wins(item["name"], [tuple(s) for s in item["stored"]], item["stale"]))
    assert sorted(w.name for w in wins) == sorted(n for names in groups for n in names)
    assert all(len(w.stored) == 25 for w in wins)
    await assert_exactly_the_wins_are_stored(store, admin, session.id, wins)


async def test_many_sessions_of_one_user_and_app_never_deadlock_nor_lose_keys(
    two_stores: list[SessionStore], admin: asyncpg.Connection
) -> None:
    """Appends and creates on many sessions share the app and user rows: all succeed."""
    sessions = 12
    events = 15
    created = [
        await two_stores[i % 2].create_session(app_name=APP, user_id=USER, session_id=f"s{i:02d}")
        for i in range(sessions)
    ]

    async def append_all(index: int) -> None:
        store = two_stores[index % 2]
        session_id = created[index].id
        revision = 0
        for n in range(events):
            delta = {
                "n": n,
                f"app:s{index}": n,
                f"user:s{index}": n,
                # Every writer also overwrites one shared key of each scope.
                "app:shared": index,
                "user:shared": index,
            }
            result = await store.append_event(
                app_name=APP,
                user_id=USER,
                session_id=session_id,
                event=Event(timestamp=time.time(), actions=EventActions(state_delta=delta)),
                expected_revision=revision,
            )
            assert result is not None
            revision = result.revision

    async def create_one(index: int) -> None:
        # New sessions with initial app: and user: state, racing the appends above.
        await two_stores[index % 2].create_session(
            app_name=APP,
            user_id=USER,
            session_id=f"c{index:02d}",
            state={"x": index, f"app:c{index}": index, f"user:c{index}": index},
        )

    jobs = [append_all(i) for i in range(sessions)] + [create_one(i) for i in range(sessions)]
    # Interleave the two kinds so creates start while appends run.
    interleaved = [
        job for pair in zip(jobs[:sessions], jobs[sessions:], strict=True) for job in pair
    ]
    outcomes = await asyncio.wait_for(
        asyncio.gather(*interleaved, return_exceptions=True), timeout=60
    )
    # No deadlock (40P01), no serialization failure (40001), no other error surfaced.
    assert [o for o in outcomes if isinstance(o, BaseException)] == []

    app_state = await two_stores[0].get_app_state(app_name=APP)
    user_state = await two_stores[0].get_user_state(app_name=APP, user_id=USER)
    for i in range(sessions):
        assert app_state[f"s{i}"] == events - 1
        assert user_state[f"s{i}"] == events - 1
        assert app_state[f"c{i}"] == i
        assert user_state[f"c{i}"] == i
    assert app_state["shared"] in range(sessions)
    assert user_state["shared"] in range(sessions)
    rows = await admin.fetch(
        "SELECT s.id, s.revision, s.state, count(e.id) AS events "
        "FROM adk.sessions AS s LEFT JOIN adk.events AS e "
        "ON (e.app_name, e.user_id, e.session_id) = (s.app_name, s.user_id, s.id) "
        "GROUP BY s.app_name, s.user_id, s.id ORDER BY s.id"
    )
    assert len(rows) == 2 * sessions
    for row in rows:
        if row["id"].startswith("s"):
            assert (row["revision"], row["events"], row["state"]) == (events, events, {"n": 14})
        else:
            assert (row["revision"], row["events"]) == (0, 0)
            assert row["state"] == {"x": int(row["id"][1:])}


# ---- the script each OS process of test_two_os_processes_writing_one_session runs ----------


async def _process_main(argv: Sequence[str]) -> None:
    dsn, session_id, count, *names = argv
    store = await SessionStore.connect(dsn, min_size=1, max_size=len(names))
    try:
        await store.get_session(app_name=APP, user_id=USER, session_id=session_id)
        print("ready", flush=True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, sys.stdin.readline)  # "go"
        start = asyncio.Event()
        tasks = [writer(store, session_id, name, int(count), start=start) for name in names]
        start.set()
        wins = await asyncio.gather(*tasks)
    finally:
        await store.close()
    print(json.dumps([{"name": w.name, "stored": w.stored, "stale": w.stale} for w in wins]))


if __name__ == "__main__":
    asyncio.run(asyncio.wait_for(_process_main(sys.argv[1:]), timeout=60))
