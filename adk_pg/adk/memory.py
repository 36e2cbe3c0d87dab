"""ADK's long-term memory in PostgreSQL: ``PostgresMemoryService``, a ``BaseMemoryService``.

ADK 2.13 has no PostgreSQL memory service; this one keeps a user's memories in the same
database (and, given the same ``pool=``, the same pool) as their sessions. Events with text
become memories whose id is the event id; search is PostgreSQL full-text search
(:class:`~adk_pg.memory.store.MemoryStore`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any

import asyncpg
from google.adk.events.event import Event
from google.adk.memory.base_memory_service import BaseMemoryService, SearchMemoryResponse
from google.adk.memory.memory_entry import MemoryEntry
from google.adk.sessions.session import Session

from adk_pg.adk.connection import ServiceConnection
from adk_pg.db.telemetry import Telemetry, check_telemetry
from adk_pg.errors import InvalidArgumentError
from adk_pg.memory.models import Memory, NewMemory
from adk_pg.memory.store import (
    DEFAULT_MAX_INDEXED_BYTES,
    DEFAULT_MAX_RESULTS,
    DEFAULT_SEARCH_CONFIG,
    MemoryStore,
    check_settings,
    memory_text,
)

__all__ = ["PostgresMemoryService"]

# The session of events added without one (add_events_to_memory without session_id), as ADK's
# own memory services name it in results; stored as NULL.
_UNKNOWN_SESSION_ID = "__unknown_session_id__"


class PostgresMemoryService(BaseMemoryService):
    """ADK memory in PostgreSQL full-text search: for ``load_memory`` / ``PreloadMemoryTool``.

    Connection arguments are those of ``PostgresSessionService`` (``dsn`` / ``uri=`` /
    ``db_url=``, or ``pool=``, never closed here; ``migrate=True`` creates or upgrades the
    schema on first use). ``search_config`` is the text search configuration (``english``
    stems: "runs" finds "running"; ``simple`` does not), ``max_results`` caps a search
    (default 10), and text is indexed up to ``max_indexed_bytes`` (default 256 KiB). Calls
    are reported as ``telemetry`` says (:class:`~adk_pg.Telemetry`); ``schema`` as for
    ``PostgresSessionService``.

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
        search_config: str = DEFAULT_SEARCH_CONFIG,
        max_results: int = DEFAULT_MAX_RESULTS,
        max_indexed_bytes: int = DEFAULT_MAX_INDEXED_BYTES,
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
        check_settings(search_config, max_results, max_indexed_bytes)  # now, not at first use
        self._search_config = search_config
        self._max_results = max_results
        self._max_indexed_bytes = max_indexed_bytes
        self._telemetry = check_telemetry(telemetry)
        self._store: MemoryStore | None = None

    def __repr__(self) -> str:
        return f"PostgresMemoryService({self._connection.describe()!r})"

    async def _open(self) -> MemoryStore:
        pool, acquire_timeout = await self._connection.open("PostgresMemoryService")
        if self._store is None:
            self._store = MemoryStore(
                pool,
                acquire_timeout=acquire_timeout,
                search_config=self._search_config,
                max_results=self._max_results,
                max_indexed_bytes=self._max_indexed_bytes,
                telemetry=self._telemetry,
                schema=self._connection.schema,
            )
        return self._store

    async def add_session_to_memory(self, session: Session) -> None:
        """Remember the session's events that hold text; adding it again adds nothing twice.

        Raises:
            InvalidArgumentError: not a Session, or text PostgreSQL cannot store.
        """
        if not isinstance(session, Session):
            raise InvalidArgumentError(
                f"session must be an ADK Session, not {type(session).__name__}"
            )
        await self._add_events(session.app_name, session.user_id, session.events, session.id, {})

    async def add_events_to_memory(
        self,
        *,
        app_name: str,
        user_id: str,
        events: Sequence[Event],
        session_id: str | None = None,
        custom_metadata: Mapping[str, object] | None = None,
    ) -> None:
        """Remember these events (those holding text), with ``custom_metadata`` on each.

        Raises:
            InvalidArgumentError: a bad id, events that are not ADK Events, or text
                PostgreSQL cannot store.
        """
        metadata = _metadata(custom_metadata)
        await self._add_events(app_name, user_id, events, session_id, metadata)

    async def _add_events(
        self,
        app_name: str,
        user_id: str,
        events: Sequence[Event],
        session_id: str | None,
        metadata: dict[str, Any],
    ) -> None:
        if isinstance(events, (str, bytes)) or not isinstance(events, Sequence):
            raise InvalidArgumentError("events must be a sequence of ADK Events")
        memories = []
        for event in events:
            if not isinstance(event, Event):
                raise InvalidArgumentError(f"events must be ADK Events, not {type(event).__name__}")
            if event.content is None or not memory_text(event.content).strip():
                continue  # nothing to find it by, as ADK's memory services skip it
            memories.append(
                NewMemory(
                    id=event.id,
                    content=event.content,
                    author=event.author,
                    event_time=event.timestamp,
                    session_id=session_id,
                    event_id=event.id,
                    custom_metadata=metadata,
                )
            )
        store = await self._open()
        await store.add(app_name=app_name, user_id=user_id, memories=memories)

    async def add_memory(
        self,
        *,
        app_name: str,
        user_id: str,
        memories: Sequence[MemoryEntry],
        custom_metadata: Mapping[str, object] | None = None,
    ) -> None:
        """Remember these entries; one without an id gets a new one. An entry's own
        ``custom_metadata`` is laid over the call's. An id that was deleted is stored again
        (an explicit add, unlike a session added again).

        Raises:
            InvalidArgumentError: a bad id, entries that are not MemoryEntry, or text
                PostgreSQL cannot store.
        """
        metadata = _metadata(custom_metadata)
        if isinstance(memories, (str, bytes)) or not isinstance(memories, Sequence):
            raise InvalidArgumentError("memories must be a sequence of MemoryEntry")
        new = []
        for entry in memories:
            if not isinstance(entry, MemoryEntry):
                raise InvalidArgumentError(
                    f"memories must be MemoryEntry objects, not {type(entry).__name__}"
                )
            new.append(
                NewMemory(
                    id=entry.id or str(uuid.uuid4()),
                    content=entry.content,
                    author=entry.author,
                    time_text=entry.timestamp,
                    custom_metadata={**metadata, **entry.custom_metadata},
                )
            )
        store = await self._open()
        await store.add(app_name=app_name, user_id=user_id, memories=new, revive=True)

    async def search_memory(
        self, *, app_name: str, user_id: str, query: str
    ) -> SearchMemoryResponse:
        """The user's memories that match ``query``, best first (see ``MemoryStore.search``).

        Raises:
            InvalidArgumentError: a bad id or query.
        """
        store = await self._open()
        found = await store.search(app_name=app_name, user_id=user_id, query=query)
        return SearchMemoryResponse(memories=[_entry(memory) for memory in found])

    async def delete_memory(
        self, *, app_name: str, user_id: str, memory_id: str | None = None
    ) -> None:
        """Delete one memory by its ``MemoryEntry.id``; without an id, nothing is deleted (a
        tool's bare ``delete_memory()`` never wipes a user's memory).

        Raises:
            InvalidArgumentError: a bad id.
        """
        if memory_id is None or memory_id == "":
            return
        store = await self._open()
        await store.delete(app_name=app_name, user_id=user_id, memory_id=memory_id)

    async def delete_user_memories(self, *, app_name: str, user_id: str) -> int:
        """Forget a user: delete all of their memories in the app; return how many went.

        Raises:
            InvalidArgumentError: a bad id.
        """
        store = await self._open()
        return await store.delete_user(app_name=app_name, user_id=user_id)

    async def close(self) -> None:
        """Close the pool if this service created it; later calls raise StorageError."""
        await self._connection.close()

    async def __aenter__(self) -> PostgresMemoryService:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


def _metadata(given: Mapping[str, object] | None) -> dict[str, Any]:
    if given is None:
        return {}
    if not isinstance(given, Mapping) or not all(isinstance(k, str) for k in given):
        raise InvalidArgumentError("custom_metadata must be a mapping with string keys")
    return dict(given)


def _entry(memory: Memory) -> MemoryEntry:
    metadata = dict(memory.custom_metadata)
    if memory.event_id is not None:  # where it came from, as ADK's SQLite service says
        metadata.setdefault("session_id", memory.session_id or _UNKNOWN_SESSION_ID)
        metadata.setdefault("event_id", memory.event_id)
    return MemoryEntry(
        id=memory.id,
        content=memory.content,
        author=memory.author,
        timestamp=memory.timestamp,
        custom_metadata=metadata,
    )
