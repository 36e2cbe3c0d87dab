"""The memory repository: ``MemoryStore``, a user's memories on full-text search.

Each method validates its arguments, runs one statement from ``sql/memory/`` and maps the rows
to :class:`~adk_pg.memory.models.Memory`. Words are cut by :mod:`adk_pg.memory.text`; the
server builds and searches the vectors.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from types import TracebackType
from typing import Any

import asyncpg
import pydantic_core
from google.genai import types

from adk_pg.db import values
from adk_pg.db.database import Database
from adk_pg.db.schema_name import DEFAULT_SCHEMA
from adk_pg.db.telemetry import Telemetry, check_telemetry
from adk_pg.errors import InvalidArgumentError, translate_errors
from adk_pg.memory.models import Memory, NewMemory
from adk_pg.memory.queries import QUERIES
from adk_pg.memory.text import index_codes, parse_query, search_words, truncate_utf8
from adk_pg.schema.connect import open_pool

__all__ = [
    "DEFAULT_MAX_INDEXED_BYTES",
    "DEFAULT_MAX_RESULTS",
    "DEFAULT_SEARCH_CONFIG",
    "MemoryStore",
    "check_settings",
    "memory_text",
]

DEFAULT_SEARCH_CONFIG = "english"
# ADK's in-memory service returns at most 10 memories: they go into a prompt, so few and good.
DEFAULT_MAX_RESULTS = 10
# As ADK's SQLite memory service: longer text is stored whole, indexed up to this many bytes.
DEFAULT_MAX_INDEXED_BYTES = 256 * 1024
_OWN_OPTIONS = ("search_config", "max_results", "max_indexed_bytes", "telemetry")
_CONFIG_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?")


def check_settings(search_config: object, max_results: object, max_indexed_bytes: object) -> None:
    """Check a memory store's settings before anything runs.

    Raises:
        InvalidArgumentError: a malformed configuration name or a bound out of range.
    """
    if not isinstance(search_config, str) or not _CONFIG_NAME.fullmatch(search_config):
        raise InvalidArgumentError(
            "search_config must name a text search configuration, e.g. english or simple"
        )
    _bounded(max_results, "max_results", 1, 1000)
    # PostgreSQL's tsvector holds 1 MB of lexemes: the text's and the codes' (256 KiB).
    _bounded(max_indexed_bytes, "max_indexed_bytes", 1, 512 * 1024)


def memory_text(content: types.Content) -> str:
    """The text a memory is found by: its text parts, thoughts left out, in order."""
    parts = content.parts or []
    return " ".join(p.text for p in parts if p.text and not p.thought)


class MemoryStore:
    """A user's memories in PostgreSQL, searched by full text.

    ``MemoryStore(pool)`` uses a pool the caller owns (and never closes);
    ``await MemoryStore.connect(dsn, **pool_options)`` builds a pool the store closes.
    ``search_config`` is the text search configuration words are stemmed with (``english``,
    ``simple``, or any the server has); ``max_results`` caps a search; memories are indexed
    on their first ``max_indexed_bytes`` bytes of text and stored whole. Every call is
    reported as ``telemetry`` says (:class:`~adk_pg.Telemetry`), as the session store's are;
    ``schema`` is the schema the tables are in, as for the session store.

    Raises:
        TypeError: ``pool`` is not an asyncpg pool.
        InvalidArgumentError: a malformed configuration name, a bound out of range, or a
            ``telemetry`` that is not a Telemetry.
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        acquire_timeout: float | None = None,
        search_config: str = DEFAULT_SEARCH_CONFIG,
        max_results: int = DEFAULT_MAX_RESULTS,
        max_indexed_bytes: int = DEFAULT_MAX_INDEXED_BYTES,
        telemetry: Telemetry | None = None,
        schema: str = DEFAULT_SCHEMA,
        _owns_pool: bool = False,
    ) -> None:
        check_settings(search_config, max_results, max_indexed_bytes)
        self._db = Database(
            pool, acquire_timeout=acquire_timeout, telemetry=telemetry, schema=schema
        )
        self._queries = self._db.queries(QUERIES)
        self.schema = schema
        self.pool = pool
        self.search_config = search_config
        self.max_results = max_results
        self.max_indexed_bytes = max_indexed_bytes
        self._owns_pool = _owns_pool

    @classmethod
    async def connect(
        cls, dsn: str | None = None, *, migrate: bool = False, **options: Any
    ) -> MemoryStore:
        """Open a pool on ``dsn`` and check (or, with ``migrate=True``, apply) the schema.

        Options are pool options, and ``search_config``, ``max_results``,
        ``max_indexed_bytes`` and ``telemetry``.

        Raises:
            TypeError: an unknown option.
            InvalidArgumentError: a bad DSN or option value.
            SchemaOutdatedError: migrations are pending and ``migrate`` is False.
            StorageError: the server cannot be reached.
        """
        own = {k: options.pop(k) for k in _OWN_OPTIONS if k in options}
        check_telemetry(own.get("telemetry"))  # before a pool is opened
        pool, acquire_timeout, schema = await open_pool(dsn, migrate_schema=migrate, **options)
        try:
            return cls(pool, acquire_timeout=acquire_timeout, schema=schema, _owns_pool=True, **own)
        except BaseException:
            await pool.close()
            raise

    async def close(self) -> None:
        """Close the pool if the store created it; a pool passed in is left open."""
        if self._owns_pool:
            await self.pool.close()

    async def __aenter__(self) -> MemoryStore:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def _fetch(
        self, operation: str, action: str, sql: str, app_name: str, user_id: str, *args: Any
    ) -> list[asyncpg.Record]:
        """Run one statement as one reported call (``operation`` on adk.memories)."""
        call = self._db.call(operation, "memories", app_name=app_name, user_id=user_id)
        async with call:
            with translate_errors(action):
                try:
                    return await call.fetch(sql, app_name, user_id, *args)
                except asyncpg.UndefinedObjectError as exc:  # the only object named by a value
                    raise InvalidArgumentError(
                        f"text search configuration {self.search_config!r} does not exist"
                    ) from exc

    async def add(
        self,
        *,
        app_name: str,
        user_id: str,
        memories: Sequence[NewMemory],
        revive: bool = False,
    ) -> int:
        """Add memories, or refresh those stored (by id); return how many were written.

        One statement for the whole batch. A memory whose id is stored with the same
        content is left alone; a deleted one stays deleted, unless ``revive`` (an explicit
        add of that id, not a session added again). If ids repeat in the batch, the last one
        counts.

        Raises:
            InvalidArgumentError: a bad id, a memory that is not a NewMemory, or text or
                metadata PostgreSQL cannot store; nothing is written.
            StorageError: the database failed; nothing was written.
        """
        app_name = values.require_id(app_name, "app_name")
        user_id = values.require_id(user_id, "user_id")
        if isinstance(memories, (str, bytes)) or not isinstance(memories, Sequence):
            raise InvalidArgumentError("memories must be a sequence of NewMemory")
        if not isinstance(revive, bool):
            raise InvalidArgumentError("revive must be a bool")
        docs: dict[str, dict[str, Any]] = {}
        for memory in memories:
            if not isinstance(memory, NewMemory):
                raise InvalidArgumentError(
                    f"memories must be NewMemory objects, not {type(memory).__name__}"
                )
            docs[memory.id] = self._document(memory)
        if not docs:
            return 0
        batch = list(docs.values())
        text = values.dump_json(
            lambda **kw: pydantic_core.to_json(batch, inf_nan_mode="null", **kw), "memory", batch
        )
        rows = await self._fetch(
            "add_memories",
            f"add memories of user {user_id!r}",
            self._queries.add_memories.sql,
            app_name,
            user_id,
            self.search_config,
            text,
            revive,
        )
        written: int = rows[0]["written"]
        return written

    def _document(self, memory: NewMemory) -> dict[str, Any]:
        """One memory as the add statement reads it: checked, its words cut."""
        values.require_id(memory.id, "memory id")
        for name in ("session_id", "event_id"):
            given = getattr(memory, name)
            if given is not None:
                values.require_id(given, name)
        if memory.event_time is not None:
            values.epoch_seconds(memory.event_time, f"memory {memory.id!r}: event_time")
        words = search_words(memory_text(memory.content))
        indexed = truncate_utf8(" ".join(words), self.max_indexed_bytes)
        return {
            "id": memory.id,
            "session_id": memory.session_id,
            "event_id": memory.event_id,
            "author": memory.author,
            "event_time": memory.event_time,
            "time_text": memory.time_text,
            "content": memory.content.model_dump(mode="json", exclude_none=True),
            "custom_metadata": memory.custom_metadata,
            "search_text": indexed,
            "codes": index_codes(indexed.split()),
        }

    async def search(
        self, *, app_name: str, user_id: str, query: str, max_results: int | None = None
    ) -> list[Memory]:
        """The user's memories matching ``query``, best first (at most ``max_results``).

        Words match if any is present, ranked so that memories holding more of them come
        first; ``"a phrase"`` must be present; ``-word`` must not; when phrases or exclusions
        leave nothing, the query is read as plain words (as ADK's services read it). Matching
        folds case by Unicode rules and, through the configuration, word endings. An empty
        query, or one without a word, finds nothing. The first 64 words count.

        Raises:
            InvalidArgumentError: a bad id, query or limit, or an unknown configuration.
            StorageError: the database failed.
        """
        app_name = values.require_id(app_name, "app_name")
        user_id = values.require_id(user_id, "user_id")
        if not isinstance(query, str):
            raise InvalidArgumentError(f"query must be a string, not {type(query).__name__}")
        values.unicode_text(query, "query")
        if "\x00" in query:
            raise InvalidArgumentError("query holds a NUL character")
        limit = self.max_results if max_results is None else max_results
        limit = _bounded(limit, "max_results", 1, 1000)
        parsed = parse_query(query)
        if parsed.is_empty:
            return []
        rows = await self._fetch(
            "search_memories",
            f"search memories of user {user_id!r}",
            self._queries.search_memories.sql,
            app_name,
            user_id,
            self.search_config,
            [t.text for t in parsed.words],
            [t.codes for t in parsed.words],
            [t.text for t in parsed.phrases],
            [t.codes for t in parsed.phrases],
            [t.text for t in parsed.excluded],
            [t.codes for t in parsed.excluded],
            limit,
            [] if parsed.is_plain else [t.text for t in parsed.loose],
            [] if parsed.is_plain else [t.codes for t in parsed.loose],
        )
        return [_memory(row) for row in rows]

    async def recent(self, *, app_name: str, user_id: str, limit: int = 100) -> list[Memory]:
        """The user's memories, newest first (at most ``limit``); deleted ones left out.

        Raises:
            InvalidArgumentError: a bad id or limit.
            StorageError: the database failed.
        """
        app_name = values.require_id(app_name, "app_name")
        user_id = values.require_id(user_id, "user_id")
        limit = _bounded(limit, "limit", 1, 10_000)
        rows = await self._fetch(
            "list_memories",
            f"list memories of user {user_id!r}",
            self._queries.list_memories.sql,
            app_name,
            user_id,
            limit,
        )
        return [_memory(row) for row in rows]

    async def delete(self, *, app_name: str, user_id: str, memory_id: str) -> bool:
        """Delete one memory; return whether there was one. Its session added again does
        not bring it back.

        Raises:
            InvalidArgumentError: a bad id.
            StorageError: the database failed.
        """
        app_name = values.require_id(app_name, "app_name")
        user_id = values.require_id(user_id, "user_id")
        memory_id = values.require_id(memory_id, "memory_id")
        rows = await self._fetch(
            "delete_memory",
            f"delete memory {memory_id!r}",
            self._queries.delete_memory.sql,
            app_name,
            user_id,
            memory_id,
        )
        return bool(rows)

    async def delete_user(self, *, app_name: str, user_id: str) -> int:
        """Forget a user: delete every memory of theirs in the app; return how many rows went.

        Raises:
            InvalidArgumentError: a bad id.
            StorageError: the database failed.
        """
        app_name = values.require_id(app_name, "app_name")
        user_id = values.require_id(user_id, "user_id")
        rows = await self._fetch(
            "delete_user_memories",
            f"delete the memories of user {user_id!r}",
            self._queries.delete_user_memories.sql,
            app_name,
            user_id,
        )
        deleted: int = rows[0]["deleted"]
        return deleted


def _memory(row: asyncpg.Record) -> Memory:
    return Memory(
        id=row["id"],
        content=types.Content.model_validate_json(row["content"]),
        author=row["author"],
        event_time=row["event_time"],
        time_text=row["time_text"],
        session_id=row["session_id"],
        event_id=row["event_id"],
        custom_metadata=pydantic_core.from_json(row["custom_metadata"]),
    )


def _bounded(value: object, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidArgumentError(f"{name} must be an int from {low} to {high}")
    return value
