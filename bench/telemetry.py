"""Bench section: what telemetry costs a call, with tracing off, the API only, and an SDK.

Three ``SessionStore``s on one one-connection pool differ only in their ``Telemetry``:
``off`` (``enabled=False``: no span, no metric, no log), ``api`` (the default: the global
OpenTelemetry providers, with no SDK set up in this process, so spans and instruments are the
API's no-ops) and ``sdk`` (the OpenTelemetry SDK recording every span through a
``BatchSpanProcessor``, as applications run it, into an ``InMemorySpanExporter``, emptied
every 100 rounds as an exporter that sends spans away keeps none, and every measurement into
an ``InMemoryMetricReader``). The variants take turns call by call (one ``append_event`` of a
~300-character text event with a 2-key delta, then one ``get_session`` of 10 events, for
each variant, the order rotating every round), so that the load of a shared machine lands on
all three alike. Reported: per-call p50 and client CPU per call, and each variant's p50 over
``off``'s (the range: that ratio in each tenth of the run).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from typing import Any, TypeAlias

from google.genai import types
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from adk_pg import Event, EventActions, SessionStore, Telemetry, migrate
from adk_pg.db.dsn import resolve_dsn
from adk_pg.db.pool import create_pool
from adk_pg.schema.admin import throwaway_database
from bench import report
from bench.report import Section, Target

APP, USER = "bench_telemetry", "user"
ROUNDS = 400  # per repetition: calls of each variant and workload
WARMUP = 50
CHUNKS = 10  # the ratio's range: its value in each tenth of the run
VARIANTS = ("off", "api", "sdk")
WORKLOADS = ("append_event", "get_session")
Samples: TypeAlias = dict[str, dict[str, list[float]]]
LABELS = {"off": "tracing off", "api": "API only (no SDK)", "sdk": "SDK, in-memory export"}
# The targets: the API alone costs nothing measurable; a recording SDK little.
API_TARGET = 1.03
SDK_TARGET = 1.15
TEXT = ("the agent answered the question about the weather in Berlin " * 5)[:300]


def _event(i: int) -> Event:
    return Event(
        author="user" if i % 2 == 0 else "assistant",
        content=types.Content(role="user", parts=[types.Part(text=TEXT)]),
        actions=EventActions(state_delta={"turn": i, "topic": f"topic-{i % 7}"}),
    )


async def run(server_dsn: str, reps: int) -> Section:
    """``ROUNDS * reps`` rounds of one call per variant and workload; medians and ratios."""
    section = Section("telemetry overhead: append_event and get_session (adk-pg only)")
    api_is_noop = isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider) and (
        type(metrics.get_meter_provider()).__name__ == "_ProxyMeterProvider"
    )
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(BatchSpanProcessor(spans))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    telemetry = {
        "off": Telemetry(enabled=False),
        "api": Telemetry(),
        "sdk": Telemetry(tracer_provider=tracer_provider, meter_provider=meter_provider),
    }
    rounds = ROUNDS * reps
    wall: Samples = {w: {v: [] for v in VARIANTS} for w in WORKLOADS}
    cpu: Samples = {w: {v: [] for v in VARIANTS} for w in WORKLOADS}
    async with throwaway_database(server_dsn, "adk_pg_bench_telemetry") as dsn:
        await migrate(dsn)
        pool = await create_pool(dsn, min_size=1, max_size=1)
        try:
            stores = {v: SessionStore(pool, telemetry=telemetry[v]) for v in VARIANTS}
            read = await stores["off"].create_session(app_name=APP, user_id=USER)
            for i in range(10):
                await stores["off"].append_event(
                    app_name=APP,
                    user_id=USER,
                    session_id=read.id,
                    event=_event(i),
                    expected_revision=i,
                )
            sessions = {
                v: (await stores[v].create_session(app_name=APP, user_id=USER)).id for v in VARIANTS
            }
            revisions = dict.fromkeys(VARIANTS, 0)
            tracer_provider.force_flush()
            exported = -len(spans.get_finished_spans())  # the sdk store's create_session
            for n in range(WARMUP + rounds):
                # One call of each variant in turn, the order rotating every round: drift in
                # the machine's load lands on all three alike.
                order = VARIANTS[n % 3 :] + VARIANTS[: n % 3]
                for workload in WORKLOADS:
                    for v in order:
                        store = stores[v]
                        cpu0, wall0 = time.process_time(), time.perf_counter()
                        if workload == "append_event":
                            result = await store.append_event(
                                app_name=APP,
                                user_id=USER,
                                session_id=sessions[v],
                                event=_event(n),
                                expected_revision=revisions[v],
                            )
                            assert result is not None
                            revisions[v] = result.revision
                        else:
                            await store.get_session(app_name=APP, user_id=USER, session_id=read.id)
                        if n >= WARMUP:
                            wall[workload][v].append(time.perf_counter() - wall0)
                            cpu[workload][v].append(time.process_time() - cpu0)
                if n % 100 == 99:
                    # As an exporter that sends spans away would, keep none: count, forget.
                    tracer_provider.force_flush()
                    exported += len(spans.get_finished_spans())
                    spans.clear()
        finally:
            await pool.close()
    tracer_provider.force_flush()
    exported += len(spans.get_finished_spans())
    if exported != 2 * (WARMUP + rounds):  # one span per call of the sdk store
        raise RuntimeError(f"benchmark self-check failed: {exported} spans exported")
    tracer_provider.shutdown()
    meter_provider.shutdown()
    return _section(section, wall, cpu, rounds, api_is_noop)


def _ratios(values: dict[str, list[float]], variant: str) -> list[float]:
    """The variant's median over off's, in each tenth of the run."""
    size = max(1, len(values["off"]) // CHUNKS)
    return [
        statistics.median(values[variant][i : i + size])
        / statistics.median(values["off"][i : i + size])
        for i in range(0, len(values["off"]) - size + 1, size)
    ]


def _section(
    section: Section, wall: Samples, cpu: Samples, rounds: int, api_is_noop: bool
) -> Section:
    data: dict[str, Any] = {"rounds": rounds, "api_is_noop": api_is_noop}
    section.lines = [
        f"{'workload':<14} {'variant':<24} {'p50 ms':>8} {'CPU us/call':>12} "
        f"{'p50 / off (range)':>22} {'CPU / off':>10}"
    ]
    for workload in WORKLOADS:
        for v in VARIANTS:
            median = statistics.median(wall[workload][v]) * 1000
            per_call = statistics.median(cpu[workload][v]) * 1e6
            entry: dict[str, Any] = {"p50_ms": median, "cpu_us": per_call}
            ratio_text = cpu_text = ""
            if v != "off":
                ratio = statistics.median(wall[workload][v]) / statistics.median(
                    wall[workload]["off"]
                )
                ratios = _ratios(wall[workload], v)
                cpu_ratio = per_call / (statistics.median(cpu[workload]["off"]) * 1e6)
                entry |= {"ratio": ratio, "ratios": ratios, "cpu_ratio": cpu_ratio}
                ratio_text = f"{ratio:.3f}x ({min(ratios):.2f}-{max(ratios):.2f})"
                cpu_text = f"{cpu_ratio:.3f}x"
            data[f"{workload}/{v}"] = entry
            section.lines.append(
                f"{workload:<14} {LABELS[v]:<24} {median:>8.3f} {per_call:>12.0f} "
                f"{ratio_text:>22} {cpu_text:>10}"
            )
    section.lines.append(
        f"{rounds} calls per variant and workload, one of each variant in turn (order rotating); "
        "p50 / off: ratio of the medians (range: the ratio in each tenth of the run); "
        "CPU: this process's CPU time per call (median)"
        + ("" if api_is_noop else "; NOTE: an SDK was configured globally, 'api' recorded")
    )
    section.data = data
    for workload, variant, need in (
        ("append_event", "api", API_TARGET),
        ("get_session", "api", API_TARGET),
        ("append_event", "sdk", SDK_TARGET),
    ):
        entry = data[f"{workload}/{variant}"]
        section.targets.append(
            Target(
                f"telemetry {LABELS[variant]}: {workload} p50 vs off",
                f"<= {need:.2f}x",
                f"{entry['ratio']:.3f}x ({min(entry['ratios']):.2f}-{max(entry['ratios']):.2f})",
                entry["ratio"] <= need,
            )
        )
    return section


async def _main(dsn: str | None, reps: int) -> None:
    section = await run(resolve_dsn(dsn), reps)
    print(section.title)
    print("\n".join(section.lines))
    print("\n".join(report.target_table(section.targets)))


if __name__ == "__main__":
    # ``python -m bench.telemetry [DSN] [REPS]``: this section alone (``make bench`` runs it
    # after the others).
    arguments = sys.argv[1:]
    asyncio.run(
        _main(arguments[0] if arguments else None, int(arguments[1]) if arguments[1:] else 5)
    )
