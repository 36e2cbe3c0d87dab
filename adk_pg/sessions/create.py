"""Creating a session: its row, its initial state and the app and user state it carries.

On one server ``create_session.sql`` does it all in one statement. On tables distributed by
Citus the same row comes from the function ``adk.create_session_routed`` (migration 0013),
which the coordinator hands whole to the user's node, unless the state carries ``app:`` keys
(``app_states`` is a reference table, on every node): then the statement, run in steps.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adk_pg.db import values
from adk_pg.db.database import Database
from adk_pg.errors import UNIQUE_VIOLATIONS, AlreadyExistsError, translate_errors, violates
from adk_pg.sessions import encode, validate
from adk_pg.sessions.models import SessionRecord, session_record
from adk_pg.sessions.queries import QUERIES

__all__ = ["create_session"]


async def create_session(
    db: Database,
    *,
    app_name: str,
    user_id: str,
    state: Mapping[str, Any] | None,
    session_id: str | None,
) -> SessionRecord:
    """Create a session; ``app:`` / ``user:`` keys of ``state`` go to their scopes.

    Raises:
        InvalidArgumentError: a bad id or a state that cannot be stored.
        AlreadyExistsError: a session with that id exists.
        StorageError: the database failed; nothing was written.
    """
    app_name = values.require_id(app_name, "app_name")
    user_id = values.require_id(user_id, "user_id")
    session_id = validate.session_id_or_new(session_id)
    session_json, app_json, user_json = encode.state_json(state, "state")
    args = (app_name, user_id, session_id, session_json, app_json, user_json)
    q = db.queries(QUERIES)
    ids = {"session_id": session_id, "app_name": app_name, "user_id": user_id}
    async with db.call("create_session", "sessions", **ids) as call:
        with translate_errors(f"create_session {session_id!r}"):
            # As append_event: on Citus handed whole to the user's node, unless the state
            # carries app: keys (a reference table, on every node): then the statement.
            routed = app_json is None and await db.distributed()
            query = q.create_session_citus if routed else q.create_session
            try:
                row = await call.fetchrow(query.sql, *args)
            except UNIQUE_VIOLATIONS as exc:
                if not violates(exc, "sessions_pkey"):
                    raise
                raise AlreadyExistsError(f"Session with id {session_id} already exists.") from exc
    assert row is not None  # an INSERT without conflict returns its row
    return session_record(app_name, user_id, session_id, row)
