"""Reading side of :mod:`adk_pg.ops.transfer`: check, normalise and store imported documents.

:class:`Importer` checks one session, state or memory document (:mod:`adk_pg.ops.import_checks`),
gives a session its normalised id (see the format's docstring for the rules) and writes it with
one statement.
:func:`import_jsonl` feeds it an export file line by line (``adk-pg import``);
:func:`adk_pg.ops.legacy.import_adk` feeds it the documents it builds from ADK's own tables.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import fields
from typing import Any

import pydantic_core
from pydantic import ValidationError

from adk_pg.db import values
from adk_pg.errors import InvalidArgumentError, StorageError
from adk_pg.memory.text import index_codes
from adk_pg.ops import import_checks as checks
from adk_pg.ops.repository import OpsRepository
from adk_pg.ops.session_ids import SessionIds
from adk_pg.ops.transfer import (
    ExportReport,
    ImportReport,
    NoProgress,
    Progress,
    TransferFormatError,
)
from adk_pg.sessions.models import EVENT_LIST

__all__ = ["EventCheck", "Importer", "import_jsonl", "read_as_the_store_does"]

EventCheck = Callable[[str], None]
"""Reads a JSON array of events as a store would; raises ``ValueError`` naming what it refuses."""


def read_as_the_store_does(events_json: str) -> None:
    """Read events with adk-pg's own Event model, as ``SessionStore.get_session`` reads them.

    Raises:
        ValueError: an event it cannot read (pydantic's ValidationError).
    """
    EVENT_LIST.validate_json(events_json)


class Importer:
    """Checks and writes the documents of one import run, counting them in ``report``.

    Every session's events are read first by each of ``event_checks`` (by default
    :func:`read_as_the_store_does`), as the services that will read them do: a session they
    refuse is not written, so an import never stores a session that cannot be read back.
    """

    def __init__(
        self,
        ops: OpsRepository,
        report: ImportReport,
        event_checks: Sequence[EventCheck] = (read_as_the_store_does,),
    ) -> None:
        self._ops = ops
        self.report = report
        self._ids = SessionIds(report.session_id_changes)
        self._event_checks = event_checks

    async def session(self, doc: Any, where: str, line: str | None = None) -> None:
        """Check one session document, normalise its id and write it with its events.

        ``line`` is the document's JSON text when it came as text; else it is serialised.

        Raises:
            TransferFormatError: a missing or mistyped field, naming ``where``.
            SessionIdConflictError: its id normalises to one another session took.
            InvalidArgumentError: it holds text jsonb cannot store (a NUL, a lone surrogate).
            StorageError: the database refused or failed; the message names ``where``.
        """
        checks.check_session_doc(doc, where)
        self._check_events(doc["events"], where)
        session_id = self._ids.claim(doc["app_name"], doc["user_id"], doc["id"], where)
        text = values.json_text(doc, where) if line is None else line
        name = f"session {doc['app_name']!r}/{doc['user_id']!r}/{session_id!r}"
        with _naming(where, name):
            imported, events = await self._ops.import_session(text, session_id)
        if imported:
            self.report.sessions_imported += 1
            self.report.events_imported += events
        else:
            self.report.sessions_skipped += 1

    async def state(self, doc: Any, where: str, line: str | None = None) -> None:
        """Check and write one ``app_state`` or ``user_state`` document (by its ``type``).

        Raises:
            TransferFormatError: a missing or mistyped field, naming ``where``.
            InvalidArgumentError: it holds text jsonb cannot store.
            StorageError: the database refused or failed; the message names ``where``.
        """
        kind = doc["type"]
        checks.check_keys(
            doc, ("app_name",) if kind == "app_state" else ("app_name", "user_id"), where
        )
        checks.check_times(doc, ("update_time",), where)
        checks.check_state(doc, where)
        text = values.json_text(doc, where) if line is None else line
        with _naming(where, kind):
            if kind == "app_state":
                imported = await self._ops.import_app_state(text)
                self.report.app_states_imported += imported
                self.report.app_states_skipped += not imported
            else:
                imported = await self._ops.import_user_state(text)
                self.report.user_states_imported += imported
                self.report.user_states_skipped += not imported

    async def memory(self, doc: Any, where: str, line: str) -> None:
        """Check and write one ``memory`` document; its search vector is built again.

        Raises:
            TransferFormatError: a missing or mistyped field, naming ``where``.
            StorageError: the database refused or failed (e.g. an unknown search
                configuration); the message names ``where``.
        """
        checks.check_memory_doc(doc, where)
        codes = index_codes((doc["search_text"] or "").split())
        with _naming(where, f"memory {doc['app_name']!r}/{doc['user_id']!r}/{doc['id']!r}"):
            try:
                imported = await self._ops.import_memory(line, codes)
            except StorageError as exc:
                if exc.sqlstate == "42704":  # undefined_object: the only one a value names
                    raise TransferFormatError(
                        f"{where}: text search configuration {doc['search_config']!r} does "
                        "not exist on this server"
                    ) from None
                raise
        self.report.memories_imported += imported
        self.report.memories_skipped += not imported

    async def artifact_version(self, doc: Any, where: str) -> None:
        """Check and write one ``artifact_version`` document (never over a stored version).

        Raises:
            TransferFormatError: a malformed record (ids, scope, base64, size, sha256),
                naming ``where``.
            StorageError: the database refused or failed; the message names ``where``.
        """
        name = f"artifact {doc.get('filename')!r} version {doc.get('version')!r}"
        with _naming(where, name):
            try:
                outcome = await self._ops.import_artifact_version(doc)
            except InvalidArgumentError as exc:
                raise TransferFormatError(f"{where}: {exc}") from None
        if outcome == "imported":
            self.report.artifact_versions_imported += 1
        elif outcome == "unchanged":
            self.report.artifact_versions_skipped += 1
        else:
            self.report.artifact_versions_conflicting += 1

    def _check_events(self, events: list[dict[str, Any]], where: str) -> None:
        """Read the events as the store will, one at a time to name the one refused.

        Raises:
            TransferFormatError: an event the store could not read back, naming ``where``,
                the event and the field (never its value).
        """
        for index, event in enumerate(events):
            text = "[" + pydantic_core.to_json(event).decode() + "]"
            for check in self._event_checks:
                try:
                    check(text)
                except ValidationError as exc:
                    problems = "; ".join(
                        f"{'.'.join(str(part) for part in error['loc'][1:]) or 'event'}: "
                        f"{error['msg']}"
                        for error in exc.errors(include_url=False, include_input=False)[:3]
                    )
                    raise TransferFormatError(
                        f"{where}: event #{index + 1} ({event.get('id')!r}) cannot be read "
                        f"back: {problems}"
                    ) from None


@contextmanager
def _naming(where: str, name: str) -> Iterator[None]:
    """Re-raise a StorageError with the line and the document named first."""
    try:
        yield
    except StorageError as exc:
        raise StorageError(
            f"{where} ({name}): {exc}", sqlstate=exc.sqlstate, retryable=exc.retryable
        ) from exc


async def import_jsonl(
    ops: OpsRepository,
    lines: Iterable[str],
    *,
    total_bytes: int | None = None,
    progress: Progress | None = None,
    event_checks: Sequence[EventCheck] = (read_as_the_store_does,),
) -> ImportReport:
    """Import an export, line by line; see :mod:`adk_pg.ops.transfer` for what is skipped.

    Raises:
        TransferFormatError: a malformed line, a missing header or trailer, or counts that
            disagree with the trailer (lines before it are already imported).
        SessionIdConflictError: two session ids normalise to one (lines before are imported).
        StorageError: the database refused a line or failed.
    """
    progress = progress or NoProgress()
    importer = Importer(ops, ImportReport(), event_checks)
    seen = ExportReport()
    trailer: dict[str, Any] | None = None
    header: dict[str, Any] | None = None
    number = 0
    progress.start(total_bytes, "bytes")
    try:
        for raw in lines:
            number += 1
            progress.advance(len(raw.encode()))
            line = raw.rstrip("\r\n")
            where = f"line {number}"
            if not line.strip():
                continue
            doc = checks.parse_line(line, where)
            if header is None:
                checks.check_header(doc, where)
                header = doc
                continue
            if trailer is not None:
                raise TransferFormatError(f"{where}: data after the end line")
            kind = doc.get("type")
            if kind == "session":
                await importer.session(doc, where, line)
                seen.sessions += 1
                seen.events += len(doc["events"])
            elif kind in ("app_state", "user_state"):
                await importer.state(doc, where, line)
                seen.app_states += kind == "app_state"
                seen.user_states += kind == "user_state"
            elif kind == "memory" and header["version"] >= 2:
                await importer.memory(doc, where, line)
                seen.memories += 1
            elif kind == "artifact_version" and header["version"] >= 2:
                await importer.artifact_version(doc, where)
                seen.artifact_versions += 1
            elif kind == "end":
                trailer = doc
            else:
                raise TransferFormatError(f"{where}: unknown line type {kind!r}")
    finally:
        progress.finish()
    if header is None:
        raise TransferFormatError("the input is empty (expected an adk-pg export)")
    if trailer is None:
        raise TransferFormatError(
            f"the input ends at line {number} without its end line: it is truncated "
            "(what came before was imported; import the complete file again)"
        )
    for field in fields(seen):
        # Version 1 has no memory or artifact lines, and its end line does not count them.
        added = field.name in ("memories", "artifact_versions")
        absent = 0 if added and header["version"] == 1 else None
        expected = trailer.get(field.name, absent)
        if expected != getattr(seen, field.name):
            raise TransferFormatError(
                f"the end line counts {expected!r} {field.name} but the file holds "
                f"{getattr(seen, field.name)}"
            )
    return importer.report
