"""The change feed's inbox: notifications of one LISTEN connection, as hints to act on.

A :class:`Hints` is registered as the connection's listener (``on_notify``) and termination
listener (``on_lost``); :meth:`Hints.next` gives the next hint (the notification's JSON
payload), :data:`LOST` once the connection closed, or :data:`QUIET` when none came for
``idle_check`` seconds (the feed then checks its connection).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

__all__ = ["LOST", "QUIET", "Hints"]

LOST = None  # the connection closed
QUIET: dict[str, Any] = {}  # no hint for idle_check seconds (compared by identity)


class Hints:
    """What one connection was notified of, in order."""

    def __init__(self, idle_check: float) -> None:
        self._idle_check = idle_check
        self._queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()

    def on_notify(self, conn: Any, pid: int, channel: str, payload: object) -> None:
        """asyncpg's listener callback: a notification's payload becomes a hint."""
        self._queue.put_nowait(json.loads(str(payload)))

    def on_lost(self, conn: Any) -> None:
        """asyncpg's termination callback."""
        self._queue.put_nowait(LOST)

    async def next(self) -> dict[str, Any] | None:
        """The next hint, ``LOST``, or ``QUIET`` after ``idle_check`` seconds without one.

        Not ``asyncio.wait_for``: before Python 3.12 it can swallow a cancellation that comes
        with a hint, and the task iterating the feed would never end.
        """
        if not self._queue.empty():  # a burst: no future, no timer
            return self._queue.get_nowait()
        getter = asyncio.ensure_future(self._queue.get())
        try:
            done, _ = await asyncio.wait({getter}, timeout=self._idle_check)
        finally:
            if not getter.done():
                getter.cancel()
        return getter.result() if done else QUIET
