"""The repository: ``SessionStore``, whose methods return adk-pg's pydantic models.

It adds to :class:`~adk_pg.records.SessionRecords` (which runs the SQL and returns records)
the methods that take and return :class:`~adk_pg.models.Session` and
:class:`~adk_pg.models.Event`: the core API for asyncio code without ADK.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adk_pg import validate
from adk_pg.errors import (
    InvalidArgumentError,
    SessionNotFoundError,
    translate_errors,
)
from adk_pg.models import (
    TEMP_PREFIX,
    AppendResult,
    Event,
    EventPage,
    Session,
    SessionPage,
    decode_events,
    page_from_record,
    session_from_record,
)
from adk_pg.paging import FIRST_NEWEST, FIRST_OLDEST, decode_event_token, encode_event_token
from adk_pg.queries import QUERIES
from adk_pg.records import SessionRecords

__all__ = ["SessionStore"]


class SessionStore(SessionRecords):
    """ADK sessions, events and app/user state in PostgreSQL, through raw SQL on asyncpg.

    ``SessionStore(pool)`` uses a pool the caller owns (and never closes);
    ``await SessionStore.connect(dsn, **pool_options)`` builds a pool the store closes.
    """

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
        record = await self.create_session_record(
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
        record = await self.get_session_record(
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
        a ``next_page_token`` when more may follow. ``user_id=None`` lists every user.

        Raises:
            InvalidArgumentError: a bad id, page size or page token.
            StorageError: the database failed.
        """
        return page_from_record(
            await self.list_session_records(
                app_name=app_name, user_id=user_id, page_size=page_size, page_token=page_token
            )
        )

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
        if not isinstance(event, Event):
            raise InvalidArgumentError(f"event must be an adk_pg Event, not {type(event).__name__}")
        if event.partial:
            return None
        delta = event.actions.state_delta
        validate.state_delta_keys(delta)
        if any(key.startswith(TEMP_PREFIX) for key in delta):
            delta = {k: v for k, v in delta.items() if not k.startswith(TEMP_PREFIX)}
            event = event.model_copy(
                update={"actions": event.actions.model_copy(update={"state_delta": delta})}
            )
        validate.event_timestamp(event.timestamp)
        event_json = validate.dump_json(
            lambda **kw: event.model_dump_json(exclude_none=True, **kw), "event", event
        )
        return await self.append_event_json(
            app_name=app_name,
            user_id=user_id,
            session_id=session_id,
            event_id=event.id,
            event_timestamp=event.timestamp,
            event_json=event_json,
            state_delta=delta,
            expected_revision=expected_revision,
        )

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
        works with the ``newest_first`` it was made with.

        Raises:
            InvalidArgumentError: a bad id, page size, token or ``newest_first``.
            SessionNotFoundError: the session does not exist.
            StorageError: the database failed.
        """
        app_name = validate.require_id(app_name, "app_name")
        user_id = validate.require_id(user_id, "user_id")
        session_id = validate.existing_session_id(session_id)
        size = validate.page_size(page_size)
        if not isinstance(newest_first, bool):
            raise InvalidArgumentError("newest_first must be a bool")
        after = FIRST_NEWEST if newest_first else FIRST_OLDEST
        if page_token is not None:
            after = decode_event_token(page_token, newest_first=newest_first)
        # One more row than asked tells whether another page follows.
        limit = None if size is None else size + 1
        with translate_errors(f"list_events of session {session_id!r}"):
            row = await self._fetchrow(
                QUERIES.list_events.sql,
                app_name,
                user_id,
                session_id,
                after[0],
                after[1],
                newest_first,
                limit,
            )
        assert row is not None  # no FROM at the top: always one row
        if not row["session_exists"]:
            raise SessionNotFoundError(f"Session {session_id} not found.")
        events = decode_events(row["events"])  # oldest first
        if newest_first:
            events.reverse()
        token = None
        if size is not None and len(events) > size:
            del events[size:]
            last = events[-1]
            token = encode_event_token(last.timestamp, last.id, newest_first=newest_first)
        return EventPage(events=events, next_page_token=token)
