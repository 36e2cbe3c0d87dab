"""``adk-pg import-adk``: copy the tables of ADK's ``DatabaseSessionService`` into adk-pg.

Both of ADK's PostgreSQL layouts are read:

* **v1** (ADK >= 1.22; ``adk_internal_metadata.schema_version = '1'``): each event is the
  JSONB ``event_data``; the ``id`` and ``invocation_id`` columns win over it, as in ADK's reader,
  and the exact float epoch in ``event_data.timestamp`` wins over the microsecond column.
  The event JSON is carried over as it is, so fields adk-pg does not know survive.
* **v0** (ADK 1.19-1.21; no metadata table, ``events.actions`` pickled): one column per field;
  ``actions`` goes through :mod:`adk_pg.legacy_pickle`, which refuses anything that is not
  ADK action data (the error names the row) and never runs code. Each row becomes an ADK
  ``Event`` exactly as ADK's own v0 reader builds it, then its v1 JSON.

ADK writes naive UTC timestamps; they are read as UTC, never as local time, so no timestamp
changes. A session's revision becomes its number of events (what adk-pg's appends count).
The source is read in one REPEATABLE READ read-only snapshot and may be the same database
(``public`` next to ``adk``) or another one; it is never written. Each session is written
with the same statement as ``adk-pg import``: atomically, and skipped if it already exists.

The SQL lives in ``sql/legacy/`` with its own registry: those statements name ADK's tables
unqualified (the reader's connection sets ``search_path`` to ``--schema``), so they cannot be
prepared against adk-pg's own schema as the files of ``sql/`` are. This module imports
``google.adk`` (the ``adk`` extra).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import asyncpg
import pydantic
from asyncpg.pool import PoolConnectionProxy
from google.adk.events.event import Event
from google.adk.events.event_actions import EventActions
from google.adk.sessions.schemas.v0 import StorageEvent

from adk_pg import legacy_pickle
from adk_pg.errors import AdkPgError, translate_errors
from adk_pg.migrate import quote_ident
from adk_pg.ops import OpsRepository
from adk_pg.paths import resource_dir
from adk_pg.pool import create_pool
from adk_pg.queries import Query, load_queries
from adk_pg.transfer import (
    ImportReport,
    NoProgress,
    Progress,
    check_session_doc,
    import_session_doc,
    session_line,
)

__all__ = [
    "LEGACY_QUERIES",
    "AdkImportReport",
    "LegacyDataError",
    "LegacyQueries",
    "LegacyReader",
    "SessionKey",
    "import_adk",
    "v0_event_doc",
    "v1_event_doc",
]

# Sessions per read: their events come back in one more statement.
PAGE_SIZE = 200
_TABLES = ("sessions", "events", "app_states", "user_states")


class LegacyDataError(AdkPgError):
    """The ADK tables are missing, of an unknown version, or hold a row we refuse to load."""


@dataclass(frozen=True)
class LegacyQueries:
    """The registry of ``sql/legacy/``: one attribute per file."""

    legacy_app_states: Query
    legacy_count: Query
    legacy_schema_version: Query
    legacy_sessions: Query
    legacy_tables: Query
    legacy_user_states: Query
    legacy_v0_events: Query
    legacy_v1_events: Query


LEGACY_QUERIES = load_queries(resource_dir("sql") / "legacy", registry=LegacyQueries)


@dataclass(frozen=True)
class SessionKey:
    """Names a session (and an event, when there is one) in error messages."""

    app_name: str
    user_id: str
    session_id: str

    def describe(self, event_id: str | None = None) -> str:
        """``app 'a' user 'u' session 's' [event 'e']``."""
        text = f"app {self.app_name!r} user {self.user_id!r} session {self.session_id!r}"
        return text if event_id is None else f"{text} event {event_id!r}"


def _as_utc(naive: datetime) -> datetime:
    # ADK writes naive UTC; an aware value (a hand-made timestamptz column) is converted.
    if naive.tzinfo is None:
        return naive.replace(tzinfo=timezone.utc)
    return naive.astimezone(timezone.utc)


def _epoch(value: datetime) -> float:
    """ADK's ``utc_datetime_to_timestamp``: naive means UTC, never local time."""
    return _as_utc(value).timestamp()


def _iso(value: datetime) -> str:
    return _as_utc(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def v1_event_doc(row: asyncpg.Record | dict[str, Any], key: SessionKey) -> dict[str, Any]:
    """The Event JSON of a v1 row: ``event_data`` with the columns' id and invocation id.

    Raises:
        LegacyDataError: the row is not a valid ADK event (the message names it).
    """
    data = row["event_data"]
    if data is None:
        data = {}  # ADK reads a NULL event_data as {}
    if not isinstance(data, dict):
        raise LegacyDataError(f"{key.describe(row['id'])}: event_data is not a JSON object")
    doc = {**data, "id": row["id"], "invocation_id": row["invocation_id"]}
    # The payload keeps ADK's exact float epoch; the column is rounded to the microsecond.
    if doc.get("timestamp") is None:
        doc["timestamp"] = _epoch(row["timestamp"])
    try:
        Event.model_validate(doc)
    except pydantic.ValidationError as exc:
        raise LegacyDataError(
            f"{key.describe(row['id'])}: event_data is not a valid ADK event "
            f"({exc.error_count()} errors, first: {exc.errors()[0]['msg']})"
        ) from None
    return doc


def v0_event_doc(row: asyncpg.Record | dict[str, Any], key: SessionKey) -> dict[str, Any]:
    """The Event JSON of a v0 row, built as ADK's v0 reader builds its Event.

    Raises:
        LegacyDataError: the pickled actions are refused or broken, or the row is not a
            valid event (the message names it). Nothing in the pickle is ever called.
    """
    where = key.describe(row["id"])
    actions: Any = None
    if row["actions"] is not None:
        try:
            actions = legacy_pickle.loads(row["actions"])
        except legacy_pickle.LegacyPickleError as exc:
            raise LegacyDataError(f"{where}: events.actions: {exc}") from None
    if actions is not None and not isinstance(actions, EventActions):
        raise LegacyDataError(
            f"{where}: events.actions holds a {type(actions).__name__}, not EventActions"
        )
    columns = {name: row[name] for name in _V0_COLUMNS}
    try:
        # ADK's own row -> Event conversion (a transient ORM object, never added to a
        # session), so the result is field for field what DatabaseSessionService returns.
        event = StorageEvent(**columns, actions=actions).to_event()
        return event.model_dump(exclude_none=True, mode="json")
    except (pydantic.ValidationError, ValueError, TypeError) as exc:
        raise LegacyDataError(f"{where}: not a valid ADK event ({type(exc).__name__})") from None


_V0_COLUMNS = (
    "id",
    "app_name",
    "user_id",
    "session_id",
    "invocation_id",
    "author",
    "long_running_tool_ids_json",
    "branch",
    "timestamp",
    "content",
    "grounding_metadata",
    "custom_metadata",
    "usage_metadata",
    "citation_metadata",
    "partial",
    "turn_complete",
    "error_code",
    "error_message",
    "interrupted",
    "input_transcription",
    "output_transcription",
)


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

    async def session_docs(self) -> AsyncIterator[tuple[dict[str, Any], SessionKey]]:
        """Every session as an export session document, in (app, user, id) order.

        Raises:
            LegacyDataError: a row is refused (named in the message).
            StorageError: the database failed.
        """
        after = ("", "", "")
        events_query = (
            LEGACY_QUERIES.legacy_v1_events
            if self.version == "1"
            else LEGACY_QUERIES.legacy_v0_events
        )
        to_doc = v1_event_doc if self.version == "1" else v0_event_doc
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
                key = SessionKey(session["app_name"], session["user_id"], session["id"])
                rows = by_session.get((key.app_name, key.user_id, key.session_id), [])
                yield _session_doc(session, [to_doc(r, key) for r in rows], key), key
            if len(sessions) < PAGE_SIZE:
                return
            last = sessions[-1]
            after = (last["app_name"], last["user_id"], last["id"])

    async def state_docs(self) -> AsyncIterator[dict[str, Any]]:
        """Every app state, then every user state, as export state documents.

        Raises:
            LegacyDataError: a state is not a JSON object.
            StorageError: the database failed.
        """
        with translate_errors("read ADK app and user states"):
            async for row in self._conn.cursor(LEGACY_QUERIES.legacy_app_states.sql):
                yield _state_doc("app_state", row)
            async for row in self._conn.cursor(LEGACY_QUERIES.legacy_user_states.sql):
                yield _state_doc("user_state", row)


def _state(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise LegacyDataError(f"{where}: state is not a JSON object")
    return value


def _session_doc(
    row: asyncpg.Record, events: list[dict[str, Any]], key: SessionKey
) -> dict[str, Any]:
    return {
        "type": "session",
        "app_name": key.app_name,
        "user_id": key.user_id,
        "id": key.session_id,
        "revision": len(events),
        "create_time": _iso(row["create_time"]),
        "update_time": _iso(row["update_time"]),
        "state": _state(row["state"], key.describe()),
        "events": events,
    }


def _state_doc(kind: str, row: asyncpg.Record) -> dict[str, Any]:
    doc = {"type": kind, "app_name": row["app_name"]}
    where = f"app_states row of app {row['app_name']!r}"
    if kind == "user_state":
        doc["user_id"] = row["user_id"]
        where = f"user_states row of app {row['app_name']!r} user {row['user_id']!r}"
    doc["state"] = _state(row["state"], where)
    doc["update_time"] = _iso(row["update_time"])
    return doc


@dataclass
class AdkImportReport(ImportReport):
    """An :class:`ImportReport` plus the ADK schema version that was read."""

    schema_version: str = ""


async def import_adk(
    ops: OpsRepository,
    source_dsn: str,
    *,
    schema: str = "public",
    progress: Progress | None = None,
) -> AdkImportReport:
    """Copy every ADK session, event, app state and user state of ``schema`` into adk-pg.

    Raises:
        InvalidArgumentError: a bad source DSN or schema name.
        LegacyDataError: the tables are missing or hold a refused row; sessions before it are
            imported, the refused one is not.
        StorageError: either database failed.
    """
    progress = progress or NoProgress()
    report = AdkImportReport()
    async with LegacyReader.open(source_dsn, schema) as reader:
        report.schema_version = reader.version
        sessions, _ = await reader.count()
        progress.start(sessions, "sessions")
        try:
            async for doc, key in reader.session_docs():
                where = key.describe()
                check_session_doc(doc, where)
                await import_session_doc(ops, session_line(doc, where), doc, where, report)
                progress.advance(1)
        finally:
            progress.finish()
        async for state in reader.state_docs():
            line = session_line(state, f"{state['type']} of app {state['app_name']!r}")
            if state["type"] == "app_state":
                imported = await ops.import_app_state(line)
                report.app_states_imported += imported
                report.app_states_skipped += not imported
            else:
                imported = await ops.import_user_state(line)
                report.user_states_imported += imported
                report.user_states_skipped += not imported
    return report
