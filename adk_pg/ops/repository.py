"""The operations repository: the queries behind status, sessions, export and import.

Its callers (the command line, :mod:`adk_pg.ops.transfer`, :mod:`adk_pg.ops.importer`) check the
arguments; each method runs one statement from ``sql/`` inside the error translator and maps
the row. An export reads through :meth:`OpsRepository.snapshot`, one REPEATABLE READ read-only
transaction, so the file is a consistent picture of the database even while agents write.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from adk_pg.artifacts.models import ImportOutcome
from adk_pg.artifacts.transfer import ArtifactTransfer
from adk_pg.artifacts.validate import MAX_ARTIFACT_BYTES_CEILING
from adk_pg.db.queries import for_schema
from adk_pg.db.schema_name import DEFAULT_SCHEMA, check_schema
from adk_pg.errors import translate_errors
from adk_pg.ops.queries import QUERIES
from adk_pg.ops.snapshot import Snapshot
from adk_pg.schema.citus import CitusLayout, layout

__all__ = [
    "OpsRepository",
    "SessionSummary",
    "StatusCounts",
]


@dataclass(frozen=True)
class StatusCounts:
    """Row counts and table sizes (bytes, with indexes and TOAST) of schema ``adk``; on Citus
    the sizes are over every node's shards, and ``citus`` is the cluster's layout."""

    sessions: int
    events: int
    users: int
    apps: int
    memories: int
    artifacts: int
    table_bytes: dict[str, int]
    citus: CitusLayout | None = None


@dataclass(frozen=True)
class SessionSummary:
    """One line of ``sessions list``: a session's keys, times and number of events."""

    app_name: str
    user_id: str
    id: str
    revision: int
    events: int
    create_time: datetime
    update_time: datetime


class OpsRepository:
    """Operator queries on the tables of ``schema``, on a pool the caller owns (and closes).

    Raises:
        InvalidArgumentError: a bad schema name.
    """

    def __init__(self, pool: asyncpg.Pool, *, schema: str = DEFAULT_SCHEMA) -> None:
        self._pool = pool
        self.schema = check_schema(schema)
        self._queries = for_schema(QUERIES, schema)

    @property
    def pool(self) -> asyncpg.Pool:
        """The asyncpg pool the repository runs on."""
        return self._pool

    async def _fetchrow(self, action: str, sql: str, *args: Any) -> asyncpg.Record:
        with translate_errors(action):
            async with self._pool.acquire() as conn:
                row = await conn.fetchrow(sql, *args)
        assert row is not None  # every caller's query returns exactly one row
        return row

    async def status(self) -> StatusCounts:
        """Counts of sessions, events, users, apps, memories and artifacts, and each table's size.

        Raises:
            SchemaOutdatedError: the adk tables do not exist.
            StorageError: the database failed.
        """
        row = await self._fetchrow("read the status", self._queries.get_status.sql)
        # Every *_bytes column, in the query's order: the table's name without the suffix.
        table_bytes = {
            key.removesuffix("_bytes"): int(value)
            for key, value in row.items()
            if key.endswith("_bytes")
        }
        # On a Citus coordinator the tables above are empty shells: the rows are in the shards.
        cluster = await layout(self._pool, schema=self.schema)
        if cluster is not None:
            table_bytes |= {t.name: t.total_bytes for t in cluster.tables}
        return StatusCounts(
            sessions=row["sessions"],
            events=row["events"],
            users=row["users"],
            apps=row["apps"],
            memories=row["memories"],
            artifacts=row["artifacts"],
            table_bytes=table_bytes,
            citus=cluster,
        )

    async def list_sessions(
        self, *, app_name: str | None, user_id: str | None, limit: int
    ) -> list[SessionSummary]:
        """The ``limit`` most recently updated sessions matching the filters.

        Raises:
            StorageError: the database failed.
        """
        with translate_errors("list sessions"):
            async with self._pool.acquire() as conn:
                rows = await conn.fetch(
                    self._queries.list_session_summaries.sql, app_name, user_id, limit
                )
        return [
            SessionSummary(
                app_name=r["app_name"],
                user_id=r["user_id"],
                id=r["id"],
                revision=r["revision"],
                events=r["events"],
                create_time=r["create_time"],
                update_time=r["update_time"],
            )
            for r in rows
        ]

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[Snapshot]:
        """A consistent read-only view for an export (REPEATABLE READ, one connection).

        Raises:
            StorageError: the database failed.
        """
        with translate_errors("open a snapshot"):
            conn = await self._pool.acquire()
        try:
            with translate_errors("open a snapshot"):
                transaction = conn.transaction(isolation="repeatable_read", readonly=True)
                await transaction.start()
                await conn.execute(self._queries.plan_key_walks.sql)
            try:
                yield Snapshot(conn, self.schema)
            finally:
                # Read-only: ending it either way writes nothing.
                with translate_errors("close the snapshot"):
                    await transaction.rollback()
        finally:
            await self._pool.release(conn)

    async def import_session(self, line: str, session_id: str) -> tuple[bool, int]:
        """Insert one session line with its events as ``session_id``, unless that exists.

        ``session_id`` replaces the line's own id (the caller normalises it). Returns
        (imported, events written). One statement: all of it or nothing.

        Raises:
            StorageError: the database refused the line (e.g. a NUL in text) or failed.
        """
        row = await self._fetchrow(
            "import a session", self._queries.import_session.sql, line, session_id
        )
        return bool(row["imported"]), int(row["events"])

    async def import_app_state(self, line: str) -> bool:
        """Insert one app-state line unless the app has state; return whether it did.

        Raises:
            StorageError: the database failed.
        """
        row = await self._fetchrow("import an app state", self._queries.import_app_state.sql, line)
        return bool(row["imported"])

    async def import_user_state(self, line: str) -> bool:
        """Insert one user-state line unless the user has state; return whether it did.

        Raises:
            StorageError: the database failed.
        """
        row = await self._fetchrow("import a user state", self._queries.import_user_state.sql, line)
        return bool(row["imported"])

    async def import_memory(self, line: str, codes: str) -> bool:
        """Insert one memory line unless the user has a memory with its id; return whether
        it did. ``codes`` are the hex codes of its words (``adk_pg.memory.text``).

        Raises:
            StorageError: the database failed.
        """
        row = await self._fetchrow("import a memory", self._queries.import_memory.sql, line, codes)
        return bool(row["imported"])

    async def import_artifact_version(self, record: Mapping[str, Any]) -> ImportOutcome:
        """Store one exported artifact version unless its number is taken (see
        :meth:`adk_pg.artifacts.transfer.ArtifactTransfer.import_version`).

        Raises:
            InvalidArgumentError: a malformed record; nothing was written.
            StorageError: the database failed.
        """
        async with self._pool.acquire() as conn:
            return await ArtifactTransfer(conn, self.schema).import_version(
                record, max_artifact_bytes=MAX_ARTIFACT_BYTES_CEILING
            )
