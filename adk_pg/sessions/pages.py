"""Paging: one page of an app's (or a user's) sessions, or of one session's events.

Keyset pages (:mod:`adk_pg.sessions.paging` makes and reads their tokens), each one statement
through a reported call; the rows layer (:class:`~adk_pg.sessions.rows.SessionRows`)
delegates here, as it does to :mod:`~adk_pg.sessions.append` and :mod:`~adk_pg.sessions.fork`.
"""

from __future__ import annotations

from typing import Any

import pydantic_core

from adk_pg.db import values
from adk_pg.db.database import Database
from adk_pg.errors import InvalidArgumentError, SessionNotFoundError, translate_errors
from adk_pg.sessions import paging, validate
from adk_pg.sessions.models import EventPageRecord, SessionPageRecord
from adk_pg.sessions.queries import QUERIES

__all__ = ["events_page", "sessions_page"]

# The keyset position before the first session (NULL time = minus infinity, in the SQL).
_FIRST_PAGE: tuple[Any, str, str] = (None, "", "")


async def sessions_page(
    db: Database,
    *,
    app_name: str,
    user_id: str | None = None,
    page_size: int | None = None,
    page_token: str | None = None,
) -> SessionPageRecord:
    """One page of sessions (or all), left as one JSON array.

    Raises:
        InvalidArgumentError: a bad id, page size or page token.
        StorageError: the database failed.
    """
    app_name = values.require_id(app_name, "app_name")
    if user_id is not None:
        user_id = values.require_id(user_id, "user_id")
    size = validate.page_size(page_size)
    after = _FIRST_PAGE
    if page_token is not None:
        after = paging.session_position(page_token, app_name, user_id)
    queries = db.queries(QUERIES)
    call = db.call("list_sessions", "sessions", app_name=app_name, user_id=user_id)
    async with call:
        with translate_errors(f"list_sessions {app_name!r}"):
            if user_id is None:
                row = await call.fetchrow(
                    queries.list_sessions.sql,
                    app_name,
                    after[0],
                    after[1],
                    after[2],
                    size,
                )
            else:
                row = await call.fetchrow(
                    queries.list_user_sessions.sql,
                    app_name,
                    user_id,
                    after[0],
                    after[2],
                    size,
                )
    assert row is not None  # an aggregate without GROUP BY returns one row
    token = None
    if row["next_update_us"] is not None:
        token = paging.encode_session_token(
            app_name, user_id, row["next_update_us"], row["next_user_id"], row["next_id"]
        )
    return SessionPageRecord(
        sessions_json=row["sessions"],
        revisions=pydantic_core.from_json(row["revisions"]),
        next_page_token=token,
    )


async def events_page(
    db: Database,
    *,
    app_name: str,
    user_id: str,
    session_id: str,
    page_size: int | None = None,
    page_token: str | None = None,
    newest_first: bool = False,
) -> EventPageRecord:
    """One page of a session's events as a JSON array (oldest first), keyset-paginated.

    Raises:
        InvalidArgumentError: a bad id, page size, token or ``newest_first``.
        SessionNotFoundError: the session does not exist.
        StorageError: the database failed.
    """
    app_name = values.require_id(app_name, "app_name")
    user_id = values.require_id(user_id, "user_id")
    session_id = validate.existing_session_id(session_id)
    size = validate.page_size(page_size)
    if not isinstance(newest_first, bool):
        raise InvalidArgumentError("newest_first must be a bool")
    after = paging.FIRST_NEWEST if newest_first else paging.FIRST_OLDEST
    if page_token is not None:
        after = paging.event_position(
            page_token, app_name, user_id, session_id, newest_first=newest_first
        )
    queries = db.queries(QUERIES)
    ids = {"session_id": session_id, "app_name": app_name, "user_id": user_id}
    async with db.call("list_events", "events", **ids) as call:
        with translate_errors(f"list_events of session {session_id!r}"):
            row = await call.fetchrow(
                queries.list_events.sql,
                app_name,
                user_id,
                session_id,
                values.float_text(after[0]),
                after[1],
                newest_first,
                size,
            )
        assert row is not None  # no FROM at the top: always one row
        if not row["session_exists"]:
            raise SessionNotFoundError(f"Session {session_id} not found.")
    token = None
    if row["next_id"] is not None:
        token = paging.encode_event_token(
            app_name,
            user_id,
            session_id,
            row["next_timestamp"],
            row["next_id"],
            newest_first=newest_first,
        )
    return EventPageRecord(
        events_json=row["events"], newest_first=newest_first, next_page_token=token
    )
