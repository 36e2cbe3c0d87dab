"""How an ADK ``Session`` carries adk-pg's revision: its ``_storage_update_marker``.

ADK's sessions hold the storage revision they were read at in a private marker; adk-pg's is
its integer revision as a string, the same on sessions returned by create, append, get and
list, so that they compare equal as ADK's own tests expect. A session built by hand has no
marker and is checked as ``DatabaseSessionService`` checks it.
"""

from __future__ import annotations

from typing import Any

import pydantic_core
from google.adk.events.event import Event
from google.adk.sessions.session import Session

from adk_pg import errors
from adk_pg.adk.errors import SessionNotFoundError, StaleSessionError
from adk_pg.sessions.models import SessionRecord
from adk_pg.sessions.rows import SessionRows

__all__ = ["revision_of", "revision_of_markerless", "to_session"]


def revision_of(session: Session) -> int | None:
    """The revision a session object was read at; None for a session built by hand."""
    marker = session._storage_update_marker
    if marker is None:
        return None
    try:
        return int(marker)
    except ValueError:
        raise errors.InvalidArgumentError(
            f"session {session.id} carries a storage marker {marker!r} that adk-pg did not "
            "write; load it with PostgresSessionService.get_session"
        ) from None


async def revision_of_markerless(rows: SessionRows, session: Session) -> int:
    """The revision to append at for a session without a marker, or StaleSessionError.

    ``DatabaseSessionService``'s rule for sessions built by hand or loaded elsewhere: stale
    only when storage was updated after ``session.last_update_time`` and its newest event is
    not the session's last one. It costs one more query; sessions this service returned
    always carry a marker.

    Raises:
        SessionNotFoundError: the session does not exist.
        StaleSessionError: storage holds events the session has not seen.
    """
    record = await rows.get(
        app_name=session.app_name,
        user_id=session.user_id,
        session_id=session.id,
        num_recent_events=1,
    )
    if record is None:
        raise SessionNotFoundError(f"Session {session.id} not found.")
    if record.last_update_time > session.last_update_time:
        # Only the id is needed: read it from the JSON instead of validating an Event.
        newest: list[dict[str, Any]] = pydantic_core.from_json(record.events_json)
        stored_id = newest[-1]["id"] if newest else None
        held_id = session.events[-1].id if session.events else None
        if stored_id != held_id:
            raise StaleSessionError(
                f"Session {session.id} has been modified in storage since it was loaded. "
                "Please reload the session before appending more events."
            )
    return record.revision


def to_session(record: SessionRecord, events: list[Event]) -> Session:
    """An ADK Session from a record, carrying its revision as the marker."""
    session = Session(
        id=record.id,
        app_name=record.app_name,
        user_id=record.user_id,
        state=record.state,
        events=events,
        last_update_time=record.last_update_time,
    )
    # The revision is the marker; it is the same string on created, appended, fetched and
    # listed sessions, so they compare equal as ADK's own tests expect.
    session._storage_update_marker = str(record.revision)
    return session
