"""Bench section: PostgresArtifactService beside ADK's FileArtifactService, in one process.

Both services get the same calls, alternating which goes first in each repetition: save and
load of 10 KB and 1 MB payloads (random bytes), ``list_artifact_keys`` of a session holding
1,000 artifacts, ``list_versions`` of a file with 100 versions. PostgreSQL commits every save
durably (fsync, as the server is configured); FileArtifactService writes to the page cache
and does not fsync. Each repetition's ratio comes from medians measured in that repetition;
the section reports the median ratio over repetitions. Statements per call come from an
untimed pass with asyncpg's query logger. Then what the storage choices cost or save: bytes
stored for ten saves of the same 1 MB (deduplicated per artifact) and insert time of 1 MB
into a column with STORAGE EXTERNAL (ours) and the default EXTENDED (pglz). And the floor
under a 1 MB load: the same 16 rows of 64 KiB that ``load_artifact.sql`` returns, made by the
server from nothing (no table, no TOAST read) and received by asyncpg, as adk-pg receives them.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
from google.adk.artifacts import FileArtifactService
from google.adk.artifacts.base_artifact_service import BaseArtifactService
from google.genai import types

from adk_pg import create_pool, migrate
from adk_pg.adk import PostgresArtifactService
from adk_pg.schema.admin import throwaway_database
from bench.report import Section, Target

APP, USER = "bench_artifacts", "u"
KB10, MB1 = 10 * 1024, 1024 * 1024
KEYS, VERSIONS = 1000, 100
# (workload, label, calls per repetition in full runs)
WORKLOADS = [
    ("save_10k", "save 10 KB", 200),
    ("load_10k", "load 10 KB", 200),
    ("save_1m", "save 1 MB", 40),
    ("load_1m", "load 1 MB", 40),
    ("list_keys", "list_artifact_keys, 1,000", 20),
    ("list_versions", "list_versions, 100 versions", 100),
]
Call = Callable[[BaseArtifactService, int], Awaitable[object]]


def _part(data: bytes) -> types.Part:
    return types.Part.from_bytes(data=data, mime_type="application/octet-stream")


def _calls(payloads: dict[str, bytes]) -> dict[str, Call]:
    def save(size: str) -> Call:
        part = _part(payloads[size])

        async def call(service: BaseArtifactService, i: int) -> object:
            # Ten files in turn: versions accumulate as an agent's re-saves would.
            return await service.save_artifact(
                app_name=APP,
                user_id=USER,
                session_id="io",
                filename=f"{size}-{i % 10}",
                artifact=part,
            )

        return call

    def load(size: str) -> Call:
        async def call(service: BaseArtifactService, i: int) -> object:
            return await service.load_artifact(
                app_name=APP, user_id=USER, session_id="io", filename=f"{size}-{i % 10}"
            )

        return call

    async def list_keys(service: BaseArtifactService, i: int) -> object:
        return await service.list_artifact_keys(app_name=APP, user_id=USER, session_id="many")

    async def list_versions(service: BaseArtifactService, i: int) -> object:
        return await service.list_versions(
            app_name=APP, user_id=USER, session_id="many", filename="versioned.bin"
        )

    return {
        "save_10k": save("10k"),
        "load_10k": load("10k"),
        "save_1m": save("1m"),
        "load_1m": load("1m"),
        "list_keys": list_keys,
        "list_versions": list_versions,
    }


async def _fixture(service: BaseArtifactService) -> None:
    """1,000 artifacts in session "many", one of them with 100 versions (untimed)."""
    small = _part(b"x" * 100)
    for i in range(KEYS - 1):
        await service.save_artifact(
            app_name=APP,
            user_id=USER,
            session_id="many",
            filename=f"file-{i:04d}.txt",
            artifact=small,
        )
    for _ in range(VERSIONS):
        await service.save_artifact(
            app_name=APP, user_id=USER, session_id="many", filename="versioned.bin", artifact=small
        )


async def _median_ms(call: Call, service: BaseArtifactService, count: int) -> float:
    for i in range(min(5, count)):  # warm-up, never timed (and the files to load exist)
        await call(service, i)
    times = []
    for i in range(count):
        started = time.perf_counter()
        await call(service, i)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


class _Counter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, record: Any) -> None:
        self.count += 1


async def _statements(dsn: str, calls: dict[str, Call]) -> dict[str, int]:
    """Statements each call sends, on a one-connection pool with a query logger (untimed)."""
    counter = _Counter()

    async def log(conn: asyncpg.Connection) -> None:
        conn.add_query_logger(counter)

    pool = await create_pool(dsn, min_size=1, max_size=1, setup=log)
    try:
        service = PostgresArtifactService(pool=pool, migrate=False)
        found = {}
        for name, call in calls.items():
            await call(service, 0)  # prepared on this connection first
            counter.count = 0
            await call(service, 1)
            found[name] = counter.count
        return found
    finally:
        await pool.close()


async def _storage(dsn: str, root: Path) -> dict[str, float]:
    """Bytes stored for 10 saves of the same 1 MB, and 1 MB insert time by column storage."""
    data = os.urandom(MB1)
    async with PostgresArtifactService(dsn) as service:
        file = FileArtifactService(root / "dedup")
        for target in (service, file):
            for _ in range(10):
                await target.save_artifact(
                    app_name=APP,
                    user_id=USER,
                    session_id="dedup",
                    filename="same.bin",
                    artifact=_part(data),
                )
    conn = await asyncpg.connect(dsn)
    try:
        stored = await conn.fetchval(
            "SELECT sum(size) FROM adk.artifact_contents WHERE session_id = 'dedup'"
        )
        # A PDF-like payload: a text header pglz finds matches in, then compressed streams.
        header = (b"%PDF-1.7\n" + b"1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n" * 90)[:4096]
        pdf = header + os.urandom(MB1 - len(header))
        insert_ms = {}
        for storage in ("EXTERNAL", "EXTENDED"):
            await conn.execute(
                f"CREATE TABLE bench_{storage.lower()} (id serial PRIMARY KEY, data bytea);"
                f" ALTER TABLE bench_{storage.lower()} ALTER COLUMN data SET STORAGE {storage}"
            )
            times = []
            for _ in range(20):
                started = time.perf_counter()
                await conn.execute(f"INSERT INTO bench_{storage.lower()} (data) VALUES ($1)", pdf)
                times.append(time.perf_counter() - started)
            insert_ms[storage] = statistics.median(times[2:]) * 1000
        made = await conn.prepare(
            "SELECT convert_to(repeat('x', 65536), 'UTF8') FROM generate_series(1, $1::integer)"
        )
        times = []
        for _ in range(220):
            started = time.perf_counter()
            await made.fetch(MB1 // 65536)
            times.append(time.perf_counter() - started)
        floor_ms = statistics.median(times[20:]) * 1000
    finally:
        await conn.close()
    on_disk = sum(p.stat().st_size for p in (root / "dedup").rglob("same.bin") if p.is_file())
    return {
        "dedup_pg_bytes": float(stored),
        "dedup_file_bytes": float(on_disk),
        "insert_external_ms": insert_ms["EXTERNAL"],
        "receive_1m_floor_ms": floor_ms,
        "insert_extended_ms": insert_ms["EXTENDED"],
    }


async def run(server_dsn: str, reps: int, *, quick: bool = False) -> Section:
    """Both services, ``reps`` repetitions; medians of per-repetition medians and ratios."""
    section = Section("artifacts: adk-pg PostgresArtifactService vs ADK FileArtifactService")
    scale = 0.5 if quick else 1.0
    payloads = {"10k": os.urandom(KB10), "1m": os.urandom(MB1)}
    calls = _calls(payloads)
    pg_ms: dict[str, list[float]] = {w: [] for w, _, _ in WORKLOADS}
    file_ms: dict[str, list[float]] = {w: [] for w, _, _ in WORKLOADS}
    ratios: dict[str, list[float]] = {w: [] for w, _, _ in WORKLOADS}
    async with throwaway_database(server_dsn, "adk_pg_bench_artifacts") as dsn:
        await migrate(dsn)
        with tempfile.TemporaryDirectory(prefix="adk-pg-bench-artifacts-") as tmp:
            root = Path(tmp)
            async with PostgresArtifactService(dsn, min_size=1, max_size=2) as pg:
                file = FileArtifactService(root / "files")
                await _fixture(pg)
                await _fixture(file)
                for rep in range(reps):
                    order: list[tuple[str, BaseArtifactService]] = [("pg", pg), ("file", file)]
                    if rep % 2:
                        order.reverse()
                    for workload, _, count in WORKLOADS:
                        measured = {}
                        for name, target in order:
                            n = max(5, int(count * scale))
                            measured[name] = await _median_ms(calls[workload], target, n)
                        pg_ms[workload].append(measured["pg"])
                        file_ms[workload].append(measured["file"])
                        ratios[workload].append(measured["pg"] / measured["file"])
            statements = await _statements(dsn, calls)
            storage = await _storage(dsn, root)
    _report(section, reps, pg_ms, file_ms, ratios, statements, storage)
    return section


def _range(values: list[float], fmt: str) -> str:
    mid = format(statistics.median(values), fmt)
    return (
        mid
        if len(values) == 1
        else f"{mid} ({format(min(values), fmt)}-{format(max(values), fmt)})"
    )


def _report(
    section: Section,
    reps: int,
    pg_ms: dict[str, list[float]],
    file_ms: dict[str, list[float]],
    ratios: dict[str, list[float]],
    counts: dict[str, int],
    storage: dict[str, float],
) -> None:
    head = (
        f"{'workload':<30} {'file p50 ms':>12} {'adk-pg p50 ms':>14} {'adk-pg ÷ file':>14}"
        f" {'stmts':>6}"
    )
    lines = [head, "-" * len(head)]
    for workload, label, _ in WORKLOADS:
        lines.append(
            f"{label:<30} {statistics.median(file_ms[workload]):>12.3f}"
            f" {statistics.median(pg_ms[workload]):>14.3f}"
            f" {statistics.median(ratios[workload]):>13.2f}x {counts[workload]:>6}"
        )
    pg_mb, file_mb = storage["dedup_pg_bytes"] / MB1, storage["dedup_file_bytes"] / MB1
    external, extended = storage["insert_external_ms"], storage["insert_extended_ms"]
    floor, file_load = storage["receive_1m_floor_ms"], statistics.median(file_ms["load_1m"])
    lines += [
        f"medians of {reps} repetitions (per-call p50 within each); the file service does not "
        "fsync, PostgreSQL commits each save durably.",
        f"10 saves of the same 1 MB to one artifact: adk-pg stores {pg_mb:.1f} MB "
        f"(deduplicated per artifact), the file service {file_mb:.1f} MB.",
        f"insert of a 1 MB PDF-like payload: STORAGE EXTERNAL {external:.2f} ms, default "
        f"EXTENDED (pglz) {extended:.2f} ms (medians of 18).",
        f"the floor under load 1 MB: 16 rows of 64 KiB made by the server (no table read) "
        f"and received by asyncpg take {floor:.3f} ms (median of 200), "
        f"{floor / file_load:.2f}x the file service's whole load.",
    ]
    section.lines = lines
    section.data = {
        "reps": reps,
        "pg_p50_ms": pg_ms,
        "file_p50_ms": file_ms,
        "pg_over_file": ratios,
        "statements": counts,
        "storage": storage,
    }
    keys_speedup = [1 / r for r in ratios["list_keys"]]
    checks = [
        ("artifact save 10 KB p50 ÷ file service", "<= 1x", ratios["save_10k"], 1.0, False),
        ("artifact load 10 KB p50 ÷ file service", "<= 1x", ratios["load_10k"], 1.0, False),
        ("artifact load 1 MB p50 ÷ file service", "<= 3x", ratios["load_1m"], 3.0, False),
        ("list_artifact_keys 1,000: file ÷ adk-pg", ">= 10x", keys_speedup, 10.0, True),
    ]
    for name, need, values, limit, at_least in checks:
        mid = statistics.median(values)
        ok = mid >= limit if at_least else mid <= limit
        section.targets.append(Target(name, need, _range(values, ".2f") + "x", ok))
    worst = max(counts.values())
    section.targets.append(
        Target("artifact statements per call, every workload", "= 1", f"max {worst}", worst == 1)
    )
