"""The change feed's inbox: notifications of one LISTEN connection, as hints to act on.

A :class:`Hints` is registered as the connection's listener (``on_notify``) and termination
listener (``on_lost``); :meth:`Hints.next` gives the next hint (the notification's JSON
payload), :data:`LOST` once the connection closed, or :data:`QUIET` when none came for
``idle_check`` seconds or more (at most twice that: the feed then checks its connection).

A feed can be told of thousands of changes a second, in the process that also writes them,
so a hint costs as little as it can: its payload is kept as it came and parsed when taken,
and waiting for one is a bare future, set by the notification (no task, no timer per hint;
one timer, re-armed every ``idle_check`` seconds, tells a quiet connection from a busy one).
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import math
import time
from typing import Any

__all__ = ["LOST", "QUIET", "Hints"]

logger = logging.getLogger("adk_pg")

FOREIGN_LOG_INTERVAL_S = 60.0  # at most one log line a minute about foreign notifications

LOST = None  # the connection closed
QUIET: dict[str, Any] = {}  # no hint for idle_check seconds (compared by identity)


class Hints:
    """What one connection was notified of, in order."""

    def __init__(self, idle_check: float) -> None:
        self._idle_check = idle_check
        self._pending: collections.deque[str | None] = collections.deque()
        self._waiter: asyncio.Future[bool] | None = None
        self._heard = False  # a hint came since the timer's last tick
        self._timer: asyncio.TimerHandle | None = None
        self._foreign = 0  # notifications passed over since the last line logged about them
        self._warned_at = -math.inf

    def on_notify(self, conn: Any, pid: int, channel: str, payload: object) -> None:
        """asyncpg's listener callback: a notification's payload becomes a hint."""
        self._pending.append(str(payload))
        self._wake(True)

    def on_lost(self, conn: Any) -> None:
        """asyncpg's termination callback."""
        self._pending.append(LOST)
        self._wake(True)

    def _wake(self, heard: bool) -> None:
        self._heard = self._heard or heard
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(heard)

    def _tick(self) -> None:
        """Every ``idle_check`` seconds: a waiter that heard nothing since the last tick is
        told the connection was quiet."""
        if not self._heard:
            self._wake(False)
        self._heard = False
        self._timer = asyncio.get_running_loop().call_later(self._idle_check, self._tick)

    async def next(self) -> dict[str, Any] | None:
        """The next hint, ``LOST``, or ``QUIET`` after ``idle_check`` seconds without one.

        A notification that is not one of adk-pg's (anyone who may connect can NOTIFY on the
        channel) is passed over, and logged at most once a minute: hints only say where to
        look, so none is lost.
        """
        while True:
            if not self._pending:
                loop = asyncio.get_running_loop()
                if self._timer is None:
                    self._timer = loop.call_later(self._idle_check, self._tick)
                self._waiter = waiter = loop.create_future()
                try:
                    await waiter
                finally:
                    self._waiter = None
                if not self._pending:
                    return QUIET
            payload = self._pending.popleft()
            if payload is None:
                return LOST
            hint = _hint(payload)
            if hint is not None:
                return hint
            self._passed_over(payload)

    def _passed_over(self, payload: str) -> None:
        """Log a foreign notification: at most one line a minute, with how many came."""
        self._foreign += 1
        now = time.monotonic()
        if now - self._warned_at < FOREIGN_LOG_INTERVAL_S:
            return
        logger.warning(
            "change feed: passed over %d notification(s) not of adk-pg, the last: %.100r",
            self._foreign,
            payload,
        )
        self._warned_at, self._foreign = now, 0

    def close(self) -> None:
        """Stop the timer; the feed is done with this inbox."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


_KINDS = frozenset({"created", "deleted", "event"})


def _hint(payload: str) -> dict[str, Any] | None:
    """The payload as the triggers of migration 0012 write it, or None if it is not that."""
    try:
        hint = json.loads(payload)
    except (ValueError, RecursionError):  # RecursionError: deeply nested arrays
        return None
    if not (
        isinstance(hint, dict)
        and isinstance(hint.get("kind"), str)
        and hint["kind"] in _KINDS
        and isinstance(hint.get("user_id"), str)
        and isinstance(hint.get("session_id"), str)
        and type(hint.get("revision")) is int
        and (hint["kind"] != "event" or isinstance(hint.get("event_id"), str))
    ):
        return None
    return hint
