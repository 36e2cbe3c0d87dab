"""The drop-in for ADK: ``PostgresSessionService``, a ``BaseSessionService`` on SessionStore.

Replace ``DatabaseSessionService("postgresql+asyncpg://...")`` with
``PostgresSessionService("postgresql+asyncpg://...")``; nothing else changes. This is the
only module that imports ``google.adk`` (install the ``adk`` extra).
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Any

import asyncpg
import pydantic_core
from google.adk.errors import StaleSessionError as AdkStaleSessionError
from google.adk.errors.already_exists_error import AlreadyExistsError as AdkAlreadyExistsError
from google.adk.errors.session_not_found_error import (
    SessionNotFoundError as AdkSessionNotFoundError,
)
from google.adk.events.event import Event
from google.adk.sessions.base_session_service import (
    BaseSessionService,
    GetSessionConfig,
    ListSessionsResponse,
)
from google.adk.sessions.session import Session
from google.adk.sessions.state import State
from pydantic import TypeAdapter

from adk_pg import errors, validate
from adk_pg.dsn import redact_dsn, resolve_dsn
from adk_pg.migrate import migrate as run_migrations
from adk_pg.models import SAMPLE_EVENTS_JSON, SessionRecord, genai_no_ops
from adk_pg.pool_options import pool_config
from adk_pg.store import SessionStore
from adk_pg.trusted import collector_paused, trusted_list_validator

__all__ = [
    "AlreadyExistsError",
    "EventConflictError",
    "PostgresSessionService",
    "SessionNotFoundError",
    "StaleSessionError",
    "read_as_adk_does",
]


# Raised errors are both ADK's and ours, so `except` clauses written for either keep working.
class AlreadyExistsError(AdkAlreadyExistsError, errors.AlreadyExistsError):
    """A session with that id already exists (ADK's AlreadyExistsError; HTTP 409)."""


class SessionNotFoundError(AdkSessionNotFoundError, errors.SessionNotFoundError):
    """The session does not exist (ADK's SessionNotFoundError)."""


class StaleSessionError(AdkStaleSessionError, errors.StaleSessionError):
    """The session was modified in storage since it was loaded (ADK's StaleSessionError)."""


class EventConflictError(AdkAlreadyExistsError, errors.EventConflictError):
    """Another event with that id is stored (ADK's AlreadyExistsError, so HTTP 409)."""


_EVENTS: TypeAdapter[list[Event]] = TypeAdapter(list[Event])
# Stored events are JSON this module dumped from validated Events: read them without the
# Python code pydantic runs per model that does nothing for such JSON (see adk_pg.trusted).
_convenience = getattr(Event, "_accept_convenience_kwargs", None)
_decode_events = trusted_list_validator(
    Event,
    skip=[*genai_no_ops(), *([_convenience] if _convenience is not None else [])],
    samples=lambda: _EVENTS.validate_json(SAMPLE_EVENTS_JSON),
)
_SESSIONS: TypeAdapter[list[Session]] = TypeAdapter(list[Session])


def read_as_adk_does(events_json: str) -> None:
    """Read a JSON array of events with ADK's own Event, as this service's get_session does.

    ``adk-pg import`` runs it on every imported session when google-adk is installed, so that
    nothing is stored that this service could not read back.

    Raises:
        pydantic.ValidationError: an event ADK cannot read.
    """
    _EVENTS.validate_json(events_json)


# Keyword arguments ADK's service factories pass that are not pool options.
_IGNORED_FACTORY_KWARGS = frozenset({"agents_dir"})
_SCHEME_ALIASES = ("adkpg://", "adk-pg://")


def _normalise_dsn(dsn: str) -> str:
    # `adkpg://...` is the scheme registered with ADK's service registry; it means postgresql.
    for alias in _SCHEME_ALIASES:
        if dsn.startswith(alias):
            return "postgresql://" + dsn[len(alias) :]
    return dsn


class PostgresSessionService(BaseSessionService):
    """ADK sessions in PostgreSQL: a drop-in for ``DatabaseSessionService``.

    ``dsn`` (or ``uri=`` / ``db_url=``) may be ``postgresql://``, ``postgres://``,
    ``postgresql+asyncpg://`` or ``adkpg://``; without one, ``ADK_PG_DSN`` or ``POSTGRES_URL``
    is used. Pool options: SQLAlchemy's ``pool_size``, ``max_overflow``, ``pool_timeout``,
    ``pool_recycle``, ``pool_pre_ping`` and asyncpg's own. Or pass an existing ``pool=``
    (it is never closed here). With ``migrate=True`` (the default) the schema is created or
    upgraded on first use, as ``DatabaseSessionService`` creates its tables.

    Raises:
        TypeError: an unknown option (at construction, not at the first query).
        ValueError: a malformed DSN or option value.
    """

    def __init__(
        self,
        dsn: str | None = None,
        *,
        uri: str | None = None,
        db_url: str | None = None,
        pool: asyncpg.Pool | None = None,
        migrate: bool = True,
        **options: Any,
    ) -> None:
        super().__init__()
        given = [value for value in (dsn, uri, db_url) if value is not None]
        if len(given) > 1:
            raise ValueError("give the database as one of dsn, uri= or db_url=, not several")
        if pool is not None and given:
            raise ValueError("give either a DSN or an existing pool=, not both")
        pool_options = {k: v for k, v in options.items() if k not in _IGNORED_FACTORY_KWARGS}
        self._dsn: str | None = None
        if pool is None:
            self._dsn = _normalise_dsn(resolve_dsn(given[0] if given else None))
            # Validates every option now: a typo fails here, not at the first query.
            pool_config(self._dsn, **pool_options)
        elif pool_options:
            raise TypeError(f"pool options {sorted(pool_options)} cannot apply to a given pool")
        self._pool_options = pool_options
        self._given_pool = pool
        self._migrate = migrate
        self._store: SessionStore | None = None
        self._closed = False
        self._opening = asyncio.Lock()

    def __repr__(self) -> str:
        where = redact_dsn(self._dsn) if self._dsn else "<pool>"
        return f"PostgresSessionService({where!r})"

    async def _open(self) -> SessionStore:
        if self._store is not None:
            return self._store
        if self._closed:
            # Reopening silently would leak a pool nobody closes.
            raise errors.StorageError(
                "PostgresSessionService is closed", sqlstate=None, retryable=False
            )
        async with self._opening:
            if self._store is None:
                if self._given_pool is not None:
                    if self._migrate:
                        await run_migrations(self._given_pool)
                    self._store = SessionStore(self._given_pool)
                else:
                    self._store = await SessionStore.connect(
                        self._dsn, migrate=self._migrate, **self._pool_options
                    )
            return self._store

    @property
    def store(self) -> SessionStore | None:
        """The SessionStore underneath, once the service has been used (else None)."""
        return self._store

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
        store = await self._open()
        try:
            record = await store.create_session_record(
                app_name=app_name, user_id=user_id, state=state, session_id=session_id
            )
        except errors.AlreadyExistsError as exc:
            raise AlreadyExistsError(str(exc)) from exc
        return _to_session(record, [])

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
        store = await self._open()
        record = await store.get_session_record(
            app_name=app_name,
            user_id=user_id,
            session_id=session_id,
            num_recent_events=config.num_recent_events if config else None,
            after_timestamp=config.after_timestamp if config else None,
        )
        if record is None:
            return None
        return _to_session(record, _decode_events(record.events_json))

    async def list_sessions(
        self, *, app_name: str, user_id: str | None = None
    ) -> ListSessionsResponse:
        """Every session of the app (or of one user), with merged state and no events.

        Raises:
            InvalidArgumentError: a bad id (a ValueError).
        """
        store = await self._open()
        page = await store.list_session_records(app_name=app_name, user_id=user_id)
        with collector_paused():
            sessions = _SESSIONS.validate_json(page.sessions_json)
            for session, revision in zip(sessions, page.revisions, strict=True):
                session._storage_update_marker = str(revision)
        return ListSessionsResponse(sessions=sessions)

    async def delete_session(self, *, app_name: str, user_id: str, session_id: str) -> None:
        """Delete a session and its events; app and user state stay. Missing: no-op.

        Raises:
            InvalidArgumentError: a bad id (a ValueError).
        """
        store = await self._open()
        await store.delete_session(app_name=app_name, user_id=user_id, session_id=session_id)

    async def get_user_state(self, *, app_name: str, user_id: str) -> dict[str, Any]:
        """The user's state without the ``user:`` prefix, or ``{}``.

        Raises:
            InvalidArgumentError: a bad id (a ValueError).
        """
        store = await self._open()
        return await store.get_user_state(app_name=app_name, user_id=user_id)

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
        if event.partial:
            return event
        store = await self._open()
        delta = event.actions.state_delta
        validate.event_timestamp(event.timestamp)
        validate.state_delta_keys(delta)
        # temp: keys are left out of what is stored without touching the caller's objects:
        # they change only once the event is stored.
        temp_keys = {key for key in delta if key.startswith(State.TEMP_PREFIX)}
        exclude = {"actions": {"state_delta": temp_keys}} if temp_keys else None
        event_json = validate.dump_json(
            lambda **kw: event.model_dump_json(exclude_none=True, exclude=exclude, **kw),
            "event",
            event,
        )
        expected = _revision_of(session)
        if expected is None:
            expected = await _revision_of_markerless(store, session)
        try:
            result = await store.append_event_json(
                app_name=session.app_name,
                user_id=session.user_id,
                session_id=session.id,
                event_id=event.id,
                event_timestamp=event.timestamp,
                event_json=event_json,
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
        self._closed = True
        if self._store is not None:
            await self._store.close()
            self._store = None

    async def __aenter__(self) -> PostgresSessionService:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


def _revision_of(session: Session) -> int | None:
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


async def _revision_of_markerless(store: SessionStore, session: Session) -> int:
    """The revision to append at for a session without a marker, or StaleSessionError.

    ``DatabaseSessionService``'s rule for sessions built by hand or loaded elsewhere: stale
    only when storage was updated after ``session.last_update_time`` and its newest event is
    not the session's last one. It costs one more query; sessions this service returned
    always carry a marker.

    Raises:
        SessionNotFoundError: the session does not exist.
        StaleSessionError: storage holds events the session has not seen.
    """
    record = await store.get_session_record(
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


def _to_session(record: SessionRecord, events: list[Event]) -> Session:
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
