"""Forking a session: a new session holding a prefix of another's events, in one statement.

``fork_session.sql`` copies the events server-side and rebuilds the session-scope state as of
the last one copied from the source's recorded initial state (migration 0010); the row says
why nothing was written when the fork cannot be made.
"""

from __future__ import annotations

from adk_pg.db import values
from adk_pg.db.database import Database
from adk_pg.errors import (
    UNIQUE_VIOLATIONS,
    AlreadyExistsError,
    InvalidArgumentError,
    SessionNotFoundError,
    translate_errors,
    violates,
)
from adk_pg.sessions import validate
from adk_pg.sessions.models import SessionRecord, session_record
from adk_pg.sessions.queries import QUERIES

__all__ = ["fork_session"]


async def fork_session(
    db: Database,
    *,
    app_name: str,
    user_id: str,
    session_id: str,
    new_session_id: str | None,
    up_to_event_id: str | None,
) -> tuple[SessionRecord, int]:
    """Fork ``session_id`` into ``new_session_id`` (a new uuid when None); return the new
    session (merged state, no events) and how many events it holds.

    Raises:
        InvalidArgumentError: a bad id; ``up_to_event_id`` is not an event of the session; or
            the session predates recorded initial state and the cut is not at its newest event.
        SessionNotFoundError: the source session does not exist.
        AlreadyExistsError: a session with the new id exists.
        StorageError: the database failed; nothing was written.
    """
    app_name = values.require_id(app_name, "app_name")
    user_id = values.require_id(user_id, "user_id")
    session_id = validate.existing_session_id(session_id)
    new_id = validate.session_id_or_new(new_session_id, "new_session_id")
    if up_to_event_id is not None:
        up_to_event_id = values.require_id(up_to_event_id, "up_to_event_id")
    ids = {"session_id": session_id, "app_name": app_name, "user_id": user_id}
    async with db.call("fork_session", "sessions", **ids) as call:
        with translate_errors(f"fork_session {session_id!r}"):
            # On Citus the statement runs in steps, each with its own snapshot unless the
            # transaction keeps one: there it is read from one snapshot, as on one server.
            args = (app_name, user_id, session_id, new_id, up_to_event_id)
            sql = db.queries(QUERIES).fork_session.sql
            try:
                if await db.distributed():
                    async with call.transaction(isolation="repeatable_read") as conn:
                        row = await conn.fetchrow(sql, *args)
                else:
                    row = await call.fetchrow(sql, *args)
            except UNIQUE_VIOLATIONS as exc:
                if not violates(exc, "sessions_pkey"):
                    raise
                raise AlreadyExistsError(f"Session with id {new_id} already exists.") from exc
    assert row is not None  # no FROM at the top: always one row
    if not row["source_exists"]:
        raise SessionNotFoundError(f"Session {session_id} not found.")
    if not row["target_exists"]:
        raise InvalidArgumentError(
            f"event {up_to_event_id!r} is not an event of session {session_id!r}"
        )
    if not row["state_known"]:
        raise InvalidArgumentError(
            f"session {session_id!r} was created before adk-pg recorded initial state: its "
            "state is known only at its newest event, so it can be forked there (omit "
            "up_to_event_id) and nowhere else"
        )
    return session_record(app_name, user_id, new_id, row), int(row["events"])
