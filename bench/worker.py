"""One benchmark subprocess: one implementation, one workload set, one repetition.

Started by :mod:`bench.__main__` with a JSON spec in ``$BENCH_SPEC``; writes its results to
the spec's ``out`` file. One process per (implementation, set, repetition) makes peak RSS
(``ru_maxrss``, a high-water mark) belong to that implementation and workload set alone.

Sets: ``setup`` (untimed: create the schema and the read fixtures), ``write`` (create,
append sequential, append concurrent, delete), ``read`` (get 10/100/1,000 events, newest 10,
list 1,000), ``count`` (untimed: statements per call through :mod:`bench.wirecount`).
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import asyncpg

from bench.common import (
    FIXTURE_EVENTS,
    FLOOR_TABLE,
    LIST_APP,
    LIST_SESSIONS,
    LIST_USER,
    READ_APP,
    READ_USER,
    Sizes,
    upstream_address,
    with_address,
)
from bench.timing import Sample, run_concurrent, run_for, run_sequential
from bench.wirecount import WireCounter

if TYPE_CHECKING:
    from google.adk.sessions.base_session_service import BaseSessionService
    from google.adk.sessions.session import Session

# Calls per operation in the counting pass (after warm-up); counts are deterministic.
COUNT_CALLS = 5
COUNT_CONC_APPENDS = 2


def _expect(condition: bool, what: str) -> None:
    # Not assert: the checks must hold under python -O too.
    if not condition:
        raise RuntimeError(f"benchmark self-check failed: {what}")


def _peak_rss_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux


def _service_url(dsn: str) -> str:
    # The one URL both services are given: DatabaseSessionService needs the +asyncpg driver
    # and PostgresSessionService accepts the same string (it is a drop-in).
    return "postgresql+asyncpg://" + dsn.split("://", 1)[1]


def make_service(impl: str, dsn: str) -> BaseSessionService:
    """The service under test, with its default pool settings."""
    if impl == "adk_pg":
        from adk_pg.adk import PostgresSessionService

        return PostgresSessionService(_service_url(dsn))
    if impl == "adk_db":
        from google.adk.sessions.database_session_service import DatabaseSessionService

        return DatabaseSessionService(_service_url(dsn))
    if impl == "memory":
        from google.adk.sessions.in_memory_session_service import InMemorySessionService

        return InMemorySessionService()
    raise ValueError(f"no session service for {impl!r}")


async def close_service(service: BaseSessionService) -> None:
    close: Callable[[], Awaitable[None]] | None = getattr(service, "close", None)
    if close is not None:
        await close()


# ---- fixtures ---------------------------------------------------------------------------


async def populate_read_fixtures(service: BaseSessionService) -> None:
    """Sessions with 10, 100 and 1,000 events, and 1,000 sessions of one user to list.

    Written through the implementation's own API, so each stores its own format.
    """
    from bench.events import initial_state, make_events

    events = make_events(max(FIXTURE_EVENTS), seed=4)

    async def fill(n: int) -> None:
        session = await service.create_session(
            app_name=READ_APP, user_id=READ_USER, session_id=f"s{n}", state=initial_state(n)
        )
        for event in events[:n]:
            await service.append_event(session, event)

    gate = asyncio.Semaphore(8)

    async def create(i: int) -> None:
        async with gate:
            await service.create_session(
                app_name=LIST_APP, user_id=LIST_USER, state=initial_state(i)
            )

    # All at once: the appends to one session are sequential, the rest fills the gaps.
    await asyncio.gather(
        *(fill(n) for n in FIXTURE_EVENTS), *(create(i) for i in range(LIST_SESSIONS))
    )


async def analyze(dsn: str) -> None:
    # autovacuum may be off (it is on the reference server): without statistics the planner
    # guesses. Both databases are analysed the same way after their fixtures are written.
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


async def floor_setup(dsn: str) -> None:
    from bench.events import make_events

    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f"CREATE TABLE {FLOOR_TABLE} (id text PRIMARY KEY, doc jsonb NOT NULL)")
        docs = [e.model_dump_json(exclude_none=True) for e in make_events(1000, seed=5)]
        await conn.executemany(
            f"INSERT INTO {FLOOR_TABLE} (id, doc) VALUES ($1, $2::jsonb)",
            [(f"fx-{i}", doc) for i, doc in enumerate(docs)],
        )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


# ---- the service workloads ----------------------------------------------------------------


async def write_set(service: BaseSessionService, sizes: Sizes, rep: int) -> dict[str, Sample]:
    """create, append sequential, append concurrent, delete; warm-up first, untimed."""
    from bench.events import initial_state, make_events

    app = f"bench_w{rep}"  # a fresh app per repetition: nothing collides across reps
    warm_events = make_events(sizes.warmup, seed=99)
    warm = [
        await service.create_session(app_name=app, user_id="writer", state=initial_state(i))
        for i in range(sizes.warmup)
    ]
    for event in warm_events:
        await service.append_event(warm[0], event)
    # Concurrent warm-up: opens every pool connection the concurrent workload will use.
    warm_conc = [
        await service.create_session(app_name=app, user_id=f"warm-{w}", state=initial_state(w))
        for w in range(sizes.conc_sessions)
    ]
    await asyncio.gather(*(service.append_event(s, e) for s in warm_conc for e in warm_events[:1]))
    for s in warm[1:]:
        await service.delete_session(app_name=app, user_id="writer", session_id=s.id)

    results: dict[str, Sample] = {}
    created: list[Session] = []

    async def create(i: int) -> None:
        created.append(
            await service.create_session(app_name=app, user_id="writer", state=initial_state(i))
        )

    results["create"] = await run_sequential(create, sizes.creates)

    session = await service.create_session(app_name=app, user_id="writer", state={})
    events = make_events(sizes.appends_seq, seed=2)

    async def append(i: int) -> None:
        # As ADK's Runner does: the same session object every time, updated by each call.
        await service.append_event(session, events[i])

    results["append_seq"] = await run_sequential(append, sizes.appends_seq)

    conc = [
        await service.create_session(app_name=app, user_id=f"user-{w}", state=initial_state(w))
        for w in range(sizes.conc_sessions)
    ]
    conc_events = make_events(sizes.conc_appends, seed=3)

    async def append_conc(w: int, i: int) -> None:
        await service.append_event(conc[w], conc_events[i])

    results["append_conc"] = await run_concurrent(
        append_conc, sizes.conc_sessions, sizes.conc_appends
    )

    async def delete(i: int) -> None:
        await service.delete_session(app_name=app, user_id="writer", session_id=created[i].id)

    results["delete"] = await run_sequential(delete, sizes.creates)

    # Untimed check that the timed calls did what they claim.
    stored = await service.get_session(app_name=app, user_id="writer", session_id=session.id)
    _expect(stored is not None and len(stored.events) == sizes.appends_seq, "append_seq")
    stored = await service.get_session(app_name=app, user_id="user-0", session_id=conc[0].id)
    _expect(stored is not None and len(stored.events) == sizes.conc_appends, "append_conc")
    left = await service.list_sessions(app_name=app, user_id="writer")
    _expect(len(left.sessions) == 2, f"delete left {len(left.sessions)} sessions, not 2")
    return results


def _read_calls(service: BaseSessionService) -> dict[str, Callable[[int], Awaitable[object]]]:
    from google.adk.sessions.base_session_service import GetSessionConfig

    newest = GetSessionConfig(num_recent_events=10)

    def get(n: int, config: GetSessionConfig | None = None) -> Callable[[int], Awaitable[object]]:
        async def call(_: int) -> object:
            return await service.get_session(
                app_name=READ_APP, user_id=READ_USER, session_id=f"s{n}", config=config
            )

        return call

    async def list_all(_: int) -> object:
        return await service.list_sessions(app_name=LIST_APP, user_id=LIST_USER)

    return {
        "get_10": get(10),
        "get_100": get(100),
        "get_1000": get(1000),
        "get_newest10": get(1000, newest),
        "list_1000": list_all,
    }


async def _check_reads(calls: dict[str, Callable[[int], Awaitable[object]]]) -> None:
    """Untimed: each read returns what its name says (and warms every statement up)."""
    expected = {"get_10": 10, "get_100": 100, "get_1000": 1000, "get_newest10": 10}
    for key, n in expected.items():
        got = await calls[key](0)
        size = len(getattr(got, "events", ()))
        _expect(size == n, f"{key}: {size} events, expected {n}")
    listed = await calls["list_1000"](0)
    _expect(len(getattr(listed, "sessions", ())) == LIST_SESSIONS, "list_1000")


async def read_set(service: BaseSessionService, sizes: Sizes) -> dict[str, Sample]:
    calls = _read_calls(service)
    await _check_reads(calls)
    for call in calls.values():
        for i in range(max(2, sizes.warmup // 4)):
            await call(i)
    return {
        key: await run_for(
            call,
            min_calls=sizes.read_min_calls,
            min_seconds=sizes.read_min_seconds,
            max_calls=sizes.read_max_calls,
        )
        for key, call in calls.items()
    }


# ---- the floor: plain asyncpg ---------------------------------------------------------------

_INSERT = f"INSERT INTO {FLOOR_TABLE} (id, doc) VALUES ($1, $2::jsonb)"
_SELECT = f"SELECT doc FROM {FLOOR_TABLE} WHERE id = $1"


async def floor_write(dsn: str, sizes: Sizes, rep: int) -> dict[str, Sample]:
    """One-row INSERTs of an event-sized JSONB document; sequential, then 32 connections."""
    from bench.events import make_events

    docs = [e.model_dump_json(exclude_none=True) for e in make_events(sizes.appends_seq, seed=2)]
    conn = await asyncpg.connect(dsn)
    try:
        for i in range(sizes.warmup):
            await conn.execute(_INSERT, f"r{rep}-warm-{i}", docs[i % len(docs)])

        async def insert(i: int) -> None:
            await conn.execute(_INSERT, f"r{rep}-seq-{i}", docs[i])

        results = {"insert_seq": await run_sequential(insert, sizes.appends_seq)}
    finally:
        await conn.close()

    conns = [await asyncpg.connect(dsn) for _ in range(sizes.conc_sessions)]
    try:
        for w, c in enumerate(conns):
            await c.execute(_INSERT, f"r{rep}-cwarm-{w}", docs[0])

        async def insert_conc(w: int, i: int) -> None:
            await conns[w].execute(_INSERT, f"r{rep}-c{w}-{i}", docs[i % len(docs)])

        results["insert_conc"] = await run_concurrent(
            insert_conc, sizes.conc_sessions, sizes.conc_appends
        )
    finally:
        for c in conns:
            await c.close()
    return results


async def floor_read(dsn: str, sizes: Sizes) -> dict[str, Sample]:
    conn = await asyncpg.connect(dsn)
    try:
        for i in range(sizes.warmup):
            await conn.fetchval(_SELECT, f"fx-{i}")

        async def select(i: int) -> None:
            doc = await conn.fetchval(_SELECT, f"fx-{i % 1000}")
            _expect(doc is not None, "select_pk found no row")

        return {
            "select_pk": await run_for(
                select,
                min_calls=sizes.read_min_calls,
                min_seconds=sizes.read_min_seconds,
                max_calls=sizes.read_max_calls,
            )
        }
    finally:
        await conn.close()


# ---- the counting pass ----------------------------------------------------------------------


class _Counting:
    def __init__(self, counter: WireCounter) -> None:
        self.counter = counter
        self.per_call: dict[str, dict[str, float]] = {}

    async def measure(self, key: str, calls: int, work: Callable[[], Awaitable[object]]) -> None:
        self.counter.reset()
        await work()
        # Let the proxy forward anything still in flight (nothing should be) before reading.
        await asyncio.sleep(0.05)
        c = self.counter.counts
        self.per_call[key] = {
            "statements": c.statements / calls,
            "round_trips": c.round_trips / calls,
            "parses": c.parses / calls,
        }


async def count_service(service: BaseSessionService, counting: _Counting) -> None:
    from bench.events import initial_state, make_events

    app, n = "bench_count", COUNT_CALLS
    # Ten appends, so that one of them carries the user: key, as in the timed workloads.
    events = make_events(3 + 10, seed=6)
    # Warm-up: every statement prepared once on the connection sequential calls get.
    warm = await service.create_session(app_name=app, user_id="counter", state=initial_state(0))
    for event in events[:3]:
        await service.append_event(warm, event)
    extra = await service.create_session(app_name=app, user_id="counter", state={})
    await service.delete_session(app_name=app, user_id="counter", session_id=extra.id)
    calls = _read_calls(service)
    await _check_reads(calls)

    created: list[Session] = []

    async def creates() -> None:
        for i in range(n):
            session = await service.create_session(
                app_name=app, user_id="counter", state=initial_state(i)
            )
            created.append(session)

    await counting.measure("create", n, creates)

    async def appends() -> None:
        for event in events[3:]:
            await service.append_event(warm, event)

    await counting.measure("append_seq", len(events) - 3, appends)

    for key, call in calls.items():

        async def repeat(call: Callable[[int], Awaitable[object]] = call) -> None:
            for i in range(n):
                await call(i)

        await counting.measure(key, n, repeat)

    async def deletes() -> None:
        for s in created:
            await service.delete_session(app_name=app, user_id="counter", session_id=s.id)

    await counting.measure("delete", n, deletes)

    # Last, because it opens more pool connections (each prepares its statements once; the
    # untimed warm-up gather below does that before counting).
    workers = 32
    conc = [
        await service.create_session(app_name=app, user_id=f"c-{w}", state={})
        for w in range(workers)
    ]
    await asyncio.gather(*(service.append_event(s, events[0]) for s in conc))

    async def appends_conc() -> None:
        async def one(s: Session) -> None:
            for event in events[1 : 1 + COUNT_CONC_APPENDS]:
                await service.append_event(s, event)

        await asyncio.gather(*(one(s) for s in conc))

    await counting.measure("append_conc", workers * COUNT_CONC_APPENDS, appends_conc)


async def count_floor(dsn: str, counting: _Counting) -> None:
    n = COUNT_CALLS
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(_INSERT, "count-warm", "{}")
        await conn.fetchval(_SELECT, "fx-0")

        async def inserts() -> None:
            for i in range(n):
                await conn.execute(_INSERT, f"count-{i}", "{}")

        await counting.measure("insert_seq", n, inserts)

        async def selects() -> None:
            for i in range(n):
                await conn.fetchval(_SELECT, f"fx-{i}")

        await counting.measure("select_pk", n, selects)
    finally:
        await conn.close()
    conns = [await asyncpg.connect(dsn) for _ in range(32)]
    try:
        for w, c in enumerate(conns):
            await c.execute(_INSERT, f"count-cw-{w}", "{}")

        async def inserts_conc() -> None:
            async def one(w: int) -> None:
                for i in range(COUNT_CONC_APPENDS):
                    await conns[w].execute(_INSERT, f"count-c{w}-{i}", "{}")

            await asyncio.gather(*(one(w) for w in range(32)))

        await counting.measure("insert_conc", 32 * COUNT_CONC_APPENDS, inserts_conc)
    finally:
        for c in conns:
            await c.close()


# ---- entry point ----------------------------------------------------------------------------


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    impl: str = spec["impl"]
    kind: str = spec["set"]
    dsn: str = spec["dsn"]
    sizes = Sizes.from_json(spec["sizes"])
    rep: int = spec["rep"]
    # The machine's load when the worker starts: other work on the host shows up here.
    result: dict[str, Any] = {"impl": impl, "set": kind, "rep": rep, "load": os.getloadavg()[0]}
    samples: dict[str, Sample] = {}
    if impl != "floor":
        import bench.events  # noqa: F401  (the event classes are part of the baseline)
    result["rss_start_kb"] = _peak_rss_kb()
    if kind == "count":
        counter = WireCounter(*upstream_address(dsn))
        proxied = with_address(dsn, "127.0.0.1", await counter.start())
        counting = _Counting(counter)
        try:
            if impl == "floor":
                await count_floor(proxied, counting)
            else:
                service = make_service(impl, proxied)
                try:
                    await count_service(service, counting)
                finally:
                    await close_service(service)
        finally:
            await counter.close()
        result["counts"] = counting.per_call
    elif impl == "floor":
        if kind == "setup":
            await floor_setup(dsn)
        elif kind == "write":
            samples = await floor_write(dsn, sizes, rep)
        else:
            samples = await floor_read(dsn, sizes)
    else:
        service = make_service(impl, dsn)
        # The baseline: interpreter, imports and a constructed service, before any work.
        result["rss_start_kb"] = _peak_rss_kb()
        try:
            if kind == "setup":
                await populate_read_fixtures(service)
            elif kind == "write":
                samples = await write_set(service, sizes, rep)
            else:
                if impl == "memory":
                    # Nothing persists between processes: the fixtures are built here, untimed.
                    await populate_read_fixtures(service)
                samples = await read_set(service, sizes)
        finally:
            await close_service(service)
        if kind == "setup":
            await analyze(dsn)
    result["workloads"] = {key: s.summary() for key, s in samples.items()}
    result["rss_peak_kb"] = _peak_rss_kb()
    return result


def main() -> None:
    spec: dict[str, Any] = json.loads(os.environ["BENCH_SPEC"])
    result = asyncio.run(run(spec))
    with open(spec["out"], "w", encoding="utf-8") as out:
        json.dump(result, out)


if __name__ == "__main__":
    main()
