"""``adk-pg prune``'s queries: what is older than a cutoff, and deleting it in short batches.

Sessions (their events, by cascade, and their session-scoped artifacts) or memories, each
batch one short transaction that walks the primary key in order, so a whole prune reads each
row once whatever the planner's statistics say. On tables distributed by Citus the listing
and the batches are the ``_citus`` variants of the statements (see their headers).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from adk_pg.db.layout import is_distributed
from adk_pg.db.queries import for_schema
from adk_pg.db.schema_name import DEFAULT_SCHEMA, check_schema
from adk_pg.errors import translate_errors
from adk_pg.ops.queries import QUERIES

__all__ = ["MemoryPruneBatch", "MemoryPrunePlan", "PruneBatch", "PrunePlan", "PruneRepository"]


@dataclass(frozen=True)
class PrunePlan:
    """What ``prune`` would delete: sessions not written since ``cutoff``, and their events."""

    cutoff: datetime
    sessions: int
    events: int
    artifacts: int


@dataclass(frozen=True)
class PruneBatch:
    """One prune batch: sessions and events deleted, and the key (user_id, id) to go on after.

    ``last`` is None when the batch found nothing: the app is done.
    """

    sessions: int
    events: int
    artifacts: int
    last: tuple[str, str] | None


@dataclass(frozen=True)
class MemoryPrunePlan:
    """What ``prune --memories`` would delete: memories not written since ``cutoff``."""

    cutoff: datetime
    memories: int


@dataclass(frozen=True)
class MemoryPruneBatch:
    """One memory prune batch: memories deleted, and the key (app, user, id) to go on after.

    ``last`` is None when the batch found nothing: the walk is done.
    """

    memories: int
    last: tuple[str, str, str] | None


class PruneRepository:
    """Retention deletes on the tables of ``schema``, on a pool the caller owns (and closes).

    Raises:
        InvalidArgumentError: a bad schema name.
    """

    def __init__(self, pool: asyncpg.Pool, *, schema: str = DEFAULT_SCHEMA) -> None:
        self._pool = pool
        self._schema = check_schema(schema)
        self._queries = for_schema(QUERIES, self._schema)

    async def _citus(self) -> bool:
        """Whether the tables are distributed by Citus (asked once per pool)."""
        with translate_errors("read the Citus layout"):
            return await is_distributed(self._pool, self._schema)

    async def _fetchrow(self, action: str, sql: str, *args: object) -> asyncpg.Record:
        with translate_errors(action):
            async with self._pool.acquire() as conn:
                row = await conn.fetchrow(sql, *args)
        assert row is not None  # every caller's query returns exactly one row
        return row

    async def plan_prune(self, *, older_than_seconds: float, app_name: str | None) -> PrunePlan:
        """The cutoff (server time minus the age) and how much is older than it.

        Raises:
            StorageError: the database failed.
        """
        row = await self._fetchrow(
            "plan the prune", self._queries.plan_prune.sql, older_than_seconds, app_name
        )
        return PrunePlan(
            cutoff=row["cutoff"],
            sessions=row["sessions"],
            events=row["events"],
            artifacts=row["artifacts"],
        )

    async def list_apps(self) -> list[str]:
        """Every app name that has sessions, in order.

        Raises:
            StorageError: the database failed.
        """
        citus = await self._citus()
        with translate_errors("list apps"):
            async with self._pool.acquire() as conn:
                query = self._queries.list_apps_citus if citus else self._queries.list_apps
                rows = await conn.fetch(query.sql)
        return [r["app_name"] for r in rows]

    async def prune_batch(
        self, *, app_name: str, cutoff: datetime, batch_size: int, after: tuple[str, str]
    ) -> PruneBatch:
        """Delete up to ``batch_size`` of the app's sessions not written since ``cutoff``.

        Sessions are taken in (user_id, id) order after ``after`` (``("", "")`` first); the
        next batch starts after this one's :attr:`PruneBatch.last`. Its own short transaction.

        Raises:
            StorageError: the database failed; this batch deleted nothing.
        """
        action = f"prune sessions of app {app_name!r}"
        q = self._queries
        query = q.prune_sessions_citus if await self._citus() else q.prune_sessions
        with translate_errors(action):
            async with self._pool.acquire() as conn, conn.transaction():
                await conn.execute(q.plan_key_walks.sql)
                row = await conn.fetchrow(query.sql, app_name, cutoff, batch_size, *after)
        assert row is not None  # no FROM at the top: always one row
        last = None if row["last_id"] is None else (row["last_user_id"], row["last_id"])
        return PruneBatch(
            sessions=int(row["sessions"]),
            events=int(row["events"]),
            artifacts=int(row["artifacts"]),
            last=last,
        )

    async def plan_prune_memories(
        self, *, older_than_seconds: float, app_name: str | None
    ) -> MemoryPrunePlan:
        """The cutoff (server time minus the age) and how many memories are older than it.

        Raises:
            StorageError: the database failed.
        """
        row = await self._fetchrow(
            "plan the memory prune",
            self._queries.plan_prune_memories.sql,
            older_than_seconds,
            app_name,
        )
        return MemoryPrunePlan(cutoff=row["cutoff"], memories=row["memories"])

    async def prune_memories_batch(
        self,
        *,
        app_name: str | None,
        cutoff: datetime,
        batch_size: int,
        after: tuple[str, str, str],
    ) -> MemoryPruneBatch:
        """Delete up to ``batch_size`` memories not written since ``cutoff``.

        Memories are taken in key order after ``after`` (``("", "", "")`` first); the next
        batch starts after this one's :attr:`MemoryPruneBatch.last`. Its own short transaction.

        Raises:
            StorageError: the database failed; this batch deleted nothing.
        """
        q = self._queries
        query = q.prune_memories_citus if await self._citus() else q.prune_memories
        with translate_errors("prune memories"):
            async with self._pool.acquire() as conn, conn.transaction():
                await conn.execute(q.plan_key_walks.sql)
                row = await conn.fetchrow(query.sql, app_name, cutoff, batch_size, *after)
        assert row is not None  # no FROM at the top: always one row
        last = (
            None
            if row["last_id"] is None
            else (row["last_app_name"], row["last_user_id"], row["last_id"])
        )
        return MemoryPruneBatch(memories=int(row["memories"]), last=last)
