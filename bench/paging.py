"""Bench section: paging through every session of a 100,000-session app, by keyset.

adk-pg only: ADK's services cannot page (``list_sessions`` returns everything). The fixture is
written with one SQL statement (untimed); then ``SessionStore.list_sessions(page_size=1000)``
walks the whole app, repeatedly. A page must cost the same at any depth: the first and the
last page are reported side by side, with the time to walk all of them.
"""

from __future__ import annotations

import statistics
import time

import asyncpg

from adk_pg import SessionStore, migrate
from adk_pg.schema.admin import throwaway_database
from bench.report import Section

APP = "bench_paging"
SESSIONS = 100_000
USERS = 10
PAGE_SIZE = 1000
_FIXTURE = """
INSERT INTO adk.sessions (app_name, user_id, id, state, update_time)
SELECT $1, 'user' || (i % $3), 'session-' || i, jsonb_build_object('n', i),
       now() - make_interval(secs => i * 0.37)
FROM generate_series(1, $2::integer) AS i
"""


async def run(server_dsn: str, reps: int) -> Section:
    """Walk the app ``reps`` times; medians of the walk, its first page and its last page."""
    section = Section(f"list_sessions paging, {SESSIONS:,} sessions of one app (adk-pg only)")
    async with throwaway_database(server_dsn, "adk_pg_bench_paging") as dsn:
        await migrate(dsn)
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(_FIXTURE, APP, SESSIONS, USERS)
            await conn.execute("ANALYZE adk.sessions")
        finally:
            await conn.close()
        walks, firsts, lasts = [], [], []
        async with await SessionStore.connect(dsn, min_size=1, max_size=1) as store:
            await store.list_sessions(app_name=APP, page_size=PAGE_SIZE)  # warm-up
            for _ in range(reps):
                pages: list[float] = []
                seen = 0
                token: str | None = None
                started = time.perf_counter()
                while True:
                    call = time.perf_counter()
                    page = await store.list_sessions(
                        app_name=APP, page_size=PAGE_SIZE, page_token=token
                    )
                    pages.append(time.perf_counter() - call)
                    seen += len(page.sessions)
                    token = page.next_page_token
                    if token is None:
                        break
                walks.append(time.perf_counter() - started)
                if seen != SESSIONS:
                    raise RuntimeError(f"benchmark self-check failed: paged {seen} sessions")
                firsts.append(pages[0])
                lasts.append(pages[-1])
    walk, first, last = (statistics.median(v) for v in (walks, firsts, lasts))
    section.data = {
        "sessions": SESSIONS,
        "page_size": PAGE_SIZE,
        "walk_s": walk,
        "first_page_ms": first * 1000,
        "last_page_ms": last * 1000,
        "reps": reps,
    }
    section.lines = [
        f"{'whole app (100 pages of 1,000)':<34} {walk:>8.2f} s",
        f"{'first page':<34} {first * 1000:>8.1f} ms",
        f"{'last page':<34} {last * 1000:>8.1f} ms   (last ÷ first {last / first:.2f})",
        f"medians of {reps} walks; each page is one statement on one connection.",
    ]
    return section
