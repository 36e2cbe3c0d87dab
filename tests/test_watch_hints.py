"""The change feed's inbox (``adk_pg.sessions.hints``): what a LISTEN connection was told.

No server here: the inbox is fed as asyncpg feeds it, by calling its callbacks.
"""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from adk_pg.sessions.hints import LOST, QUIET, Hints

IDLE = 0.1  # seconds


def hint(n: int) -> dict[str, object]:
    """A hint as migration 0012's trigger writes it for an appended event."""
    return {"kind": "event", "user_id": "u", "session_id": "s", "revision": n, "event_id": f"e{n}"}


def notify(hints: Hints, payload: dict[str, object]) -> None:
    hints.on_notify(None, 1, "channel", json.dumps(payload))


async def test_hints_come_out_parsed_in_the_order_they_came() -> None:
    hints = Hints(IDLE)
    try:
        for n in range(3):
            notify(hints, hint(n))
        hints.on_lost(None)
        assert [await hints.next() for _ in range(3)] == [hint(0), hint(1), hint(2)]
        assert await hints.next() is LOST
    finally:
        hints.close()


async def test_a_waiter_is_woken_by_the_next_hint() -> None:
    hints = Hints(IDLE * 100)
    try:
        waiting = asyncio.create_task(hints.next())
        await asyncio.sleep(0.01)
        assert not waiting.done()
        notify(hints, hint(1))
        assert await asyncio.wait_for(waiting, 1) == hint(1)
    finally:
        hints.close()


async def test_quiet_comes_after_idle_check_without_a_hint_and_not_before() -> None:
    hints = Hints(IDLE)
    try:
        started = time.perf_counter()
        assert await asyncio.wait_for(hints.next(), 10 * IDLE) is QUIET
        waited = time.perf_counter() - started
        assert IDLE * 0.9 <= waited <= 2 * IDLE + 1.0  # slack for a loaded machine
    finally:
        hints.close()


async def test_a_feed_hinted_more_often_than_idle_check_is_never_quiet() -> None:
    hints = Hints(4 * IDLE)
    got: list[object] = []

    async def take() -> None:
        while True:
            got.append(await hints.next())

    taker = asyncio.create_task(take())
    try:
        for n in range(12):  # 3 idle checks' worth, a hint every quarter of one
            notify(hints, hint(n))
            await asyncio.sleep(IDLE)
        assert got == [hint(n) for n in range(12)]
    finally:
        taker.cancel()
        hints.close()


async def test_cancelling_a_waiter_leaves_the_inbox_usable() -> None:
    hints = Hints(IDLE * 100)
    try:
        waiting = asyncio.create_task(hints.next())
        await asyncio.sleep(0.01)
        waiting.cancel()
        await asyncio.wait({waiting})
        assert waiting.cancelled()
        notify(hints, hint(2))
        assert await asyncio.wait_for(hints.next(), 1) == hint(2)
    finally:
        hints.close()


async def test_a_notification_not_of_adk_pg_is_passed_over_and_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    hints = Hints(IDLE * 100)
    try:
        real = hint(3)
        junk = [
            "x",
            "[1]",
            "[" * 5000 + "]" * 5000,  # nested deeper than the JSON parser recurses
            '{"kind": []}',
            '{"kind": "event"}',
            '{"kind": "moved", "user_id": "u", "session_id": "s", "revision": 1}',
            '{"kind": "event", "user_id": "u", "session_id": "s", "revision": "3"}',
            '{"kind": "event", "user_id": "u", "session_id": "s", "revision": 3}',
        ]
        for payload in junk:
            hints.on_notify(None, 1, "channel", payload)
        notify(hints, real)
        with caplog.at_level("WARNING", logger="adk_pg"):
            assert await asyncio.wait_for(hints.next(), 1) == real
        logged = [r.getMessage() for r in caplog.records if "not of adk-pg" in r.getMessage()]
        assert len(logged) == 1  # at most one line a minute, however many come
    finally:
        hints.close()


async def test_hints_of_every_kind_the_triggers_write_are_taken() -> None:
    hints = Hints(IDLE * 100)
    try:
        created = {"kind": "created", "user_id": "u", "session_id": "s", "revision": 0}
        deleted = {"kind": "deleted", "user_id": "u", "session_id": "s", "revision": 4}
        for payload in (created, hint(1), deleted):
            notify(hints, payload)
        assert [await hints.next() for _ in range(3)] == [created, hint(1), deleted]
    finally:
        hints.close()


async def test_a_lost_connection_wakes_a_waiter() -> None:
    hints = Hints(IDLE * 100)
    try:
        waiting = asyncio.create_task(hints.next())
        await asyncio.sleep(0.01)
        hints.on_lost(None)
        assert await asyncio.wait_for(waiting, 1) is LOST
    finally:
        hints.close()


async def test_quiet_comes_again_and_again_while_nothing_comes() -> None:
    hints = Hints(IDLE)
    try:
        for _ in range(3):  # the idle-check timer re-arms itself
            assert await asyncio.wait_for(hints.next(), 10 * IDLE) is QUIET
    finally:
        hints.close()
