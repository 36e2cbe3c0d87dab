"""``python -m bench [--quick] [--json PATH] [--dsn DSN] [--reps N]`` (``make bench``).

adk-pg's PostgresSessionService, ADK's DatabaseSessionService (same server, its own fresh
database), ADK's InMemorySessionService (a ceiling) and a plain-asyncpg floor, run with the
same events on the same PostgreSQL server. The server comes from --dsn, else $ADK_PG_DSN,
else $POSTGRES_URL, else postgresql://postgres:postgres@127.0.0.1:5432/adk_sessions; each
implementation gets a fresh database (adk_pg_bench_<impl>_<random>), dropped at the end.

Every (implementation, workload set, repetition) runs in its own subprocess, so peak RSS is
per implementation and per set; the order of implementations rotates every repetition so
that drift (other load, caches, checkpoints) hits every side alike. Ratios are taken inside a
repetition and their median over repetitions is reported. Warm-up calls are never timed.
Statements per call come from a separate, untimed pass through a counting proxy
(:mod:`bench.wirecount`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import asyncpg

from adk_pg.db.dsn import redact_dsn, resolve_dsn, with_database
from adk_pg.schema.admin import throwaway_database
from bench import artifacts, feed, memory, paging, report, session_ops, telemetry
from bench.common import DB_IMPLS, FULL, IMPLS, LABELS, QUICK, SETS, Sizes

ROOT = Path(__file__).resolve().parent.parent
WORKER_TIMEOUT_S = 900


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="adk-pg vs ADK's DatabaseSessionService and InMemorySessionService.",
    )
    parser.add_argument("--dsn", help="the PostgreSQL server (a database on it is only read)")
    parser.add_argument("--quick", action="store_true", help="smaller counts (~1-2 minutes)")
    parser.add_argument("--reps", type=int, help="repetitions (default 5, --quick 3)")
    parser.add_argument("--json", metavar="PATH", help="also write every result to PATH")
    return parser.parse_args(argv)


async def admin_connect(dsn: str) -> asyncpg.Connection[Any]:
    """A connection for CREATE/DROP DATABASE: the DSN's database, else ``postgres``."""
    try:
        return await asyncpg.connect(dsn)
    except asyncpg.InvalidCatalogNameError:
        return await asyncpg.connect(with_database(dsn, "postgres"))


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def _read_json(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as f:
        data: dict[str, Any] = json.load(f)
    return data


def _write_json(path: str, payload: dict[str, Any]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(payload, f, indent=2)


async def machine_facts(conn: asyncpg.Connection[Any], dsn: str) -> dict[str, Any]:
    settings = {}
    for name in ("server_version", "fsync", "synchronous_commit", "shared_buffers"):
        settings[name] = await conn.fetchval(f"SHOW {name}")
    return {
        "cores": os.cpu_count(),
        "cpu": _cpu_model(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "platform": platform.platform(),
        "python": platform.python_version(),
        "server": redact_dsn(dsn),
        **settings,
        "versions": {
            d: _version(d)
            for d in ("adk-pg", "google-adk", "asyncpg", "sqlalchemy", "pydantic", "google-genai")
        },
    }


def print_header(facts: dict[str, Any], sizes: Sizes, quick: bool) -> None:
    v = facts["versions"]
    print(f"adk-pg bench{' --quick' if quick else ''}: {facts['server']}")
    print(
        f"machine: {facts['cores']} cores ({facts['cpu']}), Python {facts['python']}, "
        f"{facts['platform']}; load average at start {facts['load_average']}"
    )
    print(
        f"PostgreSQL {facts['server_version']}: fsync={facts['fsync']}, "
        f"synchronous_commit={facts['synchronous_commit']}, "
        f"shared_buffers={facts['shared_buffers']}"
    )
    print(
        f"versions: adk-pg {v['adk-pg']}, google-adk {v['google-adk']}, asyncpg {v['asyncpg']}, "
        f"sqlalchemy {v['sqlalchemy']}, pydantic {v['pydantic']}"
    )
    print(
        f"sizes: {sizes.creates} create/delete, {sizes.appends_seq} sequential appends, "
        f"{sizes.conc_sessions}x{sizes.conc_appends} concurrent appends, reads repeated for "
        f">= {sizes.read_min_seconds:g} s and >= {sizes.read_min_calls} calls; "
        f"{sizes.reps} repetitions; warm-up excluded",
        flush=True,
    )


async def run_worker(spec: dict[str, Any], scratch: Path) -> dict[str, Any]:
    out = scratch / f"{spec['impl']}-{spec['set']}-{spec['rep']}.json"
    env = {**os.environ, "BENCH_SPEC": json.dumps({**spec, "out": str(out)})}
    started = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.worker", cwd=ROOT, env=env
    )
    try:
        code = await asyncio.wait_for(proc.wait(), WORKER_TIMEOUT_S)
    except (asyncio.TimeoutError, asyncio.CancelledError):
        proc.kill()
        await proc.wait()
        raise
    if code != 0:
        raise RuntimeError(f"worker {spec['impl']}/{spec['set']} failed (exit {code})")
    result = _read_json(out)
    label = f"{LABELS[spec['impl']]} {spec['set']}"
    rep = f"rep {spec['rep'] + 1}" if spec["set"] in SETS else "untimed"
    print(f"  [{rep}] {label:<24} {time.perf_counter() - started:5.1f} s", file=sys.stderr)
    return result


async def run(args: argparse.Namespace) -> int:
    base = FULL if not args.quick else QUICK
    sizes = Sizes(**{**base.to_json(), "reps": args.reps or base.reps})
    server_dsn = resolve_dsn(args.dsn)
    raw: list[dict[str, Any]] = []
    started = time.perf_counter()
    async with contextlib.AsyncExitStack() as stack:
        admin = await admin_connect(server_dsn)
        stack.push_async_callback(admin.close)
        facts = await machine_facts(admin, server_dsn)
        print_header(facts, sizes, args.quick)
        databases = {
            impl: await stack.enter_async_context(
                throwaway_database(server_dsn, f"adk_pg_bench_{impl}")
            )
            for impl in DB_IMPLS
        }
        with tempfile.TemporaryDirectory(prefix="adk-pg-bench-") as tmp:
            scratch = Path(tmp)

            def spec(impl: str, kind: str, rep: int = -1) -> dict[str, Any]:
                return {
                    "impl": impl,
                    "set": kind,
                    "rep": rep,
                    "dsn": databases.get(impl, ""),
                    "sizes": sizes.to_json(),
                }

            # Untimed phases run their workers side by side, to save time.
            print("set-up (untimed): schema, read fixtures, ANALYZE", file=sys.stderr)
            raw += await asyncio.gather(
                *(run_worker(spec(impl, "setup"), scratch) for impl in DB_IMPLS)
            )
            for rep in range(sizes.reps):
                order = IMPLS[rep % len(IMPLS) :] + IMPLS[: rep % len(IMPLS)]
                for kind in SETS:
                    for impl in order:
                        raw.append(await run_worker(spec(impl, kind, rep), scratch))
            print("statement counts (untimed, through the counting proxy)", file=sys.stderr)
            counted = await asyncio.gather(
                *(run_worker(spec(impl, "count"), scratch) for impl in DB_IMPLS),
                return_exceptions=True,
            )
            for outcome in counted:
                if isinstance(outcome, BaseException):
                    # Counting needs a plain-TCP server (see bench.wirecount); timings stand.
                    print(f"  statement counts unavailable: {outcome}", file=sys.stderr)
                else:
                    raw.append(outcome)

    res = report.Results(raw)
    found = report.targets(res)
    sections: dict[str, dict[str, Any]] = {}
    print()
    print("\n".join(report.main_table(res)))
    print(
        "ops/s: calls / wall time (concurrent: all calls / wall time of the gather); p50-p99: "
        "per-call latency;\nCPU ms: client process CPU per call; stmts: statements per call "
        "sent to the server (Execute messages + statements in simple Query messages: "
        "BEGIN/COMMIT/ROLLBACK and pre-ping included);\nRTs: client round trips per call "
        "(statement prepares included). Medians of "
        f"{len(res.reps())} repetitions."
    )
    print()
    print("\n".join(report.ratio_table(res)))
    print()
    print("\n".join(report.rss_table(res)))
    loads = report.load_by_rep(res)
    if loads:
        print(
            "1-minute load average when each repetition's workers started (2 cores = 2.0 is "
            "full): " + "; ".join(f"rep {rep + 1}: {text}" for rep, text in loads.items())
        )
    for section in await run_sections(server_dsn, sizes.reps, quick=args.quick):
        print(f"\n{section.title}")
        print("-" * len(section.title))
        print("\n".join(section.lines))
        found += section.targets
        sections[section.title] = section.data
    print()
    print("\n".join(report.target_table(found)))
    passed = sum(t.ok for t in found)
    names = ", ".join(dsn.rpartition("/")[2] for dsn in databases.values())
    print(
        f"\n{passed}/{len(found)} targets met; total {time.perf_counter() - started:.0f} s; "
        f"databases {names} dropped."
    )
    if args.json:
        _write_json(
            args.json,
            {
                "machine": facts,
                "sizes": sizes.to_json(),
                "summary": report.summary_json(res),
                "targets": [t.to_json() for t in found],
                "sections": sections,
                "raw": raw,
            },
        )
        print(f"results written to {args.json}")
    return 0


async def run_sections(server_dsn: str, reps: int, *, quick: bool = False) -> list[report.Section]:
    """The sections after the session comparison, each on its own throwaway database."""
    print("sections: paging", file=sys.stderr)
    sections = [await paging.run(server_dsn, reps)]
    print("sections: memory", file=sys.stderr)
    sections.append(await memory.run(server_dsn, reps))
    print("sections: fork", file=sys.stderr)
    sections.append(await session_ops.run(server_dsn, reps))
    print("sections: artifacts", file=sys.stderr)
    sections.append(await artifacts.run(server_dsn, reps, quick=quick))
    print("sections: telemetry", file=sys.stderr)
    sections.append(await telemetry.run(server_dsn, reps))
    print("sections: change feed", file=sys.stderr)
    sections.append(await feed.run(server_dsn, reps, quick=quick))
    return sections


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.reps is not None and args.reps < 1:
        raise SystemExit("--reps must be >= 1")
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
