"""The change feed: follow an app's (or a user's, or a session's) sessions as they change.

Every session created or deleted and every event appended is announced by a trigger with
NOTIFY on a channel of its app (migration 0012). A :class:`ChangeFeed` holds one connection
of its own (not one of the pool's) that LISTENs there. A notification is only a hint: the
feed reads what changed from the tables, by the session revision each appended event records,
so a lost notification (a dropped connection, a server restart) loses nothing. On every
(re)connect the feed first LISTENs, then compares the sessions it follows with the revisions
it has seen and yields what it missed; after that, each hint makes it read the events after
the last revision it yielded. Per session, events come in the order they were appended, each
exactly once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Literal

import asyncpg

from adk_pg.db.database import Database
from adk_pg.errors import AdkPgError, StorageError
from adk_pg.sessions.hints import LOST, QUIET, Hints
from adk_pg.sessions.listen import check_listening, close_quietly, listen
from adk_pg.sessions.models import Change
from adk_pg.sessions.queries import QUERIES

__all__ = ["DEFAULT_IDLE_CHECK", "WATCH_PAGE_SIZE", "ChangeFeed", "Watched"]

logger = logging.getLogger("adk_pg")

WATCH_PAGE_SIZE = 500  # events read per statement when catching up
DEFAULT_IDLE_CHECK = 30.0  # seconds without a notification before the connection is checked
_RETRY_FIRST, _RETRY_MAX = 0.05, 2.0  # reconnect back-off, seconds
# asyncio's TimeoutError is the builtin only from Python 3.11 on.
_TIMEOUTS = (TimeoutError, asyncio.TimeoutError)
_RECONNECT_ERRORS = (
    OSError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    StorageError,
    *_TIMEOUTS,
)

Key = tuple[str, str]  # (user_id, session_id)
Kind = Literal["created", "event", "deleted"]


class Watched:
    """A change and, for an appended event, its Event JSON (what the ADK adapter decodes)."""

    __slots__ = ("change", "document")

    def __init__(self, change: Change, document: str | None = None) -> None:
        self.change = change
        self.document = document


class ChangeFeed:
    """An async iterator of :class:`Watched` changes.

    Built by ``SessionStore.watch``; see there. Iterating opens the feed's connection;
    ``aclose()`` (also through ``contextlib.aclosing``) or cancelling the task that iterates
    closes it.
    """

    def __init__(
        self,
        db: Database,
        *,
        app_name: str,
        user_id: str | None,
        session_id: str | None,
        after: int | None,
        idle_check: float = DEFAULT_IDLE_CHECK,
        documents: bool = False,
    ) -> None:
        self._db = db
        self._documents = documents
        self._queries = db.queries(QUERIES)
        self._app = app_name
        self._user = user_id
        self._session = session_id
        self._idle_check = idle_check
        # The revision yielded last, per session followed; filled by the first listing,
        # unless a position to resume from was given.
        self._seen: dict[Key, int] = {}
        # Per session, the revision and id of the event last yielded from a hint, unread.
        self._named: dict[Key, tuple[int, str]] = {}
        self._positioned = False
        if after is not None and user_id is not None and session_id is not None:
            self._seen = {(user_id, session_id): after}
            self._positioned = True
        self._conn: asyncpg.Connection[asyncpg.Record] | None = None
        self._hints = Hints(idle_check)
        self._changes = self._run()

    def __aiter__(self) -> ChangeFeed:
        return self

    async def __anext__(self) -> Watched:
        return await self._changes.__anext__()

    async def aclose(self) -> None:
        """Stop following and close the feed's connection."""
        await self._changes.aclose()

    async def _run(self) -> AsyncGenerator[Watched, None]:
        delay = _RETRY_FIRST
        connected = False
        try:
            while True:
                try:
                    conn, channel = await self._connect()
                    connected = True
                    async for item in self._catch_up(conn):
                        yield item
                    delay = _RETRY_FIRST
                    async for item in self._follow(conn, channel):
                        yield item
                except _RECONNECT_ERRORS as exc:
                    # The first connection's failure is the caller's to see (a wrong DSN, a
                    # server down); later ones are retried, and nothing is lost meanwhile.
                    if not connected or (
                        isinstance(exc, AdkPgError) and not getattr(exc, "retryable", True)
                    ):
                        raise
                    logger.warning(
                        "change feed of app %r: connection lost (%s); reconnecting in %.2f s",
                        self._app,
                        type(exc).__name__,
                        delay,
                    )
                    await self._close()
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, _RETRY_MAX)
        finally:
            await self._close()

    async def _connect(self) -> tuple[asyncpg.Connection[asyncpg.Record], str]:
        """Open the feed's connection, LISTENing with a fresh inbox of hints.

        Raises:
            StorageError: see :func:`~adk_pg.sessions.listen.listen`.
        """
        self._hints.close()
        self._hints = Hints(self._idle_check)
        conn, channel = await listen(self._db, self._app, self._hints, self._remember)
        return conn, channel

    def _remember(self, conn: asyncpg.Connection[asyncpg.Record]) -> None:
        # Kept as soon as it is open: a LISTEN that fails its check still gets closed.
        self._conn = conn

    async def _close(self) -> None:
        self._hints.close()
        conn, self._conn = self._conn, None
        if conn is not None:
            await close_quietly(conn)

    async def _catch_up(self, conn: asyncpg.Connection[asyncpg.Record]) -> AsyncIterator[Watched]:
        """Compare the sessions followed with what was seen; yield what was missed."""
        rows = await conn.fetch(
            self._queries.watch_sessions.sql, self._app, self._user, self._session
        )
        current = {(r["user_id"], r["id"]): int(r["revision"]) for r in rows}
        if not self._positioned:  # the first listing, no position given: follow from now
            self._seen, self._positioned = current, True
            return
        seen = self._seen
        for key in [k for k in seen if k not in current]:
            yield self._change("deleted", key, seen.pop(key))
        for key, revision in current.items():
            if key in seen and revision < seen[key]:  # deleted and created again meanwhile
                yield self._change("deleted", key, seen.pop(key))
            if key not in seen:
                seen[key] = 0
                yield self._change("created", key, 0)
            if revision > seen[key]:
                async for item in self._events(conn, key, revision):
                    yield item

    async def _follow(
        self, conn: asyncpg.Connection[asyncpg.Record], channel: str
    ) -> AsyncIterator[Watched]:
        """Turn hints into changes until the connection is lost."""
        seen = self._seen
        while True:
            hint = await self._hints.next()
            if hint is QUIET:
                # Quiet for a while: make sure the connection (and its LISTEN) is alive.
                await check_listening(self._db, conn, channel)
                continue
            if hint is LOST:
                raise StorageError(
                    "the change feed's connection closed", sqlstate=None, retryable=True
                )
            key = (str(hint["user_id"]), str(hint["session_id"]))
            if not self._follows(key):
                continue
            revision = int(hint["revision"])
            kind = hint["kind"]
            # Anyone who can connect may NOTIFY on the channel: a hint moves what was seen
            # only as far as the tables confirm, so a forged one never makes the feed skip
            # or repeat a real event. Only the next event's id is taken on the hint's word;
            # should a hint then name another event at that revision, the table says which
            # was real, and the real one comes (after the forged one).
            if kind == "created" and key not in seen:
                seen[key] = 0  # what it holds is read when its first event is hinted
                yield self._change("created", key, revision)
            elif kind == "deleted" and key in seen:
                if await self._gone(conn, key):
                    self._named.pop(key, None)
                    yield self._change("deleted", key, seen.pop(key))
            elif kind == "event" and self._disputed(key, revision, str(hint["event_id"])):
                named_revision, named_id = self._named.pop(key)
                seen[key] = named_revision - 1
                async for item in self._events(conn, key, None):
                    if (item.change.revision, item.change.event_id) != (named_revision, named_id):
                        yield item
            elif kind == "event" and revision > seen.get(key, revision - 1):
                if revision == seen.get(key, -1) + 1 and not self._documents:
                    # The very next event, named by the hint itself: nothing to read.
                    seen[key] = revision
                    event_id = str(hint["event_id"])
                    self._named[key] = (revision, event_id)
                    yield self._change("event", key, revision, event_id)
                else:
                    self._named.pop(key, None)
                    async for item in self._events(conn, key, None):
                        yield item

    def _disputed(self, key: Key, revision: int, event_id: str) -> bool:
        """Whether a hint names another event at the revision the last hint's event was
        yielded at, unread: one of the two was forged."""
        named = self._named.get(key)
        return (
            named is not None
            and named[0] == revision == self._seen.get(key)
            and named[1] != event_id
        )

    async def _gone(self, conn: asyncpg.Connection[asyncpg.Record], key: Key) -> bool:
        """Whether the session ``key`` was deleted: it is not there, or it is there again
        (created anew) at a revision below the one seen."""
        rows = await conn.fetch(self._queries.watch_sessions.sql, self._app, key[0], key[1])
        return not rows or int(rows[0]["revision"]) < self._seen[key]

    def _follows(self, key: Key) -> bool:
        return (self._user is None or key[0] == self._user) and (
            self._session is None or key[1] == self._session
        )

    async def _events(
        self, conn: asyncpg.Connection[asyncpg.Record], key: Key, revision: int | None
    ) -> AsyncIterator[Watched]:
        """The events of ``key`` after the last one yielded, in pages; then at least up to
        ``revision`` (read from the table, never from a hint) is seen: events without a
        revision are history, never yielded."""
        seen = self._seen
        while True:
            rows = await conn.fetch(
                self._queries.watch_events.sql,
                self._app,
                key[0],
                key[1],
                seen.get(key, 0),
                WATCH_PAGE_SIZE,
            )
            for row in rows:
                seen[key] = int(row["revision"])
                yield self._change("event", key, seen[key], row["id"], row["document"])
            if len(rows) < WATCH_PAGE_SIZE:
                break
        if revision is not None:
            seen[key] = max(seen.get(key, 0), revision)

    def _change(
        self,
        kind: Kind,
        key: Key,
        revision: int,
        event_id: str | None = None,
        document: str | None = None,
    ) -> Watched:
        # Built from values already checked (no validation: a feed yields thousands a second).
        change = Change.model_construct(
            kind=kind,
            app_name=self._app,
            user_id=key[0],
            session_id=key[1],
            revision=revision,
            event_id=event_id,
        )
        return Watched(change, document)
