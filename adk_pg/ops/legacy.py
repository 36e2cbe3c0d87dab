"""``adk-pg import-adk``: copy the tables of ADK's ``DatabaseSessionService`` into adk-pg.

Both of ADK's PostgreSQL layouts are read:

* **v1** (ADK >= 1.22; ``adk_internal_metadata.schema_version = '1'``): each event is the
  JSONB ``event_data``; the ``id`` and ``invocation_id`` columns win over it, as in ADK's reader,
  and the exact float epoch in ``event_data.timestamp`` wins over the microsecond column.
  The event JSON is carried over as it is, so fields adk-pg does not know survive.
* **v0** (ADK 1.19-1.21; no metadata table, ``events.actions`` pickled): one column per field.
  Each row becomes an ADK ``Event`` exactly as ADK's own v0 reader builds it, then its v1
  JSON, by the function passed as ``v0_event_doc`` (:func:`adk_pg.adk.legacy.v0_event_doc`,
  whose restricted unpickler refuses anything that is not ADK action data and never runs
  code). That needs google-adk; v1 does not, and neither does importing this module.

ADK writes naive UTC timestamps; they are read as UTC, never as local time, so no timestamp
changes. A session's revision becomes its number of events (what adk-pg's appends count).
The source is read in one REPEATABLE READ read-only snapshot (:mod:`adk_pg.ops.legacy_reader`) and
may be the same database (``public`` next to ``adk``) or another one; it is never written.
Rows become export documents (:mod:`adk_pg.ops.legacy_convert`), written as ``adk-pg import``
writes them: each session atomically, skipped if it exists, its id normalised (ADK keeps
``" s1 "`` and ``""`` as they are; see :mod:`adk_pg.ops.transfer` for the rules and for two ids
that normalise to one).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from adk_pg.errors import InvalidArgumentError, LegacyDataError
from adk_pg.ops.importer import EventCheck, Importer, read_as_the_store_does
from adk_pg.ops.legacy_convert import (
    Row,
    SessionKey,
    describe_state,
    session_doc,
    state_doc,
    v1_event_doc,
)
from adk_pg.ops.legacy_reader import LegacyReader
from adk_pg.ops.repository import OpsRepository
from adk_pg.ops.transfer import ImportReport, NoProgress, Progress

__all__ = ["AdkImportReport", "V0EventDoc", "V0Reader", "import_adk"]

V0EventDoc = Callable[[Row, str], dict[str, Any]]
"""Builds the Event JSON of a v0 ``events`` row; the string names the row in errors."""
V0Reader = Callable[[], V0EventDoc]
"""Returns a :data:`V0EventDoc`, or raises LegacyDataError saying what it lacks."""


@dataclass
class AdkImportReport(ImportReport):
    """An :class:`ImportReport` plus the ADK schema version that was read."""

    schema_version: str = ""


@contextmanager
def _refused() -> Iterator[None]:
    """A row adk-pg cannot store is a refused ADK row (exit code 3), not a usage error."""
    try:
        yield
    except InvalidArgumentError as exc:
        raise LegacyDataError(str(exc)) from None


async def import_adk(
    ops: OpsRepository,
    source_dsn: str,
    *,
    schema: str = "public",
    progress: Progress | None = None,
    event_checks: Sequence[EventCheck] = (read_as_the_store_does,),
    v0_reader: V0Reader | None = None,
) -> AdkImportReport:
    """Copy every ADK session, event, app state and user state of ``schema`` into adk-pg.

    ``v0_reader`` gives the function that reads v0 events (:func:`adk_pg.adk.legacy.v0_reader`);
    it is called only for v0 tables, before anything is written. Without it, v0 tables are
    refused.

    Raises:
        InvalidArgumentError: a bad source DSN or schema name.
        LegacyDataError: the tables are missing, hold a refused row, or hold two session ids
            that normalise to one; sessions before it are imported, the refused one is not.
            Also: v0 tables and no ``v0_reader``, or one that says what it lacks.
        StorageError: either database failed.
    """
    progress = progress or NoProgress()
    report = AdkImportReport()
    importer = Importer(ops, report, event_checks)
    async with LegacyReader.open(source_dsn, schema) as reader:
        report.schema_version = reader.version
        if reader.version == "1":
            to_event = v1_event_doc
        elif v0_reader is None:
            raise LegacyDataError(
                "these are ADK's v0 session tables (pickled actions); reading them needs "
                "google-adk, which is not installed: pip install 'adk-pg[adk]' 'google-adk[db]'"
            )
        else:
            v0 = v0_reader()

            def to_event(row: Row, key: SessionKey) -> dict[str, Any]:
                return v0(row, key.describe(row["id"]))

        sessions, _ = await reader.count()
        progress.start(sessions, "sessions")
        try:
            async for row, event_rows in reader.sessions():
                key = SessionKey(row["app_name"], row["user_id"], row["id"])
                doc = session_doc(row, [to_event(e, key) for e in event_rows], key)
                with _refused():
                    await importer.session(doc, key.describe())
                progress.advance(1)
        finally:
            progress.finish()
        async for kind, row in reader.state_rows():
            with _refused():
                await importer.state(state_doc(kind, row), describe_state(kind, row))
    return report
