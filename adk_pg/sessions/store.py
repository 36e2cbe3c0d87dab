"""The repository: ``SessionStore``, whose methods take and return adk-pg's pydantic models.

The core API for asyncio code without ADK. Each method validates its arguments and runs one
statement through the private rows layer (:class:`~adk_pg.sessions.rows.SessionRows`), then
builds models from what it read (:mod:`adk_pg.sessions.decode`).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncGenerator, Mapping
from types import TracebackType
from typing import Any

import asyncpg

from adk_pg.db.schema_name import DEFAULT_SCHEMA
from adk_pg.db.telemetry import Telemetry, check_telemetry
from adk_pg.schema.connect import open_pool
from adk_pg.sessions import encode, validate
from adk_pg.sessions.decode import decode_events, page_from_record, session_from_record
from adk_pg.sessions.models import (
    AppendResult,
    Change,
    Event,
    EventActions,
    EventPage,
    Session,
    SessionPage,
)
from adk_pg.sessions.rows import SessionRows
from adk_pg.sessions.watch import DEFAULT_IDLE_CHECK, ChangeFeed

__all__ = ["SessionStore"]


class SessionStore:
    """ADK sessions, events and app/user state in PostgreSQL, through raw SQL on asyncpg.

    ``SessionStore(pool)`` uses a pool the caller owns (and never closes);
    ``await SessionStore.connect(dsn, **pool_options)`` builds a pool the store closes.
    Every call is an OpenTelemetry span and measurement, and a log line, as ``telemetry``
    says (:class:`~adk_pg.Telemetry`; by default spans and metrics go to the global providers).
    ``schema`` (default ``adk``; for ``connect``, also the DSN's ``?schema=``) is the
    PostgreSQL schema the tables are in: stores in two schemas of one database never see each
    other's data.

    Raises:
        TypeError: ``pool`` is not an asyncpg pool.
        InvalidArgumentError: ``telemetry`` is not a Telemetry, or a bad schema name.
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        acquire_timeout: float | None = None,
        telemetry: Telemetry | None = None,
        schema: str = DEFAULT_SCHEMA,
        _owns_pool: bool = False,
    ) -> None:
        self._rows = SessionRows(
            pool, acquire_timeout=acquire_timeout, telemetry=telemetry, schema=schema
        )
        self.schema = schema
        self._owns_pool = _owns_pool

    @classmethod
    async def connect(
        cls,
        dsn: str | None = None,
        *,
        migrate: bool = False,
        telemetry: Telemetry | None = None,
        **pool_options: Any,
    ) -> SessionStore:
        """Open a pool on ``dsn`` and check (or, with ``migrate=True``, apply) the schema.

        Raises:
            TypeError: an unknown pool option.
            InvalidArgumentError: a bad DSN, option value, ``telemetry`` or ``schema``.
            SchemaOutdatedError: migrations are pending and ``migrate`` is False.
            StorageError: the server cannot be reached.
        """
        check_telemetry(telemetry)  # before a pool is opened
        pool, acquire_timeout, schema = await open_pool(dsn, migrate_schema=migrate, **pool_options)
        return cls(
            pool,
            acquire_timeout=acquire_timeout,
            telemetry=telemetry,
            schema=schema,
            _owns_pool=True,
        )

    @property
    def pool(self) -> asyncpg.Pool:
        """The asyncpg pool the store runs on."""
        return self._rows.pool

    async def close(self) -> None:
        """Close the pool if the store created it; a pool passed in is left open."""
        if self._owns_pool:
            await self._rows.pool.close()

    async def __aenter__(self) -> SessionStore:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def create_session(
        self,
        *,
        app_name: str,
        user_id: str,
        state: Mapping[str, Any] | None = None,
        session_id: str | None = None,
    ) -> Session:
        """Create a session; ``app:`` / ``user:`` keys of ``state`` go to their scopes.

        Raises:
            InvalidArgumentError: a bad id or a state that cannot be stored.
            AlreadyExistsError: a session with that id exists.
            StorageError: the database failed.
        """
        record = await self._rows.create(
            app_name=app_name, user_id=user_id, state=state, session_id=session_id
        )
        return session_from_record(record)

    async def get_session(
        self,
        *,
        app_name: str,
        user_id: str,
        session_id: str,
        num_recent_events: int | None = None,
        after_timestamp: float | None = None,
    ) -> Session | None:
        """Return the session with merged state and the selected events, or None.

        Events are those with ``timestamp >= after_timestamp`` (all when None or 0), the
        newest ``num_recent_events`` of them (all when None; none when 0), oldest first.

        Raises:
            InvalidArgumentError: a bad id or a negative ``num_recent_events``.
            StorageError: the database failed.
        """
        record = await self._rows.get(
            app_name=app_name,
            user_id=user_id,
            session_id=session_id,
            num_recent_events=num_recent_events,
            after_timestamp=after_timestamp,
        )
        return None if record is None else session_from_record(record)

    async def list_sessions(
        self,
        *,
        app_name: str,
        user_id: str | None = None,
        page_size: int | None = None,
        page_token: str | None = None,
    ) -> SessionPage:
        """List sessions (merged state, no events) oldest update first.

        Without ``page_size`` every session is returned, as ADK does; with it, one page and
        a ``next_page_token`` when more may follow. ``user_id=None`` lists every user. A
        token works only for the listing (app and user) that returned it.

        Raises:
            InvalidArgumentError: a bad id, page size or page token.
            StorageError: the database failed.
        """
        record = await self._rows.list_page(
            app_name=app_name, user_id=user_id, page_size=page_size, page_token=page_token
        )
        return page_from_record(record)

    async def get_user_state(self, *, app_name: str, user_id: str) -> dict[str, Any]:
        """The user-scope state (keys without ``user:``), or ``{}``.

        Raises:
            InvalidArgumentError: a bad id.
            StorageError: the database failed.
        """
        return await self._rows.user_state(app_name=app_name, user_id=user_id)

    async def get_app_state(self, *, app_name: str) -> dict[str, Any]:
        """The app-scope state (keys without ``app:``), or ``{}``.

        Raises:
            InvalidArgumentError: a bad app name.
            StorageError: the database failed.
        """
        return await self._rows.app_state(app_name=app_name)

    async def delete_session(self, *, app_name: str, user_id: str, session_id: str) -> None:
        """Delete a session and its events; app and user state stay. Missing: no-op.

        Raises:
            InvalidArgumentError: a bad id.
            StorageError: the database failed.
        """
        await self._rows.delete(app_name=app_name, user_id=user_id, session_id=session_id)

    def watch(
        self,
        app_name: str,
        *,
        user_id: str | None = None,
        session_id: str | None = None,
        after: int | None = None,
        idle_check: float = DEFAULT_IDLE_CHECK,
    ) -> AsyncGenerator[Change, None]:
        """Follow an app's sessions (or a user's, or one session) as they change.

        An async iterator of :class:`Change`: ``created``, ``event`` (one per appended event,
        in the order appended, each exactly once per session) and ``deleted``, with ids and
        the session revision, never content (read it with ``get_session`` / ``list_events``).
        It starts from now; for one session, ``after=`` a revision resumes from there (the
        events appended after it come first). It holds one connection of its own, opened at
        the first iteration; a lost connection is opened again and what happened meanwhile
        is read from the tables, so nothing is missed or repeated. Close it with ``aclose()``
        (or by cancelling the task iterating it): that closes its connection. When no
        notification has come for ``idle_check`` seconds, the connection is checked.
        ``LISTEN`` needs a direct or session-pooled connection: behind PgBouncer's
        transaction pooling the first iteration raises a StorageError saying so. Any role
        that can connect may NOTIFY on the feed's channel: a forged notification never makes
        the feed skip or repeat a real event, but the id of a ``created`` session or of the
        very next event comes from the notification, so read an event by its id before
        acting on it.

        Raises:
            InvalidArgumentError: a bad id, ``after`` or ``idle_check`` (now, not when
                iterated).
            StorageError: when iterated: the first connection cannot be opened, or it cannot
                LISTEN (transaction pooling). Later connection losses are retried.
        """
        app, user, session, position, idle = validate.watch_scope(
            app_name, user_id, session_id, after, idle_check
        )
        feed = self._rows.watch(
            app_name=app, user_id=user, session_id=session, after=position, idle_check=idle
        )
        return _changes(feed)

    async def append_event(
        self,
        *,
        app_name: str,
        user_id: str,
        session_id: str,
        event: Event,
        expected_revision: int | None,
    ) -> AppendResult | None:
        """Append ``event`` and apply its state delta atomically.

        ``expected_revision`` is the revision the caller read the session at (None: do not
        check). ``temp:`` keys are not stored. A partial event is not stored (returns None).
        Appending an event that is already stored (same id, same content) is a no-op that
        succeeds, so a retry after a lost acknowledgement is safe; another event under a
        stored id is refused.

        Raises:
            InvalidArgumentError: a bad id, revision or event, or text jsonb cannot hold.
            SessionNotFoundError: the session does not exist.
            StaleSessionError: the session changed since ``expected_revision``.
            EventConflictError: an event with this id and other content is stored.
            StorageError: the database failed; nothing was written.
        """
        stored = encode.stored_event(event)
        if stored is None:
            return None
        event, delta, event_json = stored
        return await self._rows.append(
            app_name=app_name,
            user_id=user_id,
            session_id=session_id,
            event_id=event.id,
            event_timestamp=event.timestamp,
            event_json=event_json,
            state_delta=delta,
            expected_revision=expected_revision,
        )

    async def update_session_state(
        self,
        *,
        app_name: str,
        user_id: str,
        session_id: str,
        state_delta: Mapping[str, Any],
        author: str = "system",
    ) -> Event:
        """Change a session's state outside a turn: append one event carrying only the delta.

        The history stays the audit trail (the event says who changed what) and the revision
        grows; the merge is atomic in SQL and needs no loaded copy, so it never raises a stale
        error (a Session object loaded before it is then stale: reload it). ``app:`` and
        ``user:`` keys go to their scopes, as in ``append_event``. One statement. Returns the
        event stored.

        Raises:
            InvalidArgumentError: a bad id, an empty delta, a ``temp:`` key, or a value that
                cannot be stored.
            SessionNotFoundError: the session does not exist.
            StorageError: the database failed; nothing was written.
        """
        delta = validate.state_update(state_delta, author)
        event = Event(
            id=str(uuid.uuid4()),
            invocation_id=f"e-{uuid.uuid4()}",
            author=author,
            actions=EventActions(state_delta=delta),
        )
        await self.append_event(
            app_name=app_name,
            user_id=user_id,
            session_id=session_id,
            event=event,
            expected_revision=None,
        )
        return event

    async def fork_session(
        self,
        *,
        app_name: str,
        user_id: str,
        session_id: str,
        new_session_id: str | None = None,
        up_to_event_id: str | None = None,
    ) -> Session:
        """Copy a session into a new one of the same user, server-side, in one statement.

        The new session holds the source's events up to and including ``up_to_event_id``
        (all when None), in (timestamp, id) order, and its session-scope state as of that
        event; it has its own revision and can be appended to at once. The source is not
        changed. ``app:`` and ``user:`` state are not copied: every session of the app and
        user shares them, the fork included. Returns the new session without its events
        (``get_session`` reads them); ``new_session_id=None`` gets a new uuid.

        Raises:
            InvalidArgumentError: a bad id; ``up_to_event_id`` is not an event of the
                session; or the session was created before initial state was recorded
                (migration 0010) and the cut is not at its newest event.
            SessionNotFoundError: the source session does not exist.
            AlreadyExistsError: a session with the new id exists.
            StorageError: the database failed; nothing was written.
        """
        record, _ = await self._rows.fork(
            app_name=app_name,
            user_id=user_id,
            session_id=session_id,
            new_session_id=new_session_id,
            up_to_event_id=up_to_event_id,
        )
        return session_from_record(record)

    async def list_events(
        self,
        *,
        app_name: str,
        user_id: str,
        session_id: str,
        page_size: int | None = None,
        page_token: str | None = None,
        newest_first: bool = False,
    ) -> EventPage:
        """One page of a session's events, oldest first (or newest first), in one statement.

        Pages are keyset-based on (timestamp, id), so a page costs the same at any depth and
        events appended meanwhile never shift or repeat a page. ``page_size=None`` returns
        every remaining event; ``next_page_token`` is None on the last page. A token only
        works for the session and the ``newest_first`` it was made with.

        Raises:
            InvalidArgumentError: a bad id, page size, token or ``newest_first``.
            SessionNotFoundError: the session does not exist.
            StorageError: the database failed.
        """
        page = await self._rows.events_page(
            app_name=app_name,
            user_id=user_id,
            session_id=session_id,
            page_size=page_size,
            page_token=page_token,
            newest_first=newest_first,
        )
        events = decode_events(page.events_json)  # oldest first
        if page.newest_first:
            events.reverse()
        return EventPage(events=events, next_page_token=page.next_page_token)


async def _changes(feed: ChangeFeed) -> AsyncGenerator[Change, None]:
    async with contextlib.aclosing(feed):
        async for watched in feed:
            yield watched.change
