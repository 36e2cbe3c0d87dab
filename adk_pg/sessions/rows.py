"""The session store's rows layer: validate, run one named query from ``sql/sessions/``.

Private to adk-pg: :class:`~adk_pg.sessions.store.SessionStore` and the ADK adapter each
hold one. Each method checks its arguments first (raising :class:`InvalidArgumentError`
before any SQL), runs one statement inside the error translator, and returns plain records:
events stay the JSON text PostgreSQL built, so that the caller validates each event once,
into its own Event class (the store into adk-pg's models, the adapter into ADK's).
``create``, ``get``, ``list``, ``delete``, ``fork`` and ``append`` are one round trip each
(creates, pages, appends and forks are written in :mod:`~adk_pg.sessions.create`,
``pages``, ``append`` and ``fork``);
an append that raced with a concurrent writer of the same session spends one more to say why.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import asyncpg

from adk_pg.db import values
from adk_pg.db.database import Database
from adk_pg.db.schema_name import DEFAULT_SCHEMA
from adk_pg.db.telemetry import Telemetry
from adk_pg.errors import (
    translate_errors,
)
from adk_pg.sessions import pages, validate
from adk_pg.sessions.append import append_event
from adk_pg.sessions.create import create_session
from adk_pg.sessions.fork import fork_session
from adk_pg.sessions.models import (
    AppendResult,
    EventPageRecord,
    SessionPageRecord,
    SessionRecord,
    session_record,
)
from adk_pg.sessions.queries import QUERIES
from adk_pg.sessions.watch import ChangeFeed

__all__ = ["SessionRows"]

# The table each call is reported on (its span is named "{operation} {schema}.{table}").
_SESSIONS = "sessions"


class SessionRows:
    """Sessions, events and app/user state as records, through raw SQL on an asyncpg pool.

    The pool belongs to the caller; ``acquire_timeout`` bounds the wait for a connection;
    ``telemetry`` says how calls are reported (:class:`~adk_pg.db.telemetry.Telemetry`);
    ``schema`` is the schema the tables are in.
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        acquire_timeout: float | None = None,
        telemetry: Telemetry | None = None,
        schema: str = DEFAULT_SCHEMA,
    ) -> None:
        self._db = Database(
            pool, acquire_timeout=acquire_timeout, telemetry=telemetry, schema=schema
        )
        self._queries = self._db.queries(QUERIES)

    @property
    def pool(self) -> asyncpg.Pool:
        """The asyncpg pool the rows layer runs on."""
        return self._db.pool

    async def create(
        self,
        *,
        app_name: str,
        user_id: str,
        state: Mapping[str, Any] | None = None,
        session_id: str | None = None,
    ) -> SessionRecord:
        """Create a session: see :func:`~adk_pg.sessions.create.create_session`."""
        return await create_session(
            self._db, app_name=app_name, user_id=user_id, state=state, session_id=session_id
        )

    async def get(
        self,
        *,
        app_name: str,
        user_id: str,
        session_id: str,
        num_recent_events: int | None = None,
        after_timestamp: float | None = None,
    ) -> SessionRecord | None:
        """The session with merged state and the selected events (left as JSON), or None.

        Raises:
            InvalidArgumentError: a bad id or a negative ``num_recent_events``.
            StorageError: the database failed.
        """
        app_name = values.require_id(app_name, "app_name")
        user_id = values.require_id(user_id, "user_id")
        session_id = validate.existing_session_id(session_id)
        limit = validate.num_recent_events(num_recent_events)
        after = validate.after_timestamp(after_timestamp)
        ids = {"session_id": session_id, "app_name": app_name, "user_id": user_id}
        async with self._db.call("get_session", _SESSIONS, **ids) as call:
            with translate_errors(f"get_session {session_id!r}"):
                # On Citus: the routed function, handed whole to the user's node.
                q = self._queries
                query = q.get_session_citus if await self._db.distributed() else q.get_session
                row = await call.fetchrow(
                    query.sql,
                    app_name,
                    user_id,
                    session_id,
                    limit,
                    values.float_text(after),
                )
        if row is None:
            return None
        return session_record(app_name, user_id, session_id, row, events_json=row["events"])

    async def list_page(
        self,
        *,
        app_name: str,
        user_id: str | None = None,
        page_size: int | None = None,
        page_token: str | None = None,
    ) -> SessionPageRecord:
        """One page of sessions (or all): see :func:`pages.sessions_page`."""
        return await pages.sessions_page(
            self._db,
            app_name=app_name,
            user_id=user_id,
            page_size=page_size,
            page_token=page_token,
        )

    async def user_state(self, *, app_name: str, user_id: str) -> dict[str, Any]:
        """The user-scope state (keys without ``user:``), or ``{}``.

        Raises:
            InvalidArgumentError: a bad id.
            StorageError: the database failed.
        """
        app_name = values.require_id(app_name, "app_name")
        user_id = values.require_id(user_id, "user_id")
        call = self._db.call("get_user_state", "user_states", app_name=app_name, user_id=user_id)
        async with call:
            with translate_errors(f"get_user_state {user_id!r}"):
                row = await call.fetchrow(self._queries.get_user_state.sql, app_name, user_id)
        return {} if row is None else dict(row["state"])

    async def app_state(self, *, app_name: str) -> dict[str, Any]:
        """The app-scope state (keys without ``app:``), or ``{}``.

        Raises:
            InvalidArgumentError: a bad app name.
            StorageError: the database failed.
        """
        app_name = values.require_id(app_name, "app_name")
        async with self._db.call("get_app_state", "app_states", app_name=app_name) as call:
            with translate_errors(f"get_app_state {app_name!r}"):
                row = await call.fetchrow(self._queries.get_app_state.sql, app_name)
        return {} if row is None else dict(row["state"])

    def watch(
        self,
        *,
        app_name: str,
        user_id: str | None,
        session_id: str | None,
        after: int | None,
        idle_check: float,
        documents: bool = False,
    ) -> ChangeFeed:
        """A change feed of these sessions (arguments checked by the caller): its own
        connection, opened when iterated; with ``documents``, each event's JSON too."""
        return ChangeFeed(
            self._db,
            app_name=app_name,
            user_id=user_id,
            session_id=session_id,
            after=after,
            idle_check=idle_check,
            documents=documents,
        )

    async def delete(self, *, app_name: str, user_id: str, session_id: str) -> None:
        """Delete a session and its events; app and user state stay. Missing: no-op.

        Raises:
            InvalidArgumentError: a bad id.
            StorageError: the database failed.
        """
        app_name = values.require_id(app_name, "app_name")
        user_id = values.require_id(user_id, "user_id")
        session_id = validate.existing_session_id(session_id)
        ids = {"session_id": session_id, "app_name": app_name, "user_id": user_id}
        async with self._db.call("delete_session", _SESSIONS, **ids) as call:
            with translate_errors(f"delete_session {session_id!r}"):
                await call.execute(self._queries.delete_session.sql, app_name, user_id, session_id)

    async def append(
        self,
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
        """Append an event already serialised to JSON: see :func:`append.append_event`.

        Raises:
            InvalidArgumentError: a bad id, revision or state delta.
            SessionNotFoundError: the session does not exist.
            StaleSessionError: the session changed since ``expected_revision``.
            EventConflictError: an event with this id and other content is stored.
            StorageError: the database failed; nothing was written.
        """
        return await append_event(
            self._db,
            app_name=app_name,
            user_id=user_id,
            session_id=session_id,
            event_id=event_id,
            event_timestamp=event_timestamp,
            event_json=event_json,
            state_delta=state_delta,
            expected_revision=expected_revision,
        )

    async def events_page(
        self,
        *,
        app_name: str,
        user_id: str,
        session_id: str,
        page_size: int | None = None,
        page_token: str | None = None,
        newest_first: bool = False,
    ) -> EventPageRecord:
        """One page of a session's events: see :func:`pages.events_page`."""
        return await pages.events_page(
            self._db,
            app_name=app_name,
            user_id=user_id,
            session_id=session_id,
            page_size=page_size,
            page_token=page_token,
            newest_first=newest_first,
        )

    async def fork(
        self,
        *,
        app_name: str,
        user_id: str,
        session_id: str,
        new_session_id: str | None,
        up_to_event_id: str | None,
    ) -> tuple[SessionRecord, int]:
        """Fork a session server-side: see :func:`fork.fork_session`."""
        return await fork_session(
            self._db,
            app_name=app_name,
            user_id=user_id,
            session_id=session_id,
            new_session_id=new_session_id,
            up_to_event_id=up_to_event_id,
        )
