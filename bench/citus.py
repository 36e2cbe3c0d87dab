"""``python -m bench.citus [--dsn DSN] [--citus DSN] [--reps N] [--calls N]``.

The session store's hot calls on one PostgreSQL server and on a Citus coordinator, in the
same run: the single server gets a fresh database (from --dsn, else $ADK_PG_BENCH_DSN, else
the local server), the cluster a fresh schema of --citus's database (else
$ADK_PG_CITUS_DSN), migrated and distributed by ``adk-pg distribute``; both are dropped at
the end. Each repetition runs every workload on both, alternating which goes first; the
ratio (Citus p50 / single server p50) is taken inside a repetition and its median over the
repetitions is printed. Warm-up calls are never timed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from adk_pg import Event, EventActions, SessionStore
from adk_pg.db.dsn import with_database
from adk_pg.schema.admin import throwaway_database
from adk_pg.schema.citus import distribute
from adk_pg.schema.runner import migrate
from bench.timing import run_sequential

LOCAL = "postgresql://postgres@127.0.0.1:5432/postgres"
WORKLOADS = (
    "create",
    "create, user: delta",
    "append, session delta",
    "append, user: delta",
    "append, app: delta",
    "get_session, newest 10",
    "list_sessions of one user",
    "delete_session",
)


async def workloads(store: SessionStore, calls: int, tag: str) -> dict[str, float]:
    """Each workload's p50 (ms) on ``store``, after an untimed warm-up of each."""
    app = f"bench-{tag}"
    results: dict[str, float] = {}

    async def timed(name: str, call: Callable[[int], Awaitable[object]]) -> None:
        for i in range(20):
            await call(calls + i)  # warm-up: prepared statements, caches
        sample = await run_sequential(call, calls)
        results[name] = sample.summary()["p50_ms"]

    revisions: dict[str, int] = {}

    async def append(user: str, session: str, delta: dict[str, Any]) -> None:
        event = Event(author="user", content=None, actions=EventActions(state_delta=delta))
        done = await store.append_event(
            app_name=app,
            user_id=user,
            session_id=session,
            event=event,
            expected_revision=revisions.get(session, 0),
        )
        assert done is not None
        revisions[session] = done.revision

    await timed(
        "create",
        lambda i: store.create_session(app_name=app, user_id=f"u{i % 50}", session_id=f"c{i}"),
    )
    await timed(
        "create, user: delta",
        lambda i: store.create_session(
            app_name=app, user_id=f"u{i % 50}", session_id=f"d{i}", state={"user:seen": i}
        ),
    )
    await timed("append, session delta", lambda i: append(f"u{i % 50}", f"c{i}", {"k": i}))
    await timed("append, user: delta", lambda i: append(f"u{i % 50}", f"d{i}", {"user:n": i}))
    await timed("append, app: delta", lambda i: append(f"u{i % 50}", f"c{i}", {"app:n": i}))
    for i in range(30):  # one session with history
        await append("u0", "c0", {"h": i})
    await timed(
        "get_session, newest 10",
        lambda i: store.get_session(
            app_name=app, user_id="u0", session_id="c0", num_recent_events=10
        ),
    )
    await timed(
        "list_sessions of one user",
        lambda i: store.list_sessions(app_name=app, user_id=f"u{i % 50}"),
    )
    await timed(
        "delete_session",
        lambda i: store.delete_session(app_name=app, user_id=f"u{i % 50}", session_id=f"d{i}"),
    )
    return results


async def main(args: argparse.Namespace) -> None:
    schema = f"adk_bench_{uuid.uuid4().hex[:8]}"
    async with throwaway_database(args.dsn, "adk_pg_bench_single") as single_dsn:
        await migrate(single_dsn)
        conn = await asyncpg.connect(args.citus)
        try:
            await migrate(conn, schema=schema)
            await distribute(conn, schema=schema)
            async with (
                await SessionStore.connect(single_dsn) as single,
                await SessionStore.connect(args.citus, schema=schema) as cluster,
            ):
                ratios: dict[str, list[float]] = {w: [] for w in WORKLOADS}
                p50s: dict[str, dict[str, list[float]]] = {"single": {}, "citus": {}}
                for rep in range(args.reps):
                    order = [("single", single), ("citus", cluster)]
                    got: dict[str, dict[str, float]] = {}
                    for side, store in order if rep % 2 == 0 else order[::-1]:
                        got[side] = await workloads(store, args.calls, f"{rep}")
                        for name, value in got[side].items():
                            p50s[side].setdefault(name, []).append(value)
                    for name in WORKLOADS:
                        ratios[name].append(got["citus"][name] / got["single"][name])
        finally:
            await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            await conn.close()
    print(f"session store p50 (ms), median of {args.reps} repetitions, {args.calls} calls each")
    print(f"{'workload':<28}{'one server':>12}{'citus':>10}{'ratio':>8}")
    for name in WORKLOADS:
        single_ms = statistics.median(p50s["single"][name])
        citus_ms = statistics.median(p50s["citus"][name])
        ratio = statistics.median(ratios[name])
        print(f"{name:<28}{single_ms:>12.3f}{citus_ms:>10.3f}{ratio:>7.2f}x")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.citus", description=__doc__)
    parser.add_argument("--dsn", default=os.environ.get("ADK_PG_BENCH_DSN", LOCAL))
    parser.add_argument("--citus", default=os.environ.get("ADK_PG_CITUS_DSN"))
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    if not args.citus:
        parser.error("give --citus or set ADK_PG_CITUS_DSN (a Citus coordinator)")
    args.dsn = with_database(args.dsn, "postgres")
    return args


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
