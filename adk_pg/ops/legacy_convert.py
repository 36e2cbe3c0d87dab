"""Rows of ADK's ``DatabaseSessionService`` tables → adk-pg export documents.

Nothing here talks to the database. v1 rows need only adk-pg's own :class:`~adk_pg.models.Event`;
v0 rows are rebuilt by ADK's own v0 code and their pickled actions go through
:mod:`adk_pg.legacy_pickle`, so the v0 path imports ``google.adk`` (the ``adk`` extra), lazily,
through :func:`adk_v0_classes`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import pydantic

from adk_pg import legacy_pickle
from adk_pg.errors import AdkPgError
from adk_pg.models import Event

if TYPE_CHECKING:  # types only: importing this module must not need google-adk
    from google.adk.events.event_actions import EventActions
    from google.adk.sessions.schemas.v0 import StorageEvent

__all__ = [
    "LegacyDataError",
    "SessionKey",
    "adk_v0_classes",
    "describe_state",
    "session_doc",
    "state_doc",
    "v0_event_doc",
    "v1_event_doc",
]

Row = Any  # an asyncpg.Record, or a dict with the same keys


class LegacyDataError(AdkPgError):
    """The ADK tables are missing, of an unknown version, or hold a row we refuse to load."""


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


def adk_v0_classes() -> tuple[type[EventActions], type[StorageEvent]]:
    """ADK's ``EventActions`` and v0 ``StorageEvent``, which reading v0 tables needs.

    Raises:
        LegacyDataError: google-adk is not installed (the message says how to install it).
    """
    try:
        from google.adk.events.event_actions import EventActions
        from google.adk.sessions.schemas.v0 import StorageEvent
    except ImportError as exc:
        raise LegacyDataError(
            "these are ADK's v0 session tables (pickled actions); reading them needs "
            f"google-adk, which is not installed ({exc}): pip install 'adk-pg[adk]'"
        ) from None
    return EventActions, StorageEvent


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

    Raises:
        LegacyDataError: the row is not a valid event (the message names it).
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
    try:
        # Validated, not converted: the JSON is carried over as ADK wrote it.
        Event.model_validate(doc)
    except pydantic.ValidationError as exc:
        raise LegacyDataError(
            f"{key.describe(row['id'])}: event_data is not a valid ADK event "
            f"({exc.error_count()} errors, first: {exc.errors()[0]['msg']})"
        ) from None
    return doc


def v0_event_doc(row: Row, key: SessionKey) -> dict[str, Any]:
    """The Event JSON of a v0 row, built as ADK's v0 reader builds its Event.

    Raises:
        LegacyDataError: google-adk is missing, the pickled actions are refused or broken,
            or the row is not a valid event (the message names it). Nothing in the pickle
            is ever called.
    """
    event_actions, storage_event = adk_v0_classes()
    where = key.describe(row["id"])
    actions: Any = None
    if row["actions"] is not None:
        try:
            actions = legacy_pickle.loads(row["actions"])
        except legacy_pickle.LegacyPickleError as exc:
            raise LegacyDataError(f"{where}: events.actions: {exc}") from None
    if actions is not None and not isinstance(actions, event_actions):
        raise LegacyDataError(
            f"{where}: events.actions holds a {type(actions).__name__}, not EventActions"
        )
    columns = {name: row[name] for name in _V0_COLUMNS}
    try:
        # ADK's own row -> Event conversion (a transient ORM object, never added to a
        # session), so the result is field for field what DatabaseSessionService returns.
        event = storage_event(**columns, actions=actions).to_event()
        return event.model_dump(exclude_none=True, mode="json")
    except (pydantic.ValidationError, ValueError, TypeError) as exc:
        raise LegacyDataError(f"{where}: not a valid ADK event ({type(exc).__name__})") from None


_V0_COLUMNS = (
    "id",
    "app_name",
    "user_id",
    "session_id",
    "invocation_id",
    "author",
    "long_running_tool_ids_json",
    "branch",
    "timestamp",
    "content",
    "grounding_metadata",
    "custom_metadata",
    "usage_metadata",
    "citation_metadata",
    "partial",
    "turn_complete",
    "error_code",
    "error_message",
    "interrupted",
    "input_transcription",
    "output_transcription",
)


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
