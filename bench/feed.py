"""Bench section: what the change feed (``SessionStore.watch``) costs writers, and its latency.

Append throughput: 4 writer tasks, each appending to its own new session with
``SessionStore.append_event`` (a ~300-character text event with a 2-key delta, the revision
checked) on a 4-connection pool, timed from the first timed append to the last. Four variants
take turns in every repetition (the order rotating): ``none`` (no watcher), ``watcher`` (one
``watch()`` of the same app, from another store on its own pool, as another replica would
run it, drained by a background task: every event is announced to it), ``bare listen`` (a
plain asyncpg connection LISTENing on the app's channel with a callback that does nothing:
what PostgreSQL and asyncpg cost before any of adk-pg's feed code runs, the floor under
``watcher``) and ``no trigger`` (the NOTIFY triggers of migration 0012 disabled, as when the
opt-in setting ``adk_pg.change_feed`` is off, the default: what announcing costs at all,
watched or not). Ratios are taken inside a repetition; the section reports their median.
Each writer's first appends are warm-up, never timed; with the watcher, timing starts once it
has yielded them, and the run checks it yields every timed event afterwards. Besides this
process's CPU, the CPU of the server's processes is read from ``/proc`` when the server runs
on this machine (else shown as ``-``): a listener's backend does work for every commit. It
sums every process named ``postgres`` here, another cluster's too: run it on a quiet machine.

Delivery latency: sequential appends to one session of an app the watcher follows; from just
before ``append_event`` is called to the moment the watcher's iteration (its own task) yields
that event's ``Change``.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import statistics
import time
from collections.abc import AsyncGenerator, Callable
from typing import Any
from urllib.parse import unquote, urlsplit

import asyncpg
from google.genai import types

from adk_pg import Change, Event, EventActions, SessionStore, migrate
from adk_pg.schema.admin import throwaway_database
from bench.report import Section, Target

APP, LATENCY_APP, USER = "bench_feed", "bench_feed_latency", "user"
WRITERS = 4
APPENDS, QUICK_APPENDS = 2000, 800  # per variant and repetition, over all writers
WARMUP = 10  # untimed appends per writer before each timed run
LATENCY_APPENDS, QUICK_LATENCY_APPENDS = 300, 150
LATENCY_WARMUP = 20
VARIANTS = ("none", "watcher", "bare listen", "no trigger")
LABELS = {
    "none": "no watcher",
    "watcher": "one watcher, same app",
    "bare listen": "bare LISTEN, no-op callback",
    "no trigger": "feed off (no NOTIFY)",
}
TRIGGERS = (("events", "events_notify_change"), ("sessions", "sessions_notify_change"))
THROUGHPUT_TARGET = 0.95
LATENCY_TARGET_MS = 5.0
WAIT_S = 60.0  # the longest a self-check waits for the watcher
TEXT = ("the agent answered the question about the weather in Berlin " * 5)[:300]


def _event(i: int) -> Event:
    return Event(
        author="user" if i % 2 == 0 else "assistant",
        content=types.Content(role="user", parts=[types.Part(text=TEXT)]),
        actions=EventActions(state_delta={"turn": i, "topic": f"topic-{i % 7}"}),
    )


class _Follower:
    """A ``watch()`` iterated by a background task, which notes when each event came out."""

    def __init__(self, changes: AsyncGenerator[Change, None]) -> None:
        self._changes = changes
        self.events = 0
        self.by_session: collections.Counter[str] = collections.Counter()
        self.yielded_at: dict[str, float] = {}
        self._woken = asyncio.Event()
        self._task = asyncio.create_task(self._drain())

    async def _drain(self) -> None:
        async for change in self._changes:
            now = time.perf_counter()
            if change.kind == "event" and change.event_id is not None:
                self.events += 1
                self.by_session[change.session_id] += 1
                self.yielded_at[change.event_id] = now
            self._woken.set()

    async def wait(self, done: Callable[[], bool], timeout: float = WAIT_S) -> bool:
        """Wait until ``done()``; False if ``timeout`` seconds pass first."""
        deadline = time.perf_counter() + timeout
        while not done():
            if self._task.done():
                self._task.result()  # the feed's error, if it failed
                return False
            left = deadline - time.perf_counter()
            if left <= 0:
                return False
            self._woken.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._woken.wait(), min(left, 0.5))
        return True

    async def close(self) -> int:
        """Cancel the iterating task (which closes the feed); return the cancellations lost.

        A cancellation can be lost where the feed awaits through ``asyncio.wait_for`` (on
        Python < 3.12 it returns a result that comes with the cancellation, as asyncpg's
        statement timeouts do): so cancel until the task ends, and count.
        """
        lost = -1
        while not self._task.done():
            lost += 1
            self._task.cancel()
            await asyncio.wait({self._task}, timeout=0.2)
        if not self._task.cancelled():
            self._task.exception()  # retrieved: wait() raises it where it matters
        await self._changes.aclose()
        return max(0, lost)


async def _follow(watcher: SessionStore, writer: SessionStore, app: str) -> _Follower:
    """A follower of ``app`` that is known to LISTEN: a probe event has come through it."""
    follower = _Follower(watcher.watch(app))
    probe = await writer.create_session(app_name=app, user_id="probe")
    for i in range(50):
        result = await writer.append_event(
            app_name=app, user_id="probe", session_id=probe.id, event=_event(i), expected_revision=i
        )
        assert result is not None
        if await follower.wait(lambda: bool(follower.events), timeout=1.0):
            return follower
    await follower.close()
    raise RuntimeError("benchmark self-check failed: the watcher never yielded a probe event")


async def _writer(store: SessionStore, session_id: str, first: int, count: int) -> None:
    for i in range(first, first + count):
        result = await store.append_event(
            app_name=APP, user_id=USER, session_id=session_id, event=_event(i), expected_revision=i
        )
        assert result is not None


async def _throughput(
    writer: SessionStore, follower: _Follower | None, appends: int
) -> tuple[float, float, float | None, float | None]:
    """Appends per second of ``WRITERS`` concurrent writers, each on a new session, this
    process's and the server's CPU seconds per append meanwhile (the server's None when it
    cannot be read); with a follower, also the seconds it took, after the last append
    returned, to yield the rest."""
    per_writer = appends // WRITERS
    sessions = [
        (await writer.create_session(app_name=APP, user_id=USER)).id for _ in range(WRITERS)
    ]
    await asyncio.gather(*(_writer(writer, s, 0, WARMUP) for s in sessions))

    def yielded() -> int:
        assert follower is not None
        return sum(follower.by_session[s] for s in sessions)

    if follower is not None:
        expected = WRITERS * WARMUP
        if not await follower.wait(lambda: yielded() >= expected):
            raise RuntimeError("benchmark self-check failed: the watcher missed warm-up events")
    server_started = _server_cpu()
    cpu_started, started = time.process_time(), time.perf_counter()
    await asyncio.gather(*(_writer(writer, s, WARMUP, per_writer) for s in sessions))
    finished, cpu = time.perf_counter(), time.process_time() - cpu_started
    server_ended = _server_cpu()
    timed = WRITERS * per_writer
    server = None
    if server_started is not None and server_ended is not None:
        server = (server_ended - server_started) / timed
    drain = None
    if follower is not None:
        expected += WRITERS * per_writer
        if not await follower.wait(lambda: yielded() >= expected):
            raise RuntimeError(
                f"benchmark self-check failed: the watcher yielded {yielded()} of {expected} events"
            )
        if yielded() != expected:
            raise RuntimeError(f"benchmark self-check failed: {yielded()} events yielded")
        drain = max(0.0, time.perf_counter() - finished)
    return timed / (finished - started), cpu / timed, server, drain


def _server_cpu() -> float | None:
    """CPU seconds used so far by the processes named ``postgres`` on this machine (None
    when there are none: the server runs elsewhere, or ``/proc`` is not there)."""
    ticks, found = 0, False
    try:
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return None
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                line = stat.read()
        except OSError:  # ended meanwhile
            continue
        if line[line.index("(") + 1 : line.rindex(")")] != "postgres":
            continue
        fields = line[line.rindex(")") + 2 :].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
        found = True
    return ticks / os.sysconf("SC_CLK_TCK") if found else None


async def _bare_listener(dsn: str) -> asyncpg.Connection[Any]:
    """A plain connection LISTENing on the bench app's channel, doing nothing when told."""
    conn = await asyncpg.connect(dsn)
    channel = await conn.fetchval("SELECT adk.change_channel($1)", APP)
    await conn.add_listener(channel, lambda *_: None)
    return conn


async def _set_triggers(conn: asyncpg.Connection[Any], enable: bool) -> None:
    verb = "ENABLE" if enable else "DISABLE"
    for table, trigger in TRIGGERS:
        await conn.execute(f"ALTER TABLE adk.{table} {verb} TRIGGER {trigger}")


async def _latency(
    watcher: SessionStore, writer: SessionStore, appends: int, lost: list[int]
) -> list[float]:
    """Seconds from just before each sequential append to its Change coming out of watch()."""
    follower = await _follow(watcher, writer, LATENCY_APP)
    try:
        session = await writer.create_session(app_name=LATENCY_APP, user_id=USER)
        found = []
        seen = follower.yielded_at
        for i in range(LATENCY_WARMUP + appends):
            event = _event(i)
            event_id = event.id
            started = time.perf_counter()
            result = await writer.append_event(
                app_name=LATENCY_APP,
                user_id=USER,
                session_id=session.id,
                event=event,
                expected_revision=i,
            )
            assert result is not None
            if not await follower.wait(lambda: event_id in seen):  # noqa: B023
                raise RuntimeError("benchmark self-check failed: an event was never yielded")
            if i >= LATENCY_WARMUP:
                found.append(seen[event_id] - started)
        return found
    finally:
        lost.append(await follower.close())


async def run(server_dsn: str, reps: int, *, quick: bool = False) -> Section:
    """Throughput of each variant ``reps`` times, interleaved; then delivery latency."""
    section = Section("change feed: append throughput with a watcher, and delivery latency")
    appends = QUICK_APPENDS if quick else APPENDS
    rates: dict[str, list[float]] = {v: [] for v in VARIANTS}
    cpu: dict[str, list[float]] = {v: [] for v in VARIANTS}
    server: dict[str, list[float | None]] = {v: [] for v in VARIANTS}
    drains: list[float] = []
    lost: list[int] = []  # cancellations of the watcher's task that were lost
    async with throwaway_database(server_dsn, "adk_pg_bench_feed") as dsn:
        await migrate(dsn)
        admin = await asyncpg.connect(dsn)
        # The feed is opt-in (migration 0012): on for the connections opened from here on.
        await admin.execute(f'ALTER DATABASE "{_name(dsn)}" SET adk_pg.change_feed = on')
        writer = await SessionStore.connect(dsn, min_size=WRITERS, max_size=WRITERS)
        watcher = await SessionStore.connect(dsn, min_size=1, max_size=1)
        try:
            for rep in range(reps):
                shift = rep % len(VARIANTS)
                for variant in VARIANTS[shift:] + VARIANTS[:shift]:
                    if variant == "watcher":
                        follower = await _follow(watcher, writer, APP)
                        try:
                            rate, per_append, on_server, drain = await _throughput(
                                writer, follower, appends
                            )
                        finally:
                            lost.append(await follower.close())
                        assert drain is not None
                        drains.append(drain)
                    elif variant == "bare listen":
                        bare = await _bare_listener(dsn)
                        try:
                            rate, per_append, on_server, _ = await _throughput(
                                writer, None, appends
                            )
                        finally:
                            await bare.close()
                    elif variant == "no trigger":
                        await _set_triggers(admin, enable=False)
                        try:
                            rate, per_append, on_server, _ = await _throughput(
                                writer, None, appends
                            )
                        finally:
                            await _set_triggers(admin, enable=True)
                    else:
                        rate, per_append, on_server, _ = await _throughput(writer, None, appends)
                    rates[variant].append(rate)
                    cpu[variant].append(per_append)
                    server[variant].append(on_server)
            latencies = await _latency(
                watcher, writer, QUICK_LATENCY_APPENDS if quick else LATENCY_APPENDS, lost
            )
        finally:
            await watcher.close()
            await writer.close()
            await admin.close()
    return _section(section, reps, appends, rates, cpu, server, drains, latencies, sum(lost))


def _name(dsn: str) -> str:
    return unquote(urlsplit(dsn).path.lstrip("/"))


def _range(values: list[float], fmt: str) -> str:
    mid = format(statistics.median(values), fmt)
    if len(values) == 1:
        return mid
    return f"{mid} ({format(min(values), fmt)}-{format(max(values), fmt)})"


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _section(
    section: Section,
    reps: int,
    appends: int,
    rates: dict[str, list[float]],
    cpu: dict[str, list[float]],
    server: dict[str, list[float | None]],
    drains: list[float],
    latencies: list[float],
    lost: int,
) -> Section:
    with_watcher = [w / n for w, n in zip(rates["watcher"], rates["none"], strict=True)]
    bare = [b / n for b, n in zip(rates["bare listen"], rates["none"], strict=True)]
    announcing = [n / t for n, t in zip(rates["none"], rates["no trigger"], strict=True)]
    p50, p95 = (_percentile(latencies, q) * 1000 for q in (0.5, 0.95))
    head = (
        f"{'append_event, 4 writers':<30} {'events/s: median (min-max)':>28} "
        f"{'CPU us/append: client':>22} {'server':>7}"
    )
    section.lines = [head, "-" * len(head)]
    for variant in VARIANTS:
        on_server = [x for x in server[variant] if x is not None]
        server_us = f"{statistics.median(on_server) * 1e6:.0f}" if on_server else "-"
        section.lines.append(
            f"{LABELS[variant]:<30} {_range(rates[variant], ',.0f'):>28} "
            f"{statistics.median(cpu[variant]) * 1e6:>22.0f} {server_us:>7}"
        )
    section.lines += [
        f"one watcher ÷ no watcher: {_range(with_watcher, '.3f')}x; a bare LISTEN (the floor: "
        f"PostgreSQL and asyncpg, no feed code) ÷ no watcher: {_range(bare, '.3f')}x; "
        f"with the triggers (no "
        f"watcher) ÷ triggers disabled: {_range(announcing, '.3f')}x (what NOTIFY costs); "
        f"the watcher had yielded every event {statistics.median(drains) * 1000:.1f} ms "
        "(median) after the last append returned.",
        f"delivery latency over {len(latencies)} sequential appends, from just before "
        f"append_event to the watcher (own pool, own task) yielding the event: p50 {p50:.2f} "
        f"ms, p95 {p95:.2f} ms, max {max(latencies) * 1000:.2f} ms.",
        f"{appends:,} timed appends per variant and repetition ({WRITERS} tasks, each on its "
        f"own new session, {WARMUP} untimed appends each first); {reps} repetitions, the "
        "variants' order rotating; ratios taken within a repetition, medians reported; "
        "CPU: this process's (writers and watcher) and the server's processes' per timed "
        "append.",
    ]
    if lost:
        section.lines.append(
            f"NOTE: {lost} cancellation(s) of a task iterating watch() were lost (asyncio."
            "wait_for on Python < 3.12 returns a result that comes with the cancellation); "
            "the bench cancels again until the task ends."
        )
    section.data = {
        "reps": reps,
        "appends": appends,
        "writers": WRITERS,
        "events_per_s": rates,
        "client_cpu_s_per_append": cpu,
        "server_cpu_s_per_append": server,
        "bare_listen_over_none": bare,
        "lost_cancellations": lost,
        "watcher_over_none": with_watcher,
        "none_over_no_trigger": announcing,
        "drain_after_last_append_s": drains,
        "latency_p50_ms": p50,
        "latency_p95_ms": p95,
        "latency_ms": [x * 1000 for x in latencies],
    }
    ratio = statistics.median(with_watcher)
    section.targets += [
        Target(
            "append throughput with one watcher ÷ without",
            f">= {THROUGHPUT_TARGET:g}",
            _range(with_watcher, ".3f") + "x",
            ratio >= THROUGHPUT_TARGET,
        ),
        Target(
            "delivery latency p50",
            f"<= {LATENCY_TARGET_MS:g} ms",
            f"{p50:.2f} ms (p95 {p95:.2f})",
            p50 <= LATENCY_TARGET_MS,
        ),
    ]
    return section
