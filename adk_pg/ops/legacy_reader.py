"""Reading the tables of ADK's ``DatabaseSessionService``, inside one read-only snapshot.

The SQL lives in ``sql/legacy/`` (:data:`adk_pg.ops.queries.LEGACY_QUERIES`), naming ADK's
tables unqualified: the reader's connection sets ``search_path`` to ``--schema``. Rows come
back as stored;
:mod:`adk_pg.ops.legacy_convert` turns them into documents.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from adk_pg.db.pool import create_pool
from adk_pg.errors import LegacyDataError, translate_errors
from adk_pg.ops.queries import LEGACY_QUERIES
from adk_pg.schema.admin import quote_ident

__all__ = ["LegacyReader"]

# Sessions per read: their events come back in one more statement.
PAGE_SIZE = 200
_TABLES = ("sessions", "events", "app_states", "user_states")


class LegacyReader:
    """Reads ADK's session tables of one schema, inside one read-only snapshot."""

    def __init__(
        self, conn: asyncpg.Connection | PoolConnectionProxy, schema: str, version: str
    ) -> None:
        self._conn = conn
        self.schema = schema
        self.version = version

    @classmethod
    @asynccontextmanager
    async def open(cls, dsn: str, schema: str) -> AsyncIterator[LegacyReader]:
        """Connect to ``dsn``, start a snapshot and detect the schema version of ``schema``.

        Raises:
            InvalidArgumentError: a bad DSN or schema name.
            LegacyDataError: no ADK tables in that schema, or an unknown schema version.
            StorageError: the database cannot be reached or read.
        """
        # Resolves ADK's unqualified table names in sql/legacy/ to the chosen schema only.
        search_path = quote_ident(schema)
        pool = await create_pool(
            dsn, min_size=1, max_size=1, server_settings={"search_path": search_path}
        )
        try:
            async with pool.acquire() as conn:
                with translate_errors("read the ADK tables"):
                    transaction = conn.transaction(isolation="repeatable_read", readonly=True)
                    await transaction.start()
                try:
                    version = await cls._detect(conn, schema)
                    yield cls(conn, schema, version)
                finally:
                    with translate_errors("end the snapshot"):
                        await transaction.rollback()
        finally:
            await pool.close()

    @staticmethod
    async def _detect(conn: asyncpg.Connection | PoolConnectionProxy, schema: str) -> str:
        """ADK's own rule: the metadata row, else v0 when events has actions and no event_data.

        Raises:
            LegacyDataError: tables missing or an unknown version.
            StorageError: the database failed.
        """
        with translate_errors("inspect the ADK tables"):
            rows = await conn.fetch(LEGACY_QUERIES.legacy_tables.sql, schema)
        tables = {r["table_name"]: set(r["columns"]) for r in rows}
        # adk-pg's own tables have the same names; its sessions have a revision, ADK's never.
        if "revision" in tables.get("sessions", set()):
            raise LegacyDataError(
                f"schema {schema!r} holds adk-pg's own tables, not those of ADK's "
                "DatabaseSessionService: pass --schema with the schema ADK wrote (default "
                "public), and --from with its database"
            )
        if missing := [t for t in _TABLES if t not in tables]:
            raise LegacyDataError(
                f"schema {schema!r} has no ADK session tables (missing: {', '.join(missing)}); "
                "pass --schema, or check --from"
            )
        if "adk_internal_metadata" in tables:
            with translate_errors("read adk_internal_metadata"):
                version = await conn.fetchval(LEGACY_QUERIES.legacy_schema_version.sql)
            if version not in ("0", "1"):
                raise LegacyDataError(
                    f"adk_internal_metadata says schema_version {version!r}; this adk-pg "
                    "reads ADK's versions 0 and 1"
                )
            return str(version)
        if "actions" in tables["events"] and "event_data" not in tables["events"]:
            return "0"
        if "event_data" in tables["events"]:
            return "1"
        raise LegacyDataError(f"{schema}.events has neither event_data (v1) nor actions (v0)")

    async def count(self) -> tuple[int, int]:
        """The number of sessions and events in the ADK tables.

        Raises:
            StorageError: the database failed.
        """
        with translate_errors("count the ADK sessions"):
            row = await self._conn.fetchrow(LEGACY_QUERIES.legacy_count.sql)
        assert row is not None  # no FROM at the top: always one row
        return int(row["sessions"]), int(row["events"])

    async def sessions(self) -> AsyncIterator[tuple[asyncpg.Record, list[asyncpg.Record]]]:
        """Every session row with its event rows (oldest first), in (app, user, id) order.

        Raises:
            StorageError: the database failed.
        """
        after = ("", "", "")
        events_query = (
            LEGACY_QUERIES.legacy_v1_events
            if self.version == "1"
            else LEGACY_QUERIES.legacy_v0_events
        )
        while True:
            with translate_errors("read ADK sessions"):
                sessions = await self._conn.fetch(
                    LEGACY_QUERIES.legacy_sessions.sql, *after, PAGE_SIZE
                )
                events = await self._conn.fetch(
                    events_query.sql,
                    [s["app_name"] for s in sessions],
                    [s["user_id"] for s in sessions],
                    [s["id"] for s in sessions],
                )
            by_session: dict[tuple[str, str, str], list[asyncpg.Record]] = {}
            for event in events:
                owner = (event["app_name"], event["user_id"], event["session_id"])
                by_session.setdefault(owner, []).append(event)
            for session in sessions:
                owner = (session["app_name"], session["user_id"], session["id"])
                yield session, by_session.get(owner, [])
            if len(sessions) < PAGE_SIZE:
                return
            last = sessions[-1]
            after = (last["app_name"], last["user_id"], last["id"])

    async def state_rows(self) -> AsyncIterator[tuple[str, asyncpg.Record]]:
        """Every app state row, then every user state row, each with its kind.

        The kind is ``"app_state"`` or ``"user_state"``, as in an export document.

        Raises:
            StorageError: the database failed.
        """
        with translate_errors("read ADK app and user states"):
            async for row in self._conn.cursor(LEGACY_QUERIES.legacy_app_states.sql):
                yield "app_state", row
            async for row in self._conn.cursor(LEGACY_QUERIES.legacy_user_states.sql):
                yield "user_state", row
