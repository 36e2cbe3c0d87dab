"""Events of ADK's legacy (v0) session tables, rebuilt by ADK's own v0 code.

ADK's v0 ``DatabaseSessionService`` kept one column per event field and pickled
``EventActions``. :func:`v0_event_doc` unpickles the actions with the restricted unpickler
(:mod:`adk_pg.adk.legacy_pickle`: nothing outside ADK's action types and plain data is
resolved, nothing is called), builds the ``Event`` exactly as ADK's v0 reader does, and
returns its JSON. ``adk-pg import-adk`` hands :func:`v0_reader` to
:func:`adk_pg.ops.legacy.import_adk` for v0 tables. ADK's v0 schema module needs SQLAlchemy,
which ``google-adk[db]`` brings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import pydantic

from adk_pg.adk import legacy_pickle
from adk_pg.errors import LegacyDataError

if TYPE_CHECKING:  # types only: importing this module must not need SQLAlchemy
    from google.adk.events.event_actions import EventActions
    from google.adk.sessions.schemas.v0 import StorageEvent

__all__ = ["adk_v0_classes", "v0_event_doc", "v0_reader"]

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


def adk_v0_classes() -> tuple[type[EventActions], type[StorageEvent]]:
    """ADK's ``EventActions`` and v0 ``StorageEvent``, which reading v0 tables needs.

    Raises:
        LegacyDataError: ADK's v0 schema cannot be imported; the message names the missing
            module and the package that brings it.
    """
    try:
        from google.adk.events.event_actions import EventActions
        from google.adk.sessions.schemas.v0 import StorageEvent
    except ImportError as exc:
        missing = exc.name or str(exc)
        package = "google-adk[db]" if missing.split(".")[0] == "sqlalchemy" else "adk-pg[adk]"
        raise LegacyDataError(
            "these are ADK's v0 session tables (pickled actions); reading them needs ADK's "
            f"v0 schema module, which cannot be imported: {missing} is missing "
            f"(pip install '{package}')"
        ) from None
    return EventActions, StorageEvent


def v0_reader() -> Callable[[Mapping[str, Any], str], dict[str, Any]]:
    """:func:`v0_event_doc`, once ADK's v0 schema is known to import.

    Raises:
        LegacyDataError: it does not (the message names the missing module and package).
    """
    adk_v0_classes()
    return v0_event_doc


def v0_event_doc(row: Mapping[str, Any], where: str) -> dict[str, Any]:
    """The Event JSON of a v0 ``events`` row, built as ADK's v0 reader builds its Event.

    ``where`` names the row in error messages.

    Raises:
        LegacyDataError: ADK's v0 schema cannot be imported, the pickled actions are refused
            or broken, or the row is not a valid event. Nothing in the pickle is ever called.
    """
    event_actions, storage_event = adk_v0_classes()
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
