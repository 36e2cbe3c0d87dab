"""adk-pg's session operations beyond ADK's interface, on ``PostgresSessionService``.

Paging through a session's events, forking a session, and changing its state outside a turn:
each one statement, through the session store's rows layer; and following a session's new
events as they are appended (the change feed). ``PostgresSessionService``
inherits them from :class:`SessionOperations`; ADK's ``BaseSessionService`` knows none of them.
"""

from __future__ import annotations

import contextlib
import uuid
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, Mapping
from typing import Any

from google.adk.events.event import Event
from google.adk.events.event_actions import EventActions
from google.adk.sessions.base_session_service import ListSessionsResponse
from google.adk.sessions.session import Session
from pydantic import BaseModel, Field

from adk_pg import errors
from adk_pg.adk.codec import decode_events, event_json
from adk_pg.adk.errors import AlreadyExistsError, SessionNotFoundError
from adk_pg.adk.markers import to_session
from adk_pg.sessions import validate
from adk_pg.sessions.rows import SessionRows
from adk_pg.sessions.watch import DEFAULT_IDLE_CHECK

__all__ = ["EventsPage", "SessionOperations", "SessionsPage"]


class SessionsPage(ListSessionsResponse):
    """ADK's ``ListSessionsResponse`` with ``next_page_token`` (None: the last page)."""

    next_page_token: str | None = None


class EventsPage(BaseModel):
    """One page of a session's events, and the token of the next (None: the last page)."""

    events: list[Event] = Field(default_factory=list)
    next_page_token: str | None = None


class SessionOperations(ABC):
    """The operations ``PostgresSessionService`` adds to ADK's interface."""

    @abstractmethod
    async def _open(self) -> SessionRows:
        """The rows layer on the service's pool, opened on first use."""

    async def list_events(
        self,
        *,
        app_name: str,
        user_id: str,
        session_id: str,
        page_size: int | None = None,
        page_token: str | None = None,
        newest_first: bool = False,
    ) -> EventsPage:
        """One page of a session's events, one statement (an adk-pg extension).

        Ordered by (timestamp, id), oldest first or ``newest_first``; ``page_size=None``
        returns every remaining event; ``next_page_token`` is None on the last page. Pages
        are keyset-based: events appended meanwhile never shift or repeat one.

        Raises:
            InvalidArgumentError: a bad id, page size or token (a ValueError).
            SessionNotFoundError: the session does not exist.
        """
        rows = await self._open()
        try:
            page = await rows.events_page(
                app_name=app_name,
                user_id=user_id,
                session_id=session_id,
                page_size=page_size,
                page_token=page_token,
                newest_first=newest_first,
            )
        except errors.SessionNotFoundError as exc:
            raise SessionNotFoundError(str(exc)) from exc
        events = decode_events(page.events_json)
        if page.newest_first:
            events.reverse()
        return EventsPage(events=events, next_page_token=page.next_page_token)

    def watch_session(
        self,
        *,
        app_name: str,
        user_id: str,
        session_id: str,
        after_revision: int | None = None,
        idle_check: float = DEFAULT_IDLE_CHECK,
    ) -> AsyncGenerator[Event, None]:
        """The events appended to a session from now on (an adk-pg extension), in order.

        An async iterator of ADK ``Event``s, each once, whichever process appended them (a
        browser following a session on another replica), read in pages as they arrive. With
        ``after_revision`` (a session's revision, e.g. ``len(session.events)`` for a session
        created on adk-pg and then only appended to) the events appended after it come first.
        It ends when the session is deleted. It holds one connection of its own (see
        :meth:`adk_pg.SessionStore.watch`: not through PgBouncer's transaction pooling);
        ``aclose()`` or cancelling the task that iterates closes it.

        Raises:
            InvalidArgumentError: a bad id, revision or ``idle_check`` (a ValueError), now.
            StorageError: when iterated: no connection, or one that cannot LISTEN.
        """
        app, user, session, after, idle = validate.watch_scope(
            app_name, user_id, session_id, after_revision, idle_check
        )
        return self._watch_session(app, user, session, after, idle)

    async def _watch_session(
        self, app: str, user: str | None, session: str | None, after: int | None, idle: float
    ) -> AsyncGenerator[Event, None]:
        rows = await self._open()
        feed = rows.watch(
            app_name=app,
            user_id=user,
            session_id=session,
            after=after,
            idle_check=idle,
            documents=True,
        )
        async with contextlib.aclosing(feed):
            async for watched in feed:
                if watched.change.kind == "deleted":
                    return
                if watched.document is not None:
                    yield decode_events(f"[{watched.document}]")[0]

    async def fork_session(
        self,
        *,
        app_name: str,
        user_id: str,
        session_id: str,
        new_session_id: str | None = None,
        up_to_event_id: str | None = None,
    ) -> Session:
        """Copy a session into a new one of the same user, server-side (an adk-pg extension).

        See ``SessionStore.fork_session``: the events up to and including
        ``up_to_event_id`` (all when None) and the session state as of that event; ``app:``
        and ``user:`` state are shared, not copied. Returns the new session without its
        events: ``get_session`` reads them.

        Raises:
            SessionNotFoundError: the source session does not exist.
            AlreadyExistsError: a session with the new id exists.
            InvalidArgumentError: a bad id, an event not in the session, or a cut that the
                session's history cannot rebuild (a ValueError).
        """
        rows = await self._open()
        try:
            record, _ = await rows.fork(
                app_name=app_name,
                user_id=user_id,
                session_id=session_id,
                new_session_id=new_session_id,
                up_to_event_id=up_to_event_id,
            )
        except errors.SessionNotFoundError as exc:
            raise SessionNotFoundError(str(exc)) from exc
        except errors.AlreadyExistsError as exc:
            raise AlreadyExistsError(str(exc)) from exc
        return to_session(record, [])

    async def update_session_state(
        self,
        *,
        app_name: str,
        user_id: str,
        session_id: str,
        state_delta: Mapping[str, Any],
        author: str = "system",
    ) -> Event:
        """Change a session's state outside a turn (an adk-pg extension): see
        ``SessionStore.update_session_state``. Appends one event carrying only the delta, in
        one statement, never stale; returns that event.

        Raises:
            SessionNotFoundError: the session does not exist.
            InvalidArgumentError: an empty delta, a ``temp:`` key, a bad id or value.
        """
        delta = validate.state_update(state_delta, author)
        event = Event(
            id=str(uuid.uuid4()),
            invocation_id=f"e-{uuid.uuid4()}",
            author=author,
            actions=EventActions(state_delta=delta),
        )
        rows = await self._open()
        validate.event_timestamp(event.timestamp)
        try:
            await rows.append(
                app_name=app_name,
                user_id=user_id,
                session_id=session_id,
                event_id=event.id,
                event_timestamp=event.timestamp,
                event_json=event_json(event, exclude=None),
                state_delta=delta,
                expected_revision=None,
            )
        except errors.SessionNotFoundError as exc:
            raise SessionNotFoundError(str(exc)) from exc
        return event
