"""``python -m bench.profile``: where adk-pg's hot paths spend their time.

For append_event, get_session with 1,000 events and list_sessions of 1,000 sessions it peels
the call apart layer by layer -- the ADK adapter, the SessionStore, the pool, the bare
statement on a dedicated connection, the server's own execution time (EXPLAIN ANALYZE), the
WAL flush at commit, and the client-side decoding -- and times each layer in interleaved
rounds (medians), so that client CPU and server time can be told apart on a noisy machine.
The line marked ``ALT`` times an alternative that is not product code: a deep copy of
cached decoded events (get_session). ``--tree`` adds pyinstrument's call tree of the
service calls.

Uses a fresh database (adk_pg_bench_profile_<random>), dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import pydantic_core

from adk_pg.db.connection_hooks import init_connection
from adk_pg.db.dsn import resolve_dsn
from adk_pg.db.values import float_text
from adk_pg.schema.admin import throwaway_database
from bench.common import LIST_APP, LIST_USER, READ_APP, READ_USER
from bench.events import make_events
from bench.worker import analyze, populate_read_fixtures

Layer = Callable[[int], Awaitable[object]]
CpuLayer = Callable[[], object]


class Rounds:
    """Times named layers in interleaved rounds: drift hits every layer alike."""

    def __init__(self) -> None:
        self.wall: dict[str, list[float]] = {}
        self.cpu: dict[str, list[float]] = {}
        self.notes: dict[str, str] = {}

    async def run(
        self, layers: dict[str, Layer], rounds: int, per_round: int, start: int = 0
    ) -> None:
        """Each layer is called with increasing indexes from ``start`` (fresh events)."""
        done = start
        for _ in range(rounds):
            for name, layer in layers.items():
                latencies = []
                cpu0 = time.process_time()
                for i in range(per_round):
                    t0 = time.perf_counter()
                    await layer(done + i)
                    latencies.append(time.perf_counter() - t0)
                cpu = (time.process_time() - cpu0) / per_round
                self.wall.setdefault(name, []).append(statistics.median(latencies) * 1e3)
                self.cpu.setdefault(name, []).append(cpu * 1e3)
            done += per_round

    def run_cpu(self, layers: dict[str, CpuLayer], rounds: int, per_round: int) -> None:
        """Pure client work (no I/O): wall time is CPU time."""
        for _ in range(rounds):
            for name, layer in layers.items():
                t0 = time.perf_counter()
                for _ in range(per_round):
                    layer()
                ms = (time.perf_counter() - t0) / per_round * 1e3
                self.wall.setdefault(name, []).append(ms)
                self.cpu.setdefault(name, []).append(ms)

    def add(self, name: str, values_ms: list[float], note: str = "") -> None:
        self.wall[name] = values_ms
        self.notes[name] = note

    def lines(self, title: str) -> list[str]:
        head = f"{title:<60} {'p50 ms':>8} {'(round min-max)':>17} {'CPU ms':>7}"
        out = [head, "-" * len(head)]
        for name, walls in self.wall.items():
            note = f"  {self.notes[name]}" if name in self.notes else ""
            if not walls:
                out.append(f"{name:<60} {'':>8} {'':>17} {'':>7}{note}")
                continue
            cpu = self.cpu.get(name)
            cpu_text = f"{statistics.median(cpu):7.3f}" if cpu else f"{'-':>7}"
            spread = f"({min(walls):.3f}-{max(walls):.3f})"
            out.append(f"{name:<60} {statistics.median(walls):8.3f} {spread:>17} {cpu_text}{note}")
        return out


@dataclass
class Explained:
    execution_ms: list[float]
    wal_bytes: float


async def explain(
    conn: asyncpg.Connection[Any], sql: str, args: Sequence[object], times: int
) -> Explained:
    """Server-side execution time of ``sql``, and the WAL it writes.

    TIMING OFF: per-node timing would inflate a sub-millisecond statement several times.
    Writes are rolled back, so the commit (WAL flush) is not included.
    """
    execution, wal = [], []
    for _ in range(times):
        tx = conn.transaction()
        await tx.start()
        try:
            plan = await conn.fetchval(
                "EXPLAIN (ANALYZE, TIMING OFF, WAL, FORMAT JSON) " + sql, *args
            )
        finally:
            await tx.rollback()
        top = json.loads(plan)[0] if isinstance(plan, str) else plan[0]
        execution.append(float(top["Execution Time"]))
        wal.append(float(top["Plan"].get("WAL Bytes", 0)))
    return Explained(execution, statistics.median(wal))


def add_explain(r: Rounds, label: str, found: Explained, *, timed: bool = True) -> None:
    """One line per statement: execution time (reads) or WAL written (writes).

    Planning is left out: after 5 executions PostgreSQL reuses a generic plan for these
    prepared statements (pg_prepared_statements shows it), so calls do not pay it. For
    sub-millisecond writes EXPLAIN's own overhead exceeds the statement, so only the WAL
    volume is shown; their server time is read off the layer timings instead.
    """
    if timed:
        r.add(f"  server: {label} execution (EXPLAIN ANALYZE)", found.execution_ms)
    else:
        r.add(f"  server: {label} WAL written per call", [], f"{found.wal_bytes:.0f} bytes")


def _revision(row: asyncpg.Record | None) -> int:
    if row is None or row["revision"] is None:
        raise RuntimeError("append_event.sql wrote nothing (stale or missing session)")
    revision: int = row["revision"]
    return revision


# ---- the three hot paths --------------------------------------------------------------------


async def profile_append(dsn: str, rounds: int, per_round: int) -> Rounds:
    from adk_pg.adk import PostgresSessionService
    from adk_pg.sessions.encode import state_json
    from adk_pg.sessions.queries import QUERIES
    from adk_pg.sessions.rows import SessionRows

    r = Rounds()
    service = PostgresSessionService(dsn)
    conn = await asyncpg.connect(dsn)
    try:
        total = rounds * per_round + 3
        app, user = "bench_profile", "appender"
        sessions = {}
        for name in ("service", "store", "pool", "conn", "async"):
            sessions[name] = await service.create_session(app_name=app, user_id=user, state={})
        assert service.store is not None
        store = SessionRows(service.store.pool, acquire_timeout=30)
        events = make_events(total, seed=7)
        docs = [e.model_dump_json(exclude_none=True) for e in events]
        # The statement's arguments after the event: its delta by scope and its id and time,
        # as the store sends them.
        deltas = [
            (*state_json(e.actions.state_delta, "delta"), e.id, float_text(e.timestamp))
            for e in events
        ]
        revisions = dict.fromkeys(sessions, 0)
        sql = QUERIES.append_event.sql
        await conn.execute("CREATE TABLE bench_floor (id text PRIMARY KEY, doc jsonb NOT NULL)")
        nosync = await asyncpg.connect(dsn, server_settings={"synchronous_commit": "off"})

        async def via_service(i: int) -> None:
            await service.append_event(sessions["service"], events[i])

        async def via_store(i: int) -> None:
            s = sessions["store"]
            result = await store.append(
                app_name=app,
                user_id=user,
                session_id=s.id,
                event_id=events[i].id,
                event_timestamp=events[i].timestamp,
                event_json=docs[i],
                state_delta=events[i].actions.state_delta,
                expected_revision=revisions["store"],
            )
            revisions["store"] = result.revision

        async def via_pool(i: int) -> None:
            # timeout=30: what the store passes by default (pool_timeout).
            async with store.pool.acquire(timeout=30) as c:
                row = await c.fetchrow(
                    sql, app, user, sessions["pool"].id, revisions["pool"], docs[i], *deltas[i]
                )
            revisions["pool"] = _revision(row)

        def on(c: asyncpg.Connection[Any], key: str) -> Layer:
            async def call(i: int) -> None:
                row = await c.fetchrow(
                    sql, app, user, sessions[key].id, revisions[key], docs[i], *deltas[i]
                )
                revisions[key] = _revision(row)

            return call

        async def floor_insert(i: int) -> None:
            await conn.execute(
                "INSERT INTO bench_floor (id, doc) VALUES ($1, $2::jsonb)", f"f{i}", docs[i]
            )

        layers: dict[str, Layer] = {
            "PostgresSessionService.append_event (all of it)": via_service,
            "SessionRows.append (JSON made beforehand)": via_store,
            "pool.acquire + fetchrow(append_event.sql)": via_pool,
            "fetchrow(append_event.sql) on one connection": on(conn, "conn"),
            "  same, synchronous_commit=off (no WAL flush wait)": on(nosync, "async"),
            "bare one-row JSONB INSERT (the floor)": floor_insert,
        }
        # Warm-up (events 0-2): statements prepared on every connection used.
        for i in range(3):
            for layer in layers.values():
                await layer(i)
        await r.run(layers, rounds, per_round, start=3)
        extra = make_events(1, seed=8)[0]
        one = extra.model_dump_json(exclude_none=True)
        scoped = state_json(extra.actions.state_delta, "delta")
        args = (app, user, sessions["conn"].id, None, one, *scoped, extra.id, extra.timestamp)
        found = await explain(conn, sql, args, rounds)
        add_explain(r, "append_event.sql", found, timed=False)
        found = await explain(
            conn, "INSERT INTO bench_floor (id, doc) VALUES ($1, $2::jsonb)", ("x", one), rounds
        )
        add_explain(r, "bare INSERT", found, timed=False)
        event = events[0]
        r.run_cpu(
            {
                "  client: event.model_dump_json(exclude_none=True)": lambda: event.model_dump_json(
                    exclude_none=True
                ),
            },
            rounds,
            200,
        )
        await nosync.close()
    finally:
        await conn.close()
        await service.close()
    return r


async def profile_reads(dsn: str, rounds: int, per_round: int) -> tuple[Rounds, Rounds]:
    from adk_pg.adk.codec import EVENTS as _EVENTS
    from adk_pg.adk.codec import decode_events as _decode_events
    from adk_pg.adk.codec import decode_sessions as _decode_sessions
    from adk_pg.adk.sessions import PostgresSessionService
    from adk_pg.sessions.queries import QUERIES
    from adk_pg.sessions.rows import SessionRows

    service = PostgresSessionService(dsn)
    # The pool's own codecs (jsonb decoded by pydantic_core), so decoding costs the same.
    conn = await asyncpg.connect(dsn)
    await init_connection(conn)
    try:
        await service.get_session(app_name=READ_APP, user_id=READ_USER, session_id="s10")
        assert service.store is not None
        store = SessionRows(service.store.pool, acquire_timeout=30)
        get_args = (READ_APP, READ_USER, "s1000", None, None)
        record = await store.get(app_name=READ_APP, user_id=READ_USER, session_id="s1000")
        assert record is not None
        events_json = record.events_json
        decoded = _EVENTS.validate_json(events_json)
        if _decode_events(events_json) != decoded:
            raise RuntimeError("the trusted decoder disagrees with validation")

        get = Rounds()
        layers: dict[str, Layer] = {
            "PostgresSessionService.get_session (all of it)": lambda _: service.get_session(
                app_name=READ_APP, user_id=READ_USER, session_id="s1000"
            ),
            "SessionRows.get (events left as JSON)": lambda _: store.get(
                app_name=READ_APP, user_id=READ_USER, session_id="s1000"
            ),
            "fetchrow(get_session.sql) on one connection": lambda _: conn.fetchrow(
                QUERIES.get_session.sql, *get_args
            ),
        }
        for layer in layers.values():
            await layer(0)
        await get.run(layers, rounds, per_round)
        add_explain(
            get, "get_session.sql", await explain(conn, QUERIES.get_session.sql, get_args, rounds)
        )
        get.run_cpu(
            {
                "  client: adk_pg.sessions.decode decoder (what get_session uses)": lambda: (
                    _decode_events(events_json)
                ),
                "  client: TypeAdapter(list[Event]).validate_json": lambda: _EVENTS.validate_json(
                    events_json
                ),
                "  client: pydantic_core.from_json only (parse, no models)": lambda: (
                    pydantic_core.from_json(events_json)
                ),
                # What a cache of decoded events would pay: a deep copy per call, as
                # InMemorySessionService does (its get_session returns deep copies).
                "  client: ALT copy.deepcopy of decoded events (a cache)": lambda: copy.deepcopy(
                    decoded
                ),
            },
            rounds,
            3,
        )
        get.notes["fetchrow(get_session.sql) on one connection"] = (
            f"{len(events_json) / 1e3:.0f} kB of JSON"
        )

        listing = Rounds()
        # The store's first page of one user's sessions: no keyset position, no page size.
        list_args = (LIST_APP, LIST_USER, None, "", None)
        list_sql = QUERIES.list_user_sessions.sql
        layers = {
            "PostgresSessionService.list_sessions (all of it)": lambda _: service.list_sessions(
                app_name=LIST_APP, user_id=LIST_USER
            ),
            "SessionRows.list_page (no ADK Session objects)": lambda _: store.list_page(
                app_name=LIST_APP, user_id=LIST_USER
            ),
            "fetch(list_user_sessions.sql) on one connection": lambda _: conn.fetch(
                list_sql, *list_args
            ),
        }
        for layer in layers.values():
            await layer(0)
        await listing.run(layers, rounds, max(2, per_round // 2))
        add_explain(
            listing,
            "list_user_sessions.sql",
            await explain(conn, list_sql, list_args, rounds),
        )
        page = await store.list_page(app_name=LIST_APP, user_id=LIST_USER)
        listing.notes["fetch(list_user_sessions.sql) on one connection"] = (
            f"one row: {len(page.sessions_json) / 1e3:.0f} kB of JSON"
        )
        listing.run_cpu(
            {
                "  client: validate the page into ADK Sessions": lambda: _decode_sessions(
                    page.sessions_json
                )
            },
            rounds,
            3,
        )
    finally:
        await conn.close()
        await service.close()
    return get, listing


async def call_tree(dsn: str) -> str:
    """pyinstrument's view of 300 appends and 10 get_session(1,000 events).

    The second tree shows library frames too: the time of get_session goes into pydantic
    validators of google-genai and ADK, which the first tree folds away.
    """
    from pyinstrument import Profiler

    from adk_pg.adk.codec import EVENTS as _EVENTS
    from adk_pg.adk.sessions import PostgresSessionService
    from adk_pg.sessions.rows import SessionRows

    service = PostgresSessionService(dsn)
    try:
        session = await service.create_session(app_name="bench_tree", user_id="u", state={})
        events = make_events(310, seed=9)
        for event in events[:10]:
            await service.append_event(session, event)
        # async_mode="disabled": time is attributed to the frames on the CPU, and waiting
        # for the server shows up as the event loop's select().
        profiler = Profiler(interval=0.0002, async_mode="disabled")
        profiler.start()
        for event in events[10:]:
            await service.append_event(session, event)
        for _ in range(10):
            await service.get_session(app_name=READ_APP, user_id=READ_USER, session_id="s1000")
        profiler.stop()
        overview: str = profiler.output_text(unicode=False, color=False, show_all=False)
        assert service.store is not None
        record = await SessionRows(service.store.pool).get(
            app_name=READ_APP, user_id=READ_USER, session_id="s1000"
        )
        assert record is not None
        profiler = Profiler(interval=0.0002, async_mode="disabled")
        profiler.start()
        for _ in range(10):
            _EVENTS.validate_json(record.events_json)
        profiler.stop()
        detail: str = profiler.output_text(unicode=False, color=False, show_all=True)
        return overview + "\n".join(detail.splitlines()[:60])
    finally:
        await service.close()


async def run(args: argparse.Namespace) -> None:
    from adk_pg.adk import PostgresSessionService

    async with throwaway_database(resolve_dsn(args.dsn), "adk_pg_bench_profile") as dsn:
        service = PostgresSessionService(dsn)
        try:
            await populate_read_fixtures(service)
        finally:
            await service.close()
        await analyze(dsn)
        append = await profile_append(dsn, args.rounds, args.calls)
        get, listing = await profile_reads(dsn, args.rounds, max(3, args.calls // 20))
        print(f"medians of {args.rounds} interleaved rounds; CPU = client process CPU per call\n")
        for rounds, title in (
            (append, "append_event (sequential, one session)"),
            (get, "get_session, 1,000 events"),
            (listing, "list_sessions, 1,000 sessions"),
        ):
            print("\n".join(rounds.lines(title)))
            print()
        if args.tree:
            print(await call_tree(dsn))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("--dsn", help="the PostgreSQL server (as for python -m bench)")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds")
    parser.add_argument("--calls", type=int, default=100, help="appends per layer per round")
    parser.add_argument("--tree", action="store_true", help="add pyinstrument's call tree")
    asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
