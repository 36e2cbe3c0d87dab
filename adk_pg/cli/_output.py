"""Output for the command line: tables, JSON, times, sizes, durations and the progress bar.

Nothing here talks to the database.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
import time
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any, TextIO

from adk_pg.schema.citus import CitusLayout

__all__ = [
    "TerminalProgress",
    "citus_lines",
    "citus_report",
    "human_bytes",
    "iso_utc",
    "parse_duration",
    "positive_int",
    "print_json",
    "print_table",
    "printable",
    "seconds",
    "show_time",
]

# Characters a terminal acts on instead of showing: C0 and C1 controls (escape sequences,
# carriage returns, bells), DEL, and the Unicode line separators and bidirectional overrides
# that reorder what follows them.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


_JSON_UNPRINTABLE = re.compile("[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """``text`` with every character a terminal would act on written as an escape (``\\x1b``).

    Stored ids, authors and event text reach the terminal only through this: whatever a user
    or a model put there, it cannot move the cursor, recolour the screen or reorder a line.
    """
    return _UNPRINTABLE.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


_DURATION_PART = re.compile(r"(\d+)([a-z]+)")
# One spelling per unit, none of them ambiguous: "m" (minutes? months?) is refused.
_UNITS = {"s": 1, "min": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> timedelta:
    """Parse ``30d``, ``12h``, ``90min``, ``45s``, ``2w`` or a sum such as ``1d12h``.

    Raises:
        argparse.ArgumentTypeError: not such a duration, zero, or a unit that could be read
            two ways (``m``, ``mo``, ``M``: minutes or months?).
    """
    cleaned = text.strip().lower()
    parts = _DURATION_PART.findall(cleaned)
    if not cleaned or "".join(n + u for n, u in parts) != cleaned:
        raise argparse.ArgumentTypeError(
            f"invalid duration {text!r}: use a number and a unit (s, min, h, d, w), e.g. 30d, "
            "12h, 90min or 1d12h"
        )
    for _, unit in parts:
        if unit not in _UNITS:
            hint = (
                "'m' could mean minutes or months: write 'min' for minutes, and days for "
                "months (e.g. 90d)"
                if unit in {"m", "mo", "mon", "month", "months"}
                else "the units are s, min, h, d and w"
            )
            raise argparse.ArgumentTypeError(f"invalid duration {text!r}: {hint}")
    seconds = sum(int(n) * _UNITS[u] for n, u in parts)
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"invalid duration {text!r}: it must be positive")
    return timedelta(seconds=seconds)


def seconds(text: str) -> float:
    """An argparse type: a number of seconds above 0 (``--timeout``).

    Raises:
        argparse.ArgumentTypeError: anything else.
    """
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < 86_400:
        raise argparse.ArgumentTypeError(f"expected a number of seconds above 0, got {text!r}")
    return value


def positive_int(text: str) -> int:
    """An argparse type: an integer from 1 to 10,000.

    Raises:
        argparse.ArgumentTypeError: anything else.
    """
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 0 < value <= 10_000:
        raise argparse.ArgumentTypeError(f"expected an integer from 1 to 10000, got {text!r}")
    return value


def iso_utc(value: datetime) -> str:
    """``2025-01-31T12:00:00.123456Z``: exact, for JSON output."""
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def show_time(value: datetime | float, *, millis: bool = False) -> str:
    """``2025-01-31 12:00:00`` (UTC), or with ``.123`` milliseconds: for tables."""
    if not isinstance(value, datetime):
        value = datetime.fromtimestamp(value, tz=timezone.utc)
    text = value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")
    return text[:-3] if millis else text[:-7]


def human_bytes(size: int) -> str:
    """``8.0 kB``, ``1.2 MB``: powers of 1024, as psql's pg_size_pretty."""
    value = float(size)
    for unit in ("bytes", "kB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{size} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def print_json(value: Any, stream: TextIO | None = None) -> None:
    """Pretty JSON, non-ASCII kept but terminal controls escaped, on stdout (or ``stream``)."""
    text = json.dumps(value, indent=2, ensure_ascii=False)
    # JSON escapes C0 controls itself (a raw newline here is indentation); the others can
    # only be inside strings, where \\uXXXX means the same character.
    print(_JSON_UNPRINTABLE.sub(_json_escape, text), file=stream or sys.stdout)


def _json_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def print_table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], *, right: frozenset[int] = frozenset()
) -> None:
    """A plain aligned table; columns whose index is in ``right`` are right-aligned."""
    rows = [[printable(cell) for cell in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]

    def line(cells: Sequence[str]) -> str:
        padded = [
            cell.rjust(w) if i in right else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(padded).rstrip()

    print(line(headers))
    for row in rows:
        print(line(row))


class TerminalProgress:
    """A one-line progress bar on stderr, drawn only when stderr is a terminal."""

    _WIDTH = 30
    _INTERVAL = 0.1  # seconds between redraws: drawing must not slow the work down

    def __init__(self, label: str, stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stderr
        self._enabled = self._stream.isatty()
        self._label = label
        self._total: int | None = None
        self._unit = ""
        self._done = 0
        self._drawn_at = 0.0
        self._visible = False

    def start(self, total: int | None, unit: str) -> None:
        """Begin counting towards ``total`` ``unit`` (None: unknown)."""
        self._total, self._unit, self._done = total, unit, 0
        self._draw(force=True)

    def advance(self, amount: int) -> None:
        """Count ``amount`` more."""
        self._done += amount
        self._draw()

    def finish(self) -> None:
        """Draw the final state and end the line."""
        if self._visible:
            self._draw(force=True)
            self._stream.write("\n")
            self._stream.flush()
            self._visible = False

    def _amount(self, value: int) -> str:
        return human_bytes(value) if self._unit == "bytes" else f"{value} {self._unit}"

    def _draw(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not self._enabled or (not force and now - self._drawn_at < self._INTERVAL):
            return
        self._drawn_at = now
        if self._total:
            share = min(self._done / self._total, 1.0)
            filled = int(share * self._WIDTH)
            bar = "#" * filled + "." * (self._WIDTH - filled)
            text = f"{self._label} [{bar}] {share:4.0%} {self._amount(self._done)}"
        else:
            text = f"{self._label} {self._amount(self._done)}"
        self._stream.write("\r" + text + "\x1b[K")
        self._stream.flush()
        self._visible = True


def citus_report(cluster: CitusLayout) -> dict[str, Any]:
    """The Citus part of ``status --json`` and ``doctor --json``."""
    return {
        "version": cluster.version,
        "nodes": [dataclasses.asdict(n) for n in cluster.nodes],
        "tables": [dataclasses.asdict(t) for t in cluster.tables],
    }


def citus_lines(cluster: CitusLayout) -> list[str]:
    """The Citus lines of ``status`` and ``doctor``: the version, each node, how each table is
    laid out."""
    lines = [f"version {cluster.version}"]
    lines += [
        f"{n.node} {'coordinator' if n.is_coordinator else 'worker'}, {n.shards} adk shards"
        for n in cluster.nodes
    ]
    if not cluster.tables:
        lines.append("adk tables not distributed: run `adk-pg distribute`")
    for t in cluster.tables:
        how = (
            f"by {t.distribution_column}, {t.shard_count} shards, colocation {t.colocation_id}"
            if t.kind == "distributed"
            else "a copy on every node"
        )
        lines.append(f"{t.name}: {t.kind} ({how}), {human_bytes(t.total_bytes)}")
    return lines
