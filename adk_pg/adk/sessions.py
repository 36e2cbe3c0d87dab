"""The drop-in for ADK's sessions: ``PostgresSessionService``, a ``BaseSessionService``.

Replace ``DatabaseSessionService("postgresql+asyncpg://...")`` with
``PostgresSessionService("postgresql+asyncpg://...")``; nothing else changes. It runs the
session store's private rows layer and builds ADK's own ``Session`` and ``Event`` objects.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

import asyncpg
from google.adk.events.event import Event
from google.adk.sessions.base_session_service import (
    BaseSessionService,
    GetSessionConfig,
)
from google.adk.sessions.session import Session
from google.adk.sessions.state import State

from adk_pg import errors
from adk_pg.adk.codec import decode_events, decode_sessions, event_json
from adk_pg.adk.connection import ServiceConnection
from adk_pg.adk.errors import (
    AlreadyExistsError,
    EventConflictError,
    SessionNotFoundError,
    StaleSessionError,
)
from adk_pg.adk.markers import revision_of, revision_of_markerless, to_session
from adk_pg.adk.session_ops import SessionOperations, SessionsPage
from adk_pg.db.telemetry import Telemetry, check_telemetry
from adk_pg.sessions import validate
from adk_pg.sessions.rows import SessionRows
from adk_pg.sessions.store import SessionStore

__all__ = ["PostgresSessionService"]


class PostgresSessionService(SessionOperations, BaseSessionService):
    """ADK sessions in PostgreSQL: a drop-in for ``DatabaseSessionService``.

    ``dsn`` (or ``uri=`` / ``db_url=``) may be ``postgresql://``, ``postgres://``,
    ``postgresql+asyncpg://`` or ``adkpg://``; without one, ``ADK_PG_DSN`` or ``POSTGRES_URL``
    is used. Pool options: SQLAlchemy's ``pool_size``, ``max_overflow``, ``pool_timeout``,
    ``pool_recycle``, ``pool_pre_ping`` and asyncpg's own. Or pass an existing ``pool=``
    (it is never closed here). With ``migrate=True`` (the default) the schema is created or
    upgraded on first use, as ``DatabaseSessionService`` creates its tables. Every call is
    an OpenTelemetry span nested under ADK's own, as ``telemetry`` says
    (:class:`~adk_pg.Telemetry`). ``schema`` (else the DSN's ``?schema=``, else ``adk``) is
    the PostgreSQL schema of the tables: services in two schemas never see each other's data.

    Raises:
        TypeError: an unknown option (at construction, not at the first query).
        ValueError: a malformed DSN, option value, ``telemetry`` or schema name.
    """

    def __init__(
        self,
        dsn: str | None = None,
        *,
        uri: str | None = None,
        db_url: str | None = None,
        pool: asyncpg.Pool | None = None,
        migrate: bool = True,
        telemetry: Telemetry | None = None,
        schema: str | None = None,
        **options: Any,
    ) -> None:
        super().__init__()
        self._connection = ServiceConnection(
            dsn=dsn,
            uri=uri,
            db_url=db_url,
            pool=pool,
            migrate=migrate,
            options=options,
            schema=schema,
        )
        self._telemetry = check_telemetry(telemetry)
        self._rows: SessionRows | None = None
        self._store: SessionStore | None = None

    def __repr__(self) -> str:
        return f"PostgresSessionService({self._connection.describe()!r})"

    async def _open(self) -> SessionRows:
        pool, acquire_timeout = await self._connection.open("PostgresSessionService")
        if self._rows is None:
            telemetry, schema = self._telemetry, self._connection.schema
            self._rows = SessionRows(
                pool, acquire_timeout=acquire_timeout, telemetry=telemetry, schema=schema
            )
            self._store = SessionStore(
                pool, acquire_timeout=acquire_timeout, telemetry=telemetry, schema=schema
            )
        return self._rows

    @property
    def store(self) -> SessionStore | None:
        """A SessionStore on the same pool, once the service has been used (else None)."""
        return self._store if self._connection.pool is not None else None

    async def create_session(
        self,
        *,
        app_name: str,
        user_id: str,
        state: dict[str, Any] | None = None,
        session_id: str | None = None,
    ) -> Session:
        """Create a session; ``app:`` / ``user:`` keys go to their scopes, ``temp:`` is dropped.

        Raises:
            AlreadyExistsError: a session with that id exists.
            InvalidArgumentError: a bad id or state (a ValueError).
        """
        rows = await self._open()
        try:
            record = await rows.create(
                app_name=app_name, user_id=user_id, state=state, session_id=session_id
            )
        except errors.AlreadyExistsError as exc:
            raise AlreadyExistsError(str(exc)) from exc
        return to_session(record, [])

    async def get_session(
        self,
        *,
        app_name: str,
        user_id: str,
        session_id: str,
        config: GetSessionConfig | None = None,
    ) -> Session | None:
        """Return the session with merged state and the events ``config`` selects, or None.

        Raises:
            InvalidArgumentError: a bad id (a ValueError).
        """
        if config is not None and not isinstance(config, GetSessionConfig):
            raise errors.InvalidArgumentError(
                f"config must be a GetSessionConfig or None, not {type(config).__name__}"
            )
        rows = await self._open()
        record = await rows.get(
            app_name=app_name,
            user_id=user_id,
            session_id=session_id,
            num_recent_events=config.num_recent_events if config else None,
            after_timestamp=config.after_timestamp if config else None,
        )
        if record is None:
            return None
        return to_session(record, decode_events(record.events_json))

    async def list_sessions(
        self,
        *,
        app_name: str,
        user_id: str | None = None,
        page_size: int | None = None,
        page_token: str | None = None,
    ) -> SessionsPage:
        """Sessions of the app (or of one user), with merged state and no events.

        Without ``page_size`` every session, as ADK's services return them. With it (an
        adk-pg extension), one page, ordered by last update (oldest first, then user and id),
        and ``next_page_token`` for the next (None on the last); a token works only for the
        listing (app and user) that returned it, and a page costs the same at any depth.

        Raises:
            InvalidArgumentError: a bad id, page size or token (a ValueError).
        """
        rows = await self._open()
        page = await rows.list_page(
            app_name=app_name, user_id=user_id, page_size=page_size, page_token=page_token
        )
        sessions = decode_sessions(page.sessions_json)
        for session, revision in zip(sessions, page.revisions, strict=True):
            session._storage_update_marker = str(revision)
        return SessionsPage(sessions=sessions, next_page_token=page.next_page_token)

    async def delete_session(self, *, app_name: str, user_id: str, session_id: str) -> None:
        """Delete a session and its events; app and user state stay. Missing: no-op.

        Raises:
            InvalidArgumentError: a bad id (a ValueError).
        """
        rows = await self._open()
        await rows.delete(app_name=app_name, user_id=user_id, session_id=session_id)

    async def get_user_state(self, *, app_name: str, user_id: str) -> dict[str, Any]:
        """The user's state without the ``user:`` prefix, or ``{}``.

        Raises:
            InvalidArgumentError: a bad id (a ValueError).
        """
        rows = await self._open()
        return await rows.user_state(app_name=app_name, user_id=user_id)

    async def append_event(self, session: Session, event: Event) -> Event:
        """Store ``event`` and apply it to ``session``, as ADK's services do.

        ``temp:`` keys are applied to the in-memory session and not stored; a partial event
        is returned unchanged. The event is serialised once; nothing is validated twice.
        Appending an event that is already stored (same id, same content) succeeds without
        writing anything (retry-safe, where ``DatabaseSessionService`` raises
        ``IntegrityError``); another event under a stored id raises EventConflictError. A
        session without a marker (built by hand) is checked as ``DatabaseSessionService``
        does. An append that raises leaves ``session`` and ``event`` as they were.

        Raises:
            StaleSessionError: the session changed in storage since it was loaded.
            SessionNotFoundError: the session does not exist.
            EventConflictError: an event with this id and other content is stored.
            InvalidArgumentError: the event holds what PostgreSQL cannot store (a ValueError).
        """
        if not isinstance(session, Session):
            raise errors.InvalidArgumentError(
                f"session must be an ADK Session, not {type(session).__name__}"
            )
        if not isinstance(event, Event):
            raise errors.InvalidArgumentError(
                f"event must be an ADK Event, not {type(event).__name__}"
            )
        if event.partial:
            return event
        rows = await self._open()
        delta = event.actions.state_delta
        validate.event_timestamp(event.timestamp)
        validate.state_delta_keys(delta)
        # temp: keys are left out of what is stored without touching the caller's objects:
        # they change only once the event is stored.
        temp_keys = {key for key in delta if key.startswith(State.TEMP_PREFIX)}
        exclude = {"actions": {"state_delta": temp_keys}} if temp_keys else None
        document = event_json(event, exclude)
        expected = revision_of(session)
        if expected is None:
            expected = await revision_of_markerless(rows, session)
        try:
            result = await rows.append(
                app_name=session.app_name,
                user_id=session.user_id,
                session_id=session.id,
                event_id=event.id,
                event_timestamp=event.timestamp,
                event_json=document,
                state_delta=delta,
                expected_revision=expected,
            )
        except errors.StaleSessionError as exc:
            raise StaleSessionError(str(exc)) from exc
        except errors.SessionNotFoundError as exc:
            raise SessionNotFoundError(str(exc)) from exc
        except errors.EventConflictError as exc:
            raise EventConflictError(str(exc)) from exc
        self._apply_temp_state(session, event)
        event = self._trim_temp_delta_state(event)
        if not result.written and any(stored.id == event.id for stored in session.events):
            # A re-delivery of an event this session object already holds: applying it again
            # would duplicate it, and the marker stays, so a stale copy stays stale.
            return event
        if result.written or result.revision == expected + 1:
            # This call wrote it, or an earlier attempt did (a retry after a lost reply) and
            # nothing else was written since: the session object now matches storage.
            session.last_update_time = result.last_update_time
            session._storage_update_marker = str(result.revision)
        # Else an earlier attempt stored it and others wrote since: the session shows the
        # event but keeps its old marker, so its next append raises StaleSessionError.
        return self._commit_event_to_session(session, event)

    async def flush(self) -> None:
        """Nothing to flush: every call is committed when it returns."""

    async def close(self) -> None:
        """Close the pool if this service created it; later calls raise StorageError."""
        await self._connection.close()

    async def __aenter__(self) -> PostgresSessionService:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
