"""Bench section: memory, adk-pg's PostgresMemoryService against ADK's own memory services.

A synthetic corpus: 10 users, sessions of 50 events, each event 20 words drawn from a
20,000-word vocabulary with a Zipf distribution (s = 1.1), so a few words are in almost every
event and most are rare. At 10,000 and 100,000 events, the same sessions go into:

* adk-pg's ``PostgresMemoryService`` (a fresh database on the benchmark's server);
* ADK's ``SqliteMemoryService`` (a file on local disk, FTS5);
* ADK's ``InMemoryMemoryService`` (10,000 events only: it scans every event per search).

Measured: ingest (``add_session_to_memory`` of every session, one after another: events per
second of wall time), then ``search_memory`` p50 for a rare word (in 1-3 events of the user)
and for the most common word (in nearly every event), after ``ANALYZE adk.memories`` (as
autovacuum runs it after such a load: the planner picks the word index from statistics).
Each service returns at most 50 memories (ADK's SQLite default; the in-memory service
always 10). Statements per call are
counted in an untimed pass: asyncpg's query logger for adk-pg, ``execute`` calls on the
connection for SQLite.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
from google.adk.events.event import Event
from google.adk.memory import InMemoryMemoryService
from google.adk.memory._sqlite_memory_service import SqliteMemoryService
from google.adk.memory.base_memory_service import BaseMemoryService
from google.adk.sessions.session import Session
from google.genai import types

from adk_pg.adk import PostgresMemoryService
from adk_pg.db.pool import create_pool
from adk_pg.schema.admin import throwaway_database
from adk_pg.schema.runner import migrate
from bench.report import Section, Target

APP = "bench_memory"
USERS = 10
EVENTS_PER_SESSION = 50
WORDS_PER_EVENT = 20
VOCABULARY = 20_000
ZIPF_S = 1.1
MAX_RESULTS = 50
SEARCHES = 50  # per kind of word, per repetition
SIZES = (10_000, 100_000)
IN_MEMORY_MAX = 10_000
_SYLLABLES = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]


def vocabulary() -> list[str]:
    """20,000 distinct made-up words, most frequent first (none an English stop word)."""
    rng = random.Random(7)
    words: list[str] = []
    seen: set[str] = set()
    while len(words) < VOCABULARY:
        word = "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4)))
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


def corpus(events: int) -> list[Session]:
    """``events`` events in sessions of 50, spread over 10 users; the same for every service."""
    words = vocabulary()
    weights = [1 / (rank**ZIPF_S) for rank in range(1, VOCABULARY + 1)]
    rng = random.Random(events)
    sessions: list[Session] = []
    clock = 1_700_000_000.0
    for n in range(events // EVENTS_PER_SESSION):
        user = f"user{n % USERS}"
        drawn = rng.choices(words, weights, k=EVENTS_PER_SESSION * WORDS_PER_EVENT)
        batch = []
        for i in range(EVENTS_PER_SESSION):
            clock += 1.0
            text = " ".join(drawn[i * WORDS_PER_EVENT : (i + 1) * WORDS_PER_EVENT])
            batch.append(
                Event(
                    id=f"s{n}-e{i}",
                    invocation_id=f"s{n}-i{i}",
                    author="user" if i % 2 == 0 else "agent",
                    timestamp=clock,
                    content=types.Content(
                        role="user" if i % 2 == 0 else "model", parts=[types.Part(text=text)]
                    ),
                )
            )
        sessions.append(Session(id=f"s{n}", app_name=APP, user_id=user, events=batch))
    return sessions


def probes(sessions: list[Session]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(user, word) searches: rare words (in 1-3 of the user's events) and the commonest."""
    per_user: dict[str, Counter[str]] = {}
    for session in sessions:
        counts = per_user.setdefault(session.user_id, Counter())
        for event in session.events:
            assert event.content is not None
            assert event.content.parts
            counts.update(set((event.content.parts[0].text or "").split()))
    rng = random.Random(3)
    rare: list[tuple[str, str]] = []
    for user, counts in sorted(per_user.items()):
        few = sorted(w for w, c in counts.items() if 1 <= c <= 3)
        rare += [(user, w) for w in rng.sample(few, SEARCHES // USERS)]
    common_word = vocabulary()[0]
    common = [(f"user{i % USERS}", common_word) for i in range(SEARCHES)]
    return rare, common


async def ingest(service: BaseMemoryService, sessions: list[Session]) -> float:
    """Add every session, one call after another; return events per second of wall time."""
    started = time.perf_counter()
    for session in sessions:
        await service.add_session_to_memory(session)
    return sum(len(s.events) for s in sessions) / (time.perf_counter() - started)


async def search_p50(
    service: BaseMemoryService, searches: list[tuple[str, str]], expect_hits: bool
) -> float:
    """Median seconds of ``search_memory`` over the searches (one warm-up first)."""
    await service.search_memory(app_name=APP, user_id=searches[0][0], query=searches[0][1])
    times = []
    for user, word in searches:
        started = time.perf_counter()
        found = await service.search_memory(app_name=APP, user_id=user, query=word)
        times.append(time.perf_counter() - started)
        if expect_hits and not found.memories:
            raise RuntimeError(f"benchmark self-check failed: nothing found for {word!r}")
    return statistics.median(times)


@contextlib.contextmanager
def counting_sqlite_executes() -> Iterator[list[str]]:
    """Count what ADK's SQLite service sends: every ``execute`` / ``executescript`` call."""
    import aiosqlite

    sent: list[str] = []
    originals = {name: getattr(aiosqlite.Connection, name) for name in ("execute", "executescript")}

    def wrap(name: str) -> Callable[..., Any]:
        original = originals[name]

        def call(self: Any, sql: str, *args: Any, **kwargs: Any) -> Any:
            sent.append(sql)
            return original(self, sql, *args, **kwargs)

        return call

    for name in originals:
        setattr(aiosqlite.Connection, name, wrap(name))
    try:
        yield sent
    finally:
        for name, original in originals.items():
            setattr(aiosqlite.Connection, name, original)


async def statements(
    call: Callable[[], Awaitable[Any]], sent: list[str], settle: bool = False
) -> int:
    sent.clear()
    await call()
    if settle:
        await asyncio.sleep(0)  # asyncpg calls query loggers soon after
    return len(sent)


class _Logger:
    def __init__(self) -> None:
        self.sent: list[str] = []

    def __call__(self, record: Any) -> None:
        self.sent.append(record.query)


async def run(server_dsn: str, reps: int) -> Section:
    """Ingest and search at each size; medians over ``reps`` rounds of searches."""
    section = Section(
        "memory: PostgresMemoryService vs ADK's SqliteMemoryService and InMemoryMemoryService"
    )
    rows: list[str] = []
    for size in SIZES:
        results = await _one_size(server_dsn, size, reps)
        for name, got in results.items():
            stmts = (
                f"{got['stmts_add']:>6.0f} {got['stmts_search']:>6.0f}"
                if "stmts_add" in got
                else f"{'-':>6} {'-':>6}"
            )
            rows.append(
                f"{size:>8,} {name:<10} {got['ingest']:>10,.0f} {got['rare'] * 1000:>9.2f}"
                f" {got['common'] * 1000:>10.2f} {stmts}"
            )
        section.data[str(size)] = results
        section.targets += _targets(size, results)
    section.lines = [
        f"{'events':>8} {'service':<10} {'ingest/s':>10} {'rare ms':>9} {'common ms':>10}"
        f" {'st/add':>6} {'st/srch':>6}",
        *rows,
        f"ingest: events/s of wall time, sessions of {EVENTS_PER_SESSION} added one after "
        f"another; rare / common: search p50 (median of {reps} rounds of {SEARCHES} "
        f"searches), at most {MAX_RESULTS} memories returned (in-memory: 10); st/add, "
        "st/srch: statements per call.",
    ]
    return section


async def _one_size(server_dsn: str, size: int, reps: int) -> dict[str, dict[str, float]]:
    """Every service at one corpus size: ingest, searches, statements per call."""
    sessions = corpus(size)
    rare, common = probes(sessions)
    spare = sessions[0].model_copy(update={"id": "spare"})  # for counting an add
    results: dict[str, dict[str, float]] = {}
    async with throwaway_database(server_dsn, "adk_pg_bench_memory") as dsn:
        await migrate(dsn)
        logger = _Logger()

        async def log(conn: asyncpg.Connection) -> None:
            conn.add_query_logger(logger)

        pool = await create_pool(dsn, min_size=1, max_size=1, setup=log)
        try:
            ours = PostgresMemoryService(pool=pool, max_results=MAX_RESULTS)
            # What autovacuum does after a bulk load (this server may run without it).
            results["adk-pg"] = await _measure(
                ours, sessions, rare, common, reps, lambda: pool.execute("ANALYZE adk.memories")
            )
            results["adk-pg"]["stmts_add"] = await statements(
                lambda: ours.add_session_to_memory(spare), logger.sent, settle=True
            )
            results["adk-pg"]["stmts_search"] = await statements(
                lambda: ours.search_memory(app_name=APP, user_id="user0", query="x"),
                logger.sent,
                settle=True,
            )
        finally:
            await pool.close()
    with tempfile.TemporaryDirectory(prefix="adk-pg-bench-memory-") as tmp:
        sqlite = SqliteMemoryService(Path(tmp) / "memory.db", max_results=MAX_RESULTS)
        results["sqlite"] = await _measure(sqlite, sessions, rare, common, reps)
        with counting_sqlite_executes() as sent:
            results["sqlite"]["stmts_add"] = await statements(
                lambda: sqlite.add_session_to_memory(spare), sent
            )
            results["sqlite"]["stmts_search"] = await statements(
                lambda: sqlite.search_memory(app_name=APP, user_id="user0", query="x"), sent
            )
        await sqlite.close()
    if size <= IN_MEMORY_MAX:
        results["in-memory"] = await _measure(InMemoryMemoryService(), sessions, rare, common, reps)
    return results


async def _measure(
    service: BaseMemoryService,
    sessions: list[Session],
    rare: list[tuple[str, str]],
    common: list[tuple[str, str]],
    reps: int,
    after_ingest: Callable[[], Awaitable[Any]] | None = None,
) -> dict[str, float]:
    rate = await ingest(service, sessions)
    if after_ingest is not None:
        await after_ingest()
    rares, commons = [], []
    for _ in range(reps):
        rares.append(await search_p50(service, rare, expect_hits=True))
        commons.append(await search_p50(service, common, expect_hits=True))
    return {
        "ingest": rate,
        "rare": statistics.median(rares),
        "common": statistics.median(commons),
    }


def _targets(size: int, results: dict[str, dict[str, float]]) -> list[Target]:
    if size != max(SIZES):
        return []
    ours, lite = results["adk-pg"], results["sqlite"]
    where = f"memory {size:,}"
    return [
        Target(
            f"{where}: ingest",
            "≥ SQLite's",
            f"{ours['ingest']:,.0f} vs {lite['ingest']:,.0f} events/s",
            ours["ingest"] >= lite["ingest"],
        ),
        Target(
            f"{where}: rare-word search p50",
            "≤ 2 ms",
            f"{ours['rare'] * 1000:.2f} ms",
            ours["rare"] <= 0.002,
        ),
        Target(
            f"{where}: common-word search p50",
            "≤ SQLite's",
            f"{ours['common'] * 1000:.2f} vs {lite['common'] * 1000:.2f} ms",
            ours["common"] <= lite["common"],
        ),
        Target(
            f"{where}: statements per call",
            "1",
            f"add {ours['stmts_add']:.0f}, search {ours['stmts_search']:.0f}",
            ours["stmts_add"] == 1 and ours["stmts_search"] == 1,
        ),
    ]


async def _main() -> None:
    import sys

    section = await run(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 3)
    print(section.title)
    print("\n".join(section.lines))
    for target in section.targets:
        print(target)


if __name__ == "__main__":
    asyncio.run(_main())
