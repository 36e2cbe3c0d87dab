"""Appending one event: the statement, and what its one row says.

``append_event.sql`` writes the event unless the session is missing, stale, or already holds
an event of that id; its row then says which, so that a retry of a stored event succeeds
without writing and another event under a stored id is refused, in the same statement. Only
a concurrent writer of the same session can leave the row undecided: then the statement runs
once more, against what that writer committed. On tables distributed by Citus the same row
comes from the function ``adk.append_event_routed`` (migration 0013), see :func:`_send`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import asyncpg

from adk_pg.db import values
from adk_pg.db.calls import Call
from adk_pg.db.database import Database
from adk_pg.errors import (
    UNIQUE_VIOLATIONS,
    EventConflictError,
    SessionNotFoundError,
    StaleSessionError,
    translate_errors,
    violates,
)
from adk_pg.sessions import encode, validate
from adk_pg.sessions.models import AppendResult
from adk_pg.sessions.queries import QUERIES

__all__ = ["append_event"]


async def append_event(
    db: Database,
    *,
    app_name: str,
    user_id: str,
    session_id: str,
    event_id: str,
    event_timestamp: float,
    event_json: str,
    state_delta: Mapping[str, Any],
    expected_revision: int | None,
) -> AppendResult:
    """Append an event already serialised to JSON (snake_case fields, ``temp:`` removed).

    ``event_json`` must come from ``model_dump_json(exclude_none=True)`` of an ADK-shaped
    event whose ``id`` and ``timestamp`` are ``event_id`` and ``event_timestamp``;
    ``state_delta`` is its ``actions.state_delta`` (its values are stored in the state rows
    as ADK's database service stores them).

    Raises:
        InvalidArgumentError: a bad id, revision or state delta.
        SessionNotFoundError: the session does not exist.
        StaleSessionError: the session changed since ``expected_revision``.
        EventConflictError: an event with this id and other content is stored.
        StorageError: the database failed; nothing was written.
    """
    app_name = values.require_id(app_name, "app_name")
    user_id = values.require_id(user_id, "user_id")
    session_id = validate.existing_session_id(session_id)
    event_id = values.require_id(event_id, "event.id")
    expected_revision = validate.revision(expected_revision)
    timestamp = validate.event_timestamp(event_timestamp)
    deltas = encode.state_json(state_delta, "event.actions.state_delta")
    args = (
        app_name, user_id, session_id, expected_revision, event_json, *deltas,
        event_id, values.float_text(timestamp),
    )  # fmt: skip
    call = db.call(
        "append_event", "events", session_id=session_id, app_name=app_name, user_id=user_id
    )
    async with call:
        with translate_errors(f"append_event to session {session_id!r}"):
            # A second statement runs only when the first could not tell what is stored: a
            # concurrent writer changed the session after the first one's snapshot was taken.
            citus = await db.distributed()
            for attempt in (1, 2):
                try:
                    row = await _send(call, db, citus, args)
                except UNIQUE_VIOLATIONS as exc:
                    if not violates(exc, "events_pkey"):
                        raise
                    if attempt == 2:
                        raise EventConflictError(
                            f"Event {event_id} is already stored in session {session_id} "
                            "with another timestamp; event ids must be unique in a session."
                        ) from exc
                    continue
                result = _outcome(row, session_id, event_id, expected_revision)
                if result is not None:
                    return result
            raise StaleSessionError(
                f"Session {session_id} has been modified in storage since it was loaded "
                f"(revision {expected_revision}). Please reload the session before appending "
                "more events."
            )


async def _send(call: Call, db: Database, citus: bool, args: tuple[Any, ...]) -> asyncpg.Record:
    """The append's row. On one server: append_event.sql. On Citus: the routed function,
    handed whole to the user's node, unless the append carries an app: delta (app_states is
    a reference table, on every node): then the statement, which Citus runs in steps.
    """
    q = db.queries(QUERIES)
    query = q.append_event_citus if citus and args[6] is None else q.append_event
    row = await call.fetchrow(query.sql, *args)
    assert row is not None  # the statement and the function always return one row
    return row


def _outcome(
    row: asyncpg.Record, session_id: str, event_id: str, expected: int | None
) -> AppendResult | None:
    """What an append_event row says: the result, an error, or None (read again).

    Raises:
        SessionNotFoundError: the session does not exist.
        StaleSessionError: the session changed since ``expected``.
        EventConflictError: an event with this id and other content is stored.
    """
    if row["revision"] is not None:
        return AppendResult(revision=row["revision"], last_update_time=row["update_time"])
    # Retry-safe: an event already stored is checked before the revision.
    if row["same_event"] is True:
        return AppendResult(
            revision=row["stored_revision"],
            last_update_time=row["stored_update_time"],
            written=False,
        )
    if row["same_event"] is False:
        raise EventConflictError(
            f"Event {event_id} is already stored in session {session_id} with other content; "
            "event ids must be unique in a session (appending the same event again is safe)."
        )
    stored = row["stored_revision"]
    if stored is None:
        raise SessionNotFoundError(f"Session {session_id} not found.")
    if expected is not None and stored != expected:
        raise StaleSessionError(
            f"Session {session_id} has been modified in storage since it was loaded "
            f"(revision {expected}, now {stored}). Please reload the session before "
            "appending more events."
        )
    return None
