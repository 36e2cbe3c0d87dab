"""Turns worker results into medians, ratios, targets and the printed tables."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from bench.common import FLOOR_REFERENCE, FLOOR_WORKLOADS, LABELS, SETS, WORKLOADS

Result = dict[str, Any]

# DESIGN.md section 8: adk-pg ops/s divided by ADK DatabaseSessionService ops/s, at least.
SPEED_TARGETS: dict[str, float] = {
    "append_seq": 6.0,
    "append_conc": 8.0,
    "create": 5.0,
    "delete": 5.0,
    "get_10": 5.0,
    "get_100": 4.0,
    "get_1000": 3.0,
    "get_newest10": 6.0,
    "list_1000": 6.0,
}
APPEND_P50_VS_INSERT = 2.0


@dataclass
class Target:
    name: str
    need: str
    measured: str
    ok: bool

    def to_json(self) -> dict[str, Any]:
        return {"target": self.name, "need": self.need, "measured": self.measured, "ok": self.ok}


@dataclass
class Section:
    """A section after the session tables: its title, table lines, numbers and targets."""

    title: str
    lines: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    targets: list[Target] = field(default_factory=list)


class Results:
    """Worker results indexed by (implementation, workload) and by repetition."""

    def __init__(self, raw: Iterable[Result]) -> None:
        self.raw = list(raw)
        self.timed = [r for r in self.raw if r["set"] in SETS]
        self.counts = {r["impl"]: r["counts"] for r in self.raw if r["set"] == "count"}

    def reps(self) -> list[int]:
        return sorted({r["rep"] for r in self.timed})

    def value(self, impl: str, workload: str, field: str, rep: int) -> float | None:
        for r in self.timed:
            if r["impl"] == impl and r["rep"] == rep and workload in r["workloads"]:
                return float(r["workloads"][workload][field])
        return None

    def values(self, impl: str, workload: str, field: str) -> list[float]:
        found = (self.value(impl, workload, field, rep) for rep in self.reps())
        return [v for v in found if v is not None]

    def median(self, impl: str, workload: str, field: str) -> float | None:
        values = self.values(impl, workload, field)
        return statistics.median(values) if values else None

    def ratios(self, per_rep: Callable[[int], float | None]) -> list[float]:
        """One ratio per repetition, each from numbers measured in that repetition."""
        found = (per_rep(rep) for rep in self.reps())
        return [v for v in found if v is not None]

    def speedups(self, workload: str) -> list[float]:
        def ratio(rep: int) -> float | None:
            ours = self.value("adk_pg", workload, "ops", rep)
            theirs = self.value("adk_db", workload, "ops", rep)
            return ours / theirs if ours and theirs else None

        return self.ratios(ratio)

    def vs_floor_p50(self, workload: str) -> list[float]:
        def ratio(rep: int) -> float | None:
            ours = self.value("adk_pg", workload, "p50_ms", rep)
            floor = self.value("floor", FLOOR_REFERENCE[workload], "p50_ms", rep)
            return ours / floor if ours and floor else None

        return self.ratios(ratio)

    def rss_mb(self, impl: str, kind: str, field: str = "rss_peak_kb") -> list[float]:
        return [r[field] / 1024 for r in self.timed if r["impl"] == impl and r["set"] == kind]

    def rss_ratio(self, kind: str) -> list[float]:
        def ratio(rep: int) -> float | None:
            peaks = {
                r["impl"]: r["rss_peak_kb"]
                for r in self.timed
                if r["rep"] == rep and r["set"] == kind
            }
            ours, theirs = peaks.get("adk_pg"), peaks.get("adk_db")
            return ours / theirs if ours and theirs else None

        return self.ratios(ratio)

    def statements(self, impl: str, workload: str) -> dict[str, float] | None:
        per_call: dict[str, float] | None = self.counts.get(impl, {}).get(workload)
        return per_call


def _median_range(values: list[float], fmt: str) -> str:
    if not values:
        return "n/a"
    mid = format(statistics.median(values), fmt)
    if len(values) == 1:
        return mid
    return f"{mid} ({format(min(values), fmt)}-{format(max(values), fmt)})"


def targets(res: Results) -> list[Target]:
    out: list[Target] = []
    for workload, need in SPEED_TARGETS.items():
        ratios = res.speedups(workload)
        ok = bool(ratios) and statistics.median(ratios) >= need
        out.append(
            Target(
                f"{WORKLOADS[workload]}: ops/s ÷ ADK",
                f">= {need:g}x",
                _median_range(ratios, ".1f") + "x",
                ok,
            )
        )
        if workload == "append_seq":
            floor = res.vs_floor_p50(workload)
            ok = bool(floor) and statistics.median(floor) <= APPEND_P50_VS_INSERT
            out.append(
                Target(
                    f"{WORKLOADS[workload]}: p50 ÷ bare INSERT p50",
                    f"<= {APPEND_P50_VS_INSERT:g}x",
                    _median_range(floor, ".2f") + "x",
                    ok,
                )
            )
    for kind in SETS:
        ratios = res.rss_ratio(kind)
        ours, theirs = res.rss_mb("adk_pg", kind), res.rss_mb("adk_db", kind)
        measured = "n/a"
        if ours and theirs:
            measured = (
                f"{statistics.median(ours):.0f} vs {statistics.median(theirs):.0f} MB "
                f"({_median_range(ratios, '.2f')}x)"
            )
        ok = bool(ratios) and statistics.median(ratios) <= 1.0
        out.append(Target(f"peak RSS, {kind} set ÷ ADK", "<= 1x", measured, ok))
    counted = {w: res.statements("adk_pg", w) for w in WORKLOADS}
    worst = max((c["statements"] for c in counted.values() if c), default=None)
    every = all(c is not None for c in counted.values())
    out.append(
        Target(
            "statements per call, every workload",
            "= 1",
            "n/a" if worst is None else f"max {worst:g}",
            every and worst == 1.0,
        )
    )
    return out


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def main_table(res: Results) -> list[str]:
    head = (
        f"{'workload':<28} {'implementation':<14} {'calls':>6} {'ops/s':>9} {'p50 ms':>8} "
        f"{'p95 ms':>8} {'p99 ms':>8} {'CPU ms':>7} {'stmts':>6} {'RTs':>6}"
    )
    lines = [head, "-" * len(head)]
    rows: list[tuple[str, str, str]] = [
        (w, label, impl)
        for w, label in WORKLOADS.items()
        for impl in ("adk_pg", "adk_db", "memory")
    ]
    rows += [(w, label, "floor") for w, label in FLOOR_WORKLOADS.items()]
    last = ""
    for workload, label, impl in rows:
        if res.median(impl, workload, "ops") is None:
            continue
        counts = res.statements(impl, workload)
        lines.append(
            f"{label if label != last else '':<28} {LABELS[impl]:<14} "
            f"{_fmt(res.median(impl, workload, 'calls'), '.0f'):>6} "
            f"{_fmt(res.median(impl, workload, 'ops'), ',.0f'):>9} "
            f"{_fmt(res.median(impl, workload, 'p50_ms'), '.2f'):>8} "
            f"{_fmt(res.median(impl, workload, 'p95_ms'), '.2f'):>8} "
            f"{_fmt(res.median(impl, workload, 'p99_ms'), '.2f'):>8} "
            f"{_fmt(res.median(impl, workload, 'cpu_ms'), '.2f'):>7} "
            f"{_fmt(counts['statements'] if counts else None, '.3g'):>6} "
            f"{_fmt(counts['round_trips'] if counts else None, '.3g'):>6}"
        )
        last = label
    return lines


def ratio_table(res: Results) -> list[str]:
    head = f"{'workload':<28} {'adk-pg ÷ ADK ops/s':>22}   {'adk-pg p50 ÷ floor p50':<36}"
    lines = [head, "-" * len(head)]
    for workload, label in WORKLOADS.items():
        floor = FLOOR_WORKLOADS[FLOOR_REFERENCE[workload]]
        lines.append(
            f"{label:<28} {_median_range(res.speedups(workload), '.1f') + 'x':>22}   "
            f"{_median_range(res.vs_floor_p50(workload), '.2f') + 'x'} (vs {floor})"
        )
    return lines


def rss_table(res: Results) -> list[str]:
    head = f"{'peak RSS, MB (start)':<22}" + "".join(
        f"{LABELS[i]:>20}" for i in ("adk_pg", "adk_db", "memory", "floor")
    )
    lines = [head, "-" * len(head)]
    for kind in SETS:
        cells = []
        for impl in ("adk_pg", "adk_db", "memory", "floor"):
            peak, start = res.rss_mb(impl, kind), res.rss_mb(impl, kind, "rss_start_kb")
            cells.append(
                f"{statistics.median(peak):.0f} ({statistics.median(start):.0f})" if peak else "-"
            )
        lines.append(f"{kind + ' set':<22}" + "".join(f"{c:>20}" for c in cells))
    return lines


def load_by_rep(res: Results) -> dict[int, str]:
    """min-max of the load average seen by the workers of each repetition."""
    out = {}
    for rep in res.reps():
        loads = [r["load"] for r in res.timed if r["rep"] == rep and "load" in r]
        if loads:
            out[rep] = f"{min(loads):.1f}-{max(loads):.1f}"
    return out


def target_table(found: list[Target]) -> list[str]:
    head = f"{'target (DESIGN.md §8)':<50} {'need':>7}  {'measured: median (min-max)':<34} result"
    lines = [head, "-" * len(head)]
    for t in found:
        lines.append(f"{t.name:<50} {t.need:>7}  {t.measured:<34} {'PASS' if t.ok else 'MISS'}")
    return lines


def summary_json(res: Results) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for workload in [*WORKLOADS, *FLOOR_WORKLOADS]:
        for impl in ("adk_pg", "adk_db", "memory", "floor"):
            if res.median(impl, workload, "ops") is None:
                continue
            out.setdefault(workload, {})[impl] = {
                field: res.median(impl, workload, field)
                for field in ("calls", "ops", "p50_ms", "p95_ms", "p99_ms", "cpu_ms")
            } | {"counts": res.statements(impl, workload)}
        if workload in WORKLOADS:
            out.setdefault(workload, {})["ratios"] = {
                "adk_pg_over_adk_db_ops": res.speedups(workload),
                "adk_pg_over_floor_p50": res.vs_floor_p50(workload),
            }
    return out
