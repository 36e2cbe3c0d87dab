"""Timed loops: per-call latency, wall-clock throughput and client CPU per call."""

from __future__ import annotations

import asyncio
import gc
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any


@dataclass
class Sample:
    """One timed workload: every call's latency, the wall time and the process CPU time."""

    calls: int
    wall_s: float
    cpu_s: float
    latencies_ns: list[int]

    def summary(self) -> dict[str, Any]:
        cuts = statistics.quantiles(self.latencies_ns, n=100, method="inclusive")
        return {
            "calls": self.calls,
            "ops": self.calls / self.wall_s,
            "p50_ms": cuts[49] / 1e6,
            "p95_ms": cuts[94] / 1e6,
            "p99_ms": cuts[98] / 1e6,
            # Process CPU (all threads) per call: the client-side cost of a call.
            "cpu_ms": self.cpu_s / self.calls * 1e3,
            "wall_s": self.wall_s,
        }


def _settle() -> None:
    # Garbage left by set-up or warm-up must not be collected inside the timed loop.
    gc.collect()


async def run_sequential(call: Callable[[int], Awaitable[object]], count: int) -> Sample:
    """``await call(i)`` for i in 0..count-1, one after another."""
    _settle()
    latencies: list[int] = []
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for i in range(count):
        t0 = time.perf_counter_ns()
        await call(i)
        latencies.append(time.perf_counter_ns() - t0)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return Sample(count, wall, cpu, latencies)


async def run_for(
    call: Callable[[int], Awaitable[object]],
    *,
    min_calls: int,
    min_seconds: float,
    max_calls: int,
) -> Sample:
    """Repeat ``await call(i)`` until both ``min_calls`` and ``min_seconds`` are reached."""
    _settle()
    latencies: list[int] = []
    cpu0, wall0 = time.process_time(), time.perf_counter()
    i = 0
    while i < max_calls and (i < min_calls or time.perf_counter() - wall0 < min_seconds):
        t0 = time.perf_counter_ns()
        await call(i)
        latencies.append(time.perf_counter_ns() - t0)
        i += 1
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return Sample(i, wall, cpu, latencies)


async def run_concurrent(
    call: Callable[[int, int], Awaitable[object]], workers: int, per_worker: int
) -> Sample:
    """``workers`` coroutines under one asyncio.gather, each awaiting ``call(w, i)`` in turn.

    Throughput is all calls over the wall time of the whole gather.
    """
    _settle()
    latencies: list[int] = []

    async def worker(w: int) -> None:
        for i in range(per_worker):
            t0 = time.perf_counter_ns()
            await call(w, i)
            latencies.append(time.perf_counter_ns() - t0)

    cpu0, wall0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(workers)))
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return Sample(workers * per_worker, wall, cpu, latencies)
