"""Rows of ADK's ``DatabaseSessionService`` tables → adk-pg export documents.

Nothing here talks to the database. A v1 row's ``event_data`` is carried over as it is; a v0
row's event is rebuilt by ADK's own v0 code (:mod:`adk_pg.adk.legacy`, the only part that
needs google-adk), given to :func:`adk_pg.ops.legacy.import_adk` as a function.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from adk_pg.errors import LegacyDataError

__all__ = [
    "Row",
    "SessionKey",
    "describe_state",
    "session_doc",
    "state_doc",
    "v1_event_doc",
]

Row = Any  # an asyncpg.Record, or a dict with the same keys


@dataclass(frozen=True)
class SessionKey:
    """Names a session (and an event, when there is one) in error messages."""

    app_name: str
    user_id: str
    session_id: str

    def describe(self, event_id: str | None = None) -> str:
        """``app 'a' user 'u' session 's' [event 'e']``."""
        text = f"app {self.app_name!r} user {self.user_id!r} session {self.session_id!r}"
        return text if event_id is None else f"{text} event {event_id!r}"


def _as_utc(naive: datetime) -> datetime:
    # ADK writes naive UTC; an aware value (a hand-made timestamptz column) is converted.
    if naive.tzinfo is None:
        return naive.replace(tzinfo=timezone.utc)
    return naive.astimezone(timezone.utc)


def _epoch(value: datetime) -> float:
    """ADK's ``utc_datetime_to_timestamp``: naive means UTC, never local time."""
    return _as_utc(value).timestamp()


def _iso(value: datetime) -> str:
    return _as_utc(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def v1_event_doc(row: Row, key: SessionKey) -> dict[str, Any]:
    """The Event JSON of a v1 row: ``event_data`` with the columns' id and invocation id.

    The importer then reads it as the store will (a row ADK itself could not read is refused
    there, naming it).

    Raises:
        LegacyDataError: ``event_data`` is not a JSON object (the message names the row).
    """
    data = row["event_data"]
    if data is None:
        data = {}  # ADK reads a NULL event_data as {}
    if not isinstance(data, dict):
        raise LegacyDataError(f"{key.describe(row['id'])}: event_data is not a JSON object")
    doc = {**data, "id": row["id"], "invocation_id": row["invocation_id"]}
    # The payload keeps ADK's exact float epoch; the column is rounded to the microsecond.
    if doc.get("timestamp") is None:
        doc["timestamp"] = _epoch(row["timestamp"])
    return doc


def _state(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise LegacyDataError(f"{where}: state is not a JSON object")
    return value


def session_doc(row: Row, events: list[dict[str, Any]], key: SessionKey) -> dict[str, Any]:
    """A session row and its converted events as an export session document.

    The revision is the number of events (what adk-pg's appends count).

    Raises:
        LegacyDataError: the state is not a JSON object.
    """
    return {
        "type": "session",
        "app_name": key.app_name,
        "user_id": key.user_id,
        "id": key.session_id,
        "revision": len(events),
        "create_time": _iso(row["create_time"]),
        "update_time": _iso(row["update_time"]),
        "state": _state(row["state"], key.describe()),
        "events": events,
    }


def describe_state(kind: str, row: Row) -> str:
    """``app_states row of app 'a'`` or ``user_states row of app 'a' user 'u'``."""
    if kind == "app_state":
        return f"app_states row of app {row['app_name']!r}"
    return f"user_states row of app {row['app_name']!r} user {row['user_id']!r}"


def state_doc(kind: str, row: Row) -> dict[str, Any]:
    """An ``app_states`` (``kind="app_state"``) or ``user_states`` row as an export document.

    Raises:
        LegacyDataError: the state is not a JSON object.
    """
    doc = {"type": kind, "app_name": row["app_name"]}
    if kind == "user_state":
        doc["user_id"] = row["user_id"]
    doc["state"] = _state(row["state"], describe_state(kind, row))
    doc["update_time"] = _iso(row["update_time"])
    return doc
