"""ADK's events and sessions as JSON: how the ADK services read what they stored, and write it.

Stored events are JSON this package dumped from validated Events: they are read without the
Python code pydantic runs per model that does nothing for such JSON (:mod:`adk_pg.sessions.decode`).
"""

from __future__ import annotations

from typing import Any

from google.adk.events.event import Event
from google.adk.sessions.session import Session
from pydantic import TypeAdapter

from adk_pg.db import values
from adk_pg.sessions.decode import ListDecoder, genai_no_ops
from adk_pg.sessions.samples import SAMPLE_EVENTS_JSON

__all__ = ["EVENTS", "decode_events", "decode_sessions", "event_json", "read_as_adk_does"]

EVENTS: TypeAdapter[list[Event]] = TypeAdapter(list[Event])
_convenience = getattr(Event, "_accept_convenience_kwargs", None)
decode_events = ListDecoder(
    Event,
    skip=[*genai_no_ops(), *([_convenience] if _convenience is not None else [])],
    samples=lambda: EVENTS.validate_json(SAMPLE_EVENTS_JSON),
)
decode_sessions = ListDecoder(Session)


def read_as_adk_does(events_json: str) -> None:
    """Read a JSON array of events with ADK's own Event, as this service's get_session does.

    ``adk-pg import`` runs it on every imported session when google-adk is installed, so that
    nothing is stored that this service could not read back.

    Raises:
        pydantic.ValidationError: an event ADK cannot read.
    """
    EVENTS.validate_json(events_json)


def event_json(event: Event, exclude: dict[str, Any] | None) -> str:
    """The event as stored: ADK's JSON, null fields left out, ``exclude`` not written."""
    return values.dump_json(
        lambda **kw: event.model_dump_json(exclude_none=True, exclude=exclude, **kw),
        "event",
        event,
    )
