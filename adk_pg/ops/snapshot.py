"""The export's reads: sessions, state, memories and artifacts as export lines, in one
read-only snapshot.

:meth:`adk_pg.ops.repository.OpsRepository.snapshot` opens the REPEATABLE READ transaction on
one connection; every read of an export goes through the :class:`Snapshot` it yields, so the
file is a consistent picture of the database even while agents write.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal

import asyncpg
import pydantic_core
from asyncpg.pool import PoolConnectionProxy

from adk_pg.artifacts.transfer import ArtifactTransfer
from adk_pg.db.queries import for_schema
from adk_pg.db.schema_name import DEFAULT_SCHEMA
from adk_pg.errors import translate_errors
from adk_pg.ops.queries import QUERIES

__all__ = ["EXPORT_PAGE_SIZE", "ExportedSession", "Snapshot"]

# Export pages: small enough that a page of long sessions stays a few MB in memory.
EXPORT_PAGE_SIZE = 100
# Rows fetched per round trip when streaming app and user states through a cursor.
_CURSOR_PREFETCH = 500


@dataclass(frozen=True)
class ExportedSession:
    """One session as an export line (JSON text, no newline) and its number of events."""

    app_name: str
    user_id: str
    id: str
    event_count: int
    line: str


class Snapshot:
    """Reads for an export, all on one connection inside one read-only snapshot."""

    def __init__(
        self, conn: asyncpg.Connection | PoolConnectionProxy, schema: str = DEFAULT_SCHEMA
    ) -> None:
        self._conn = conn
        self._schema = schema
        self._queries = for_schema(QUERIES, schema)

    async def count_export(self, app_name: str | None, user_id: str | None) -> tuple[int, int]:
        """How many sessions and events an export with these filters writes.

        Raises:
            StorageError: the database failed.
        """
        with translate_errors("count the sessions to export"):
            row = await self._conn.fetchrow(self._queries.count_export.sql, app_name, user_id)
        assert row is not None  # no FROM at the top: always one row
        return int(row["sessions"]), int(row["events"])

    async def sessions(
        self, app_name: str | None, user_id: str | None, page_size: int = EXPORT_PAGE_SIZE
    ) -> AsyncIterator[ExportedSession]:
        """Every matching session as an export line, in (app, user, id) order, page by page.

        Raises:
            StorageError: the database failed.
        """
        after = ("", "", "")
        while True:
            with translate_errors("export sessions"):
                rows = await self._conn.fetch(
                    self._queries.export_sessions.sql, app_name, user_id, *after, page_size
                )
            for row in rows:
                yield ExportedSession(
                    app_name=row["app_name"],
                    user_id=row["user_id"],
                    id=row["id"],
                    event_count=int(row["event_count"]),
                    line=row["line"],
                )
            if len(rows) < page_size:
                return
            last = rows[-1]
            after = (last["app_name"], last["user_id"], last["id"])

    async def state_lines(
        self, scope: Literal["app", "user"], app_name: str | None, user_id: str | None
    ) -> AsyncIterator[str]:
        """The matching app states (``scope="app"``) or user states as export lines.

        Raises:
            StorageError: the database failed.
        """
        query = (
            self._queries.export_app_states if scope == "app" else self._queries.export_user_states
        )
        async for line in self._stream(query.sql, app_name, user_id):
            yield line

    async def memory_lines(self, app_name: str | None, user_id: str | None) -> AsyncIterator[str]:
        """The matching memories, deleted ones included, as export lines.

        Raises:
            StorageError: the database failed.
        """
        async for line in self._stream(self._queries.export_memories.sql, app_name, user_id):
            yield line

    async def artifact_lines(self, app_name: str | None, user_id: str | None) -> AsyncIterator[str]:
        """Every matching artifact version as an export line (bytes in base64), page by page.

        Raises:
            StorageError: the database failed.
        """
        async for record in ArtifactTransfer(self._conn, self._schema).versions(app_name, user_id):
            yield pydantic_core.to_json(record).decode()

    async def _stream(self, sql: str, *args: Any) -> AsyncIterator[str]:
        with translate_errors("export states and memories"):
            # A server-side cursor: millions of user states never sit in memory at once.
            async for row in self._conn.cursor(sql, *args, prefetch=_CURSOR_PREFETCH):
                yield row["line"]
