"""Numbers keep their value and their type in every scope, as ADK's in-memory service keeps them.

jsonb stores a number as a decimal without its exponent, so a float written as ``1e+308``
would come back as a 309-digit integer (ADK's own DatabaseSessionService on PostgreSQL does
exactly that). adk-pg writes such floats out with a decimal point: they come back as the same
float, bit for bit. Integers beyond 64 bits stay integers. The one number jsonb cannot hold is
``-0.0``: it reads back as ``0.0`` (equal in Python, a float still), a named difference.
"""

from __future__ import annotations

import math
import struct
from typing import Any

import asyncpg
from google.adk.events.event import Event
from google.adk.events.event_actions import EventActions
from google.adk.sessions import InMemorySessionService
from google.adk.sessions.base_session_service import BaseSessionService

from adk_pg.adk import PostgresSessionService

NUMBERS: dict[str, Any] = {
    "big": 2**70,
    "neg_big": -(2**200),
    "tenth": 0.1,
    "third": 1 / 3,
    "huge": 1e308,
    "max": 1.7976931348623157e308,
    "tiny": 5e-324,
    "small": 2.2250738585072014e-308,
    "exp": 1.5e300,
    "neg_exp": -2.5e-8,
    "e16": 1e16,
    "e22": 1e22,
    "one": 1.0,
    "int": 7,
    "nested": {"list": [1e300, -(2**65), 0.1, {"deep": 6.02214076e23}]},
}


def bits(value: Any) -> Any:
    """A value with every float replaced by its exact bits and type, for comparing."""
    if isinstance(value, float):
        return ("float", struct.pack(">d", value))
    if isinstance(value, bool) or not isinstance(value, (int, dict, list)):
        return value
    if isinstance(value, int):
        return ("int", value)
    if isinstance(value, dict):
        return {k: bits(v) for k, v in value.items()}
    return [bits(v) for v in value]


async def round_trip(service: BaseSessionService) -> tuple[dict[str, Any], dict[str, Any]]:
    """State given at creation and through an appended delta, in every scope; read back."""
    created = {f"s_{k}": v for k, v in NUMBERS.items()}
    created |= {f"user:c_{k}": v for k, v in NUMBERS.items()}
    delta = {f"d_{k}": v for k, v in NUMBERS.items()}
    delta |= {f"app:d_{k}": v for k, v in NUMBERS.items()}
    session = await service.create_session(app_name="nums", user_id="u", state=created)
    await service.append_event(
        session, Event(author="user", invocation_id="i", actions=EventActions(state_delta=delta))
    )
    stored = await service.get_session(app_name="nums", user_id="u", session_id=session.id)
    assert stored is not None
    return stored.state, stored.events[-1].actions.state_delta


async def test_numbers_round_trip_exactly_in_every_scope(pool: asyncpg.Pool) -> None:
    ours = await round_trip(PostgresSessionService(pool=pool))
    reference = await round_trip(InMemorySessionService())
    assert bits(ours[0]) == bits(reference[0])  # session, user: and app: state
    assert bits(ours[1]) == bits(reference[1])  # the event's own delta
    assert len(ours[0]) == 4 * len(NUMBERS)


async def test_negative_zero_reads_back_as_zero(pool: asyncpg.Pool) -> None:
    service = PostgresSessionService(pool=pool)
    session = await service.create_session(
        app_name="nums", user_id="u", state={"z": -0.0, "user:z": -0.0}
    )
    stored = await service.get_session(app_name="nums", user_id="u", session_id=session.id)
    assert stored is not None
    for key in ("z", "user:z"):
        value = stored.state[key]
        assert isinstance(value, float)
        assert value == 0.0
        assert math.copysign(1.0, value) == 1.0  # jsonb has no negative zero


async def test_numbers_inside_strings_are_left_alone(pool: asyncpg.Pool) -> None:
    service = PostgresSessionService(pool=pool)
    text = 'x1e+5 "quoted 2e-3" \\"1e9'
    session = await service.create_session(app_name="nums", user_id="u", state={"t": text})
    stored = await service.get_session(app_name="nums", user_id="u", session_id=session.id)
    assert stored is not None
    assert stored.state["t"] == text
