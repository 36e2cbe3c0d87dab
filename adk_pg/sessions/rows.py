"""The store's record layer: validate, run one named query from ``sql/``, return records.

Each method checks its arguments first (raising :class:`InvalidArgumentError` before any
SQL), runs one statement inside the error translator, and returns plain records: events stay
the JSON text PostgreSQL built, so that the caller validates each event once, into its own
Event class (:class:`~adk_pg.store.SessionStore` into adk-pg's models, the ADK adapter into
ADK's). ``create``, ``get``, ``list``, ``delete`` and ``append`` are one round trip each; an
append that raced with a concurrent writer of the same session spends one more to say why.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import Any, TypeVar

import asyncpg
import pydantic_core

from adk_pg import validate
from adk_pg.errors import (
    AlreadyExistsError,
    EventConflictError,
    InvalidArgumentError,
    SessionNotFoundError,
    StaleSessionError,
    translate_errors,
)
from adk_pg.migrate import ensure_current
from adk_pg.migrate import migrate as run_migrations
from adk_pg.models import (
    AppendResult,
    SessionPageRecord,
    SessionRecord,
    merge_state,
)
from adk_pg.pool import create_pool
from adk_pg.pool_options import pool_config
from adk_pg.queries import QUERIES

__all__ = ["SessionRecords"]

# The keyset position before the first session (NULL time = minus infinity, in the SQL).
_FIRST_PAGE: tuple[Any, str, str] = (None, "", "")
_Store = TypeVar("_Store", bound="SessionRecords")


class SessionRecords:
    """Sessions, events and app/user state as records, through raw SQL on an asyncpg pool.

    ``SessionRecords(pool)`` uses a pool the caller owns (and never closes);
    ``await SessionRecords.connect(dsn, **pool_options)`` builds a pool it closes.
    """

    def __init__(
        self, pool: asyncpg.Pool, *, acquire_timeout: float | None = None, _owns_pool: bool = False
    ) -> None:
        if not isinstance(pool, asyncpg.Pool):
            raise TypeError(
                f"{type(self).__name__} needs an asyncpg.Pool, not {type(pool).__name__}"
            )
        self._pool = pool
        self._acquire_timeout = acquire_timeout
        self._owns_pool = _owns_pool

    @classmethod
    async def connect(
        cls: type[_Store], dsn: str | None = None, *, migrate: bool = False, **pool_options: Any
    ) -> _Store:
        """Open a pool on ``dsn`` and check (or, with ``migrate=True``, apply) the schema.

        Raises:
            TypeError: an unknown pool option.
            InvalidArgumentError: a bad DSN or option value.
            SchemaOutdatedError: migrations are pending and ``migrate`` is False.
            StorageError: the server cannot be reached.
        """
        config = pool_config(dsn, **pool_options)
        pool = await create_pool(config)
        try:
            if migrate:
                await run_migrations(pool)
            else:
                await ensure_current(pool)
        except BaseException:
            await pool.close()
            raise
        return cls(pool, acquire_timeout=config.acquire_timeout, _owns_pool=True)

    @property
    def pool(self) -> asyncpg.Pool:
        """The asyncpg pool the store runs on."""
        return self._pool

    async def close(self) -> None:
        """Close the pool if the store created it; a pool passed in is left open."""
        if self._owns_pool:
            await self._pool.close()

    async def __aenter__(self: _Store) -> _Store:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def _fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        async with self._pool.acquire(timeout=self._acquire_timeout) as conn:
            return await conn.fetchrow(sql, *args)

    async def create_session_record(
        self,
        *,
        app_name: str,
        user_id: str,
        state: Mapping[str, Any] | None = None,
        session_id: str | None = None,
    ) -> SessionRecord:
        """Like :meth:`create_session`, returning the record (for adapters).

        Raises:
            InvalidArgumentError: a bad id or a state that cannot be stored.
            AlreadyExistsError: a session with that id exists.
            StorageError: the database failed.
        """
        app_name = validate.require_id(app_name, "app_name")
        user_id = validate.require_id(user_id, "user_id")
        session_id = validate.session_id_or_new(session_id)
        session_json, app_json, user_json = validate.state_json(state, "state")
        with translate_errors(f"create_session {session_id!r}"):
            try:
                row = await self._fetchrow(
                    QUERIES.create_session.sql,
                    app_name,
                    user_id,
                    session_id,
                    session_json,
                    app_json,
                    user_json,
                )
            except asyncpg.UniqueViolationError as exc:
                if exc.constraint_name != "sessions_pkey":
                    raise
                raise AlreadyExistsError(f"Session with id {session_id} already exists.") from exc
        assert row is not None  # an INSERT without conflict returns its row
        return _record(app_name, user_id, session_id, row)

    async def get_session_record(
        self,
        *,
        app_name: str,
        user_id: str,
        session_id: str,
        num_recent_events: int | None = None,
        after_timestamp: float | None = None,
    ) -> SessionRecord | None:
        """Like :meth:`get_session`, with the events left as JSON (for adapters).

        Raises:
            InvalidArgumentError: a bad id or a negative ``num_recent_events``.
            StorageError: the database failed.
        """
        app_name = validate.require_id(app_name, "app_name")
        user_id = validate.require_id(user_id, "user_id")
        session_id = validate.existing_session_id(session_id)
        limit = validate.num_recent_events(num_recent_events)
        after = validate.after_timestamp(after_timestamp)
        with translate_errors(f"get_session {session_id!r}"):
            row = await self._fetchrow(
                QUERIES.get_session.sql, app_name, user_id, session_id, limit, after
            )
        if row is None:
            return None
        return _record(app_name, user_id, session_id, row, events_json=row["events"])

    async def list_session_records(
        self,
        *,
        app_name: str,
        user_id: str | None = None,
        page_size: int | None = None,
        page_token: str | None = None,
    ) -> SessionPageRecord:
        """Like :meth:`list_sessions`, with the sessions left as one JSON array (for adapters).

        Raises:
            InvalidArgumentError: a bad id, page size or page token.
            StorageError: the database failed.
        """
        app_name = validate.require_id(app_name, "app_name")
        if user_id is not None:
            user_id = validate.require_id(user_id, "user_id")
        size = validate.page_size(page_size)
        after = _FIRST_PAGE
        if page_token is not None:
            after = validate.decode_page_token(page_token)
        with translate_errors(f"list_sessions {app_name!r}"):
            if user_id is None:
                row = await self._fetchrow(
                    QUERIES.list_sessions.sql, app_name, after[0], after[1], after[2], size
                )
            else:
                row = await self._fetchrow(
                    QUERIES.list_user_sessions.sql, app_name, user_id, after[0], after[2], size
                )
        assert row is not None  # an aggregate without GROUP BY returns one row
        token = None
        if row["next_update_us"] is not None:
            token = validate.encode_page_token(
                row["next_update_us"], row["next_user_id"], row["next_id"]
            )
        return SessionPageRecord(
            sessions_json=row["sessions"],
            revisions=pydantic_core.from_json(row["revisions"]),
            next_page_token=token,
        )

    async def get_user_state(self, *, app_name: str, user_id: str) -> dict[str, Any]:
        """The user-scope state (keys without ``user:``), or ``{}``.

        Raises:
            InvalidArgumentError: a bad id.
            StorageError: the database failed.
        """
        app_name = validate.require_id(app_name, "app_name")
        user_id = validate.require_id(user_id, "user_id")
        with translate_errors(f"get_user_state {user_id!r}"):
            row = await self._fetchrow(QUERIES.get_user_state.sql, app_name, user_id)
        return {} if row is None else dict(row["state"])

    async def get_app_state(self, *, app_name: str) -> dict[str, Any]:
        """The app-scope state (keys without ``app:``), or ``{}``.

        Raises:
            InvalidArgumentError: a bad app name.
            StorageError: the database failed.
        """
        app_name = validate.require_id(app_name, "app_name")
        with translate_errors(f"get_app_state {app_name!r}"):
            row = await self._fetchrow(QUERIES.get_app_state.sql, app_name)
        return {} if row is None else dict(row["state"])

    async def delete_session(self, *, app_name: str, user_id: str, session_id: str) -> None:
        """Delete a session and its events; app and user state stay. Missing: no-op.

        Raises:
            InvalidArgumentError: a bad id.
            StorageError: the database failed.
        """
        app_name = validate.require_id(app_name, "app_name")
        user_id = validate.require_id(user_id, "user_id")
        session_id = validate.existing_session_id(session_id)
        with translate_errors(f"delete_session {session_id!r}"):
            async with self._pool.acquire(timeout=self._acquire_timeout) as conn:
                await conn.execute(QUERIES.delete_session.sql, app_name, user_id, session_id)

    async def append_event_json(
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
        """Append an event already serialised to JSON (snake_case fields, ``temp:`` removed).

        The lower level of :meth:`append_event`, for adapters that serialise their own Event
        class once: ``event_json`` must come from ``model_dump_json(exclude_none=True)`` of an
        ADK-shaped event whose ``id`` and ``timestamp`` are ``event_id`` and
        ``event_timestamp``, and ``state_delta`` is its ``actions.state_delta`` (its values
        are stored in the state rows as ADK's database service stores them).

        Raises:
            InvalidArgumentError: a bad id, revision or state delta.
            SessionNotFoundError: the session does not exist.
            StaleSessionError: the session changed since ``expected_revision``.
            EventConflictError: an event with this id and other content is stored.
            StorageError: the database failed; nothing was written.
        """
        app_name = validate.require_id(app_name, "app_name")
        user_id = validate.require_id(user_id, "user_id")
        session_id = validate.existing_session_id(session_id)
        event_id = validate.require_id(event_id, "event.id")
        if expected_revision is not None and (
            isinstance(expected_revision, bool)
            or not isinstance(expected_revision, int)
            or expected_revision < 0
        ):
            raise InvalidArgumentError("expected_revision must be an int >= 0 or None")
        timestamp = validate.event_timestamp(event_timestamp)
        deltas = validate.state_json(state_delta, "event.actions.state_delta")
        args = (
            app_name, user_id, session_id, expected_revision, event_json, *deltas,
            event_id, timestamp,
        )  # fmt: skip
        with translate_errors(f"append_event to session {session_id!r}"):
            # A second statement runs only when the first could not tell what is stored: a
            # concurrent writer changed the session after the first one's snapshot was taken.
            for attempt in (1, 2):
                try:
                    row = await self._fetchrow(QUERIES.append_event.sql, *args)
                except asyncpg.UniqueViolationError as exc:
                    if exc.constraint_name != "events_pkey":
                        raise
                    if attempt == 2:
                        raise EventConflictError(
                            f"Event {event_id} is already stored in session {session_id} "
                            "with another timestamp; event ids must be unique in a session."
                        ) from exc
                    continue
                assert row is not None  # the statement always returns one row
                result = _append_outcome(row, session_id, event_id, expected_revision)
                if result is not None:
                    return result
        raise StaleSessionError(
            f"Session {session_id} has been modified in storage since it was loaded "
            f"(revision {expected_revision}). Please reload the session before appending "
            "more events."
        )


def _append_outcome(
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


def _record(
    app_name: str, user_id: str, session_id: str, row: asyncpg.Record, events_json: str = "[]"
) -> SessionRecord:
    """A session row (state, app_state, user_state, update_time, revision) as a record."""
    return SessionRecord(
        app_name=app_name,
        user_id=user_id,
        id=session_id,
        state=merge_state(row["state"], row["app_state"], row["user_state"]),
        last_update_time=row["update_time"],
        revision=row["revision"],
        events_json=events_json,
    )
