"""``adk-pg export`` / ``import``: a lossless JSON Lines format for sessions, events and state.

The format (``adk-pg-export``, version 1). UTF-8, one JSON object per line, in this order:

1. A header::

     {"format": "adk-pg-export", "version": 1, "exported_at": "2025-01-31T12:00:00.000000Z",
      "schema_version": 2, "filters": {"app_name": null, "user_id": null},
      "sessions": 12, "events": 340}

2. One line per session, holding all its events, in (app_name, user_id, id) order::

     {"type": "session", "app_name": "a", "user_id": "u", "id": "s", "revision": 3,
      "create_time": "2025-01-30T09:00:00.123456Z", "update_time": "...Z",
      "state": {...session-scope keys, no prefix...},
      "events": [{...ADK Event JSON...}, ...]}

   ``revision`` is adk-pg's optimistic-concurrency counter. Times are UTC with microseconds
   (exactly what ``timestamptz`` holds). Each event is ADK's ``Event`` as JSON -- snake_case
   field names, null fields left out, bytes in base64 -- oldest first; its ``timestamp`` is the
   float epoch ADK gave, written as the shortest decimal that reads back to the same double, so
   it round-trips bit for bit. Unknown event fields (from a newer ADK) are kept.

3. App and user state (keys without their ``app:`` / ``user:`` prefix)::

     {"type": "app_state", "app_name": "a", "state": {...}, "update_time": "...Z"}
     {"type": "user_state", "app_name": "a", "user_id": "u", "state": {...}, "update_time": "...Z"}

4. A trailer, so a truncated file is detected::

     {"type": "end", "sessions": 12, "events": 340, "app_states": 1, "user_states": 5}

Importing is idempotent and never overwrites: a session whose key exists is skipped whole
(its events included), and so is an app or user state that exists. Each session is imported
atomically (one statement), so an interrupted import can simply be run again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import datetime, timezone
from typing import Any, Protocol, TextIO

import pydantic_core

from adk_pg import validate
from adk_pg.errors import InvalidArgumentError, StorageError
from adk_pg.ops import OpsRepository, Snapshot

__all__ = [
    "FORMAT",
    "VERSION",
    "ExportReport",
    "ImportReport",
    "NoProgress",
    "Progress",
    "TransferFormatError",
    "check_session_doc",
    "export_jsonl",
    "import_jsonl",
    "import_session_doc",
    "session_line",
]

FORMAT = "adk-pg-export"
VERSION = 1
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?(Z|[+-]\d\d:\d\d)")


class TransferFormatError(InvalidArgumentError):
    """The input is not a valid adk-pg export; the message names the line."""


class Progress(Protocol):
    """Where export and import report how far they are (a terminal progress bar, or nothing)."""

    def start(self, total: int | None, unit: str) -> None:
        """Begin: ``total`` units are expected (None: unknown)."""

    def advance(self, amount: int) -> None:
        """``amount`` more units are done."""

    def finish(self) -> None:
        """Done (also called after an error)."""


class NoProgress:
    """A Progress that shows nothing."""

    def start(self, total: int | None, unit: str) -> None:
        pass

    def advance(self, amount: int) -> None:
        pass

    def finish(self) -> None:
        pass


@dataclass
class ExportReport:
    """What an export wrote."""

    sessions: int = 0
    events: int = 0
    app_states: int = 0
    user_states: int = 0


@dataclass
class ImportReport:
    """What an import wrote, and what it left alone because it already existed."""

    sessions_imported: int = 0
    sessions_skipped: int = 0
    events_imported: int = 0
    app_states_imported: int = 0
    app_states_skipped: int = 0
    user_states_imported: int = 0
    user_states_skipped: int = 0

    def as_dict(self) -> dict[str, int]:
        """The counts by name, for ``--json``."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


async def export_jsonl(
    snapshot: Snapshot,
    out: TextIO,
    *,
    app_name: str | None,
    user_id: str | None,
    schema_version: int,
    progress: Progress | None = None,
) -> ExportReport:
    """Write every matching session, app state and user state to ``out`` as JSON Lines.

    Raises:
        StorageError: the database failed (``out`` then ends without its trailer).
    """
    progress = progress or NoProgress()
    sessions, events = await snapshot.count_export(app_name, user_id)
    header = {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": _utc_now(),
        "schema_version": schema_version,
        "filters": {"app_name": app_name, "user_id": user_id},
        "sessions": sessions,
        "events": events,
    }
    out.write(pydantic_core.to_json(header).decode() + "\n")
    report = ExportReport()
    progress.start(sessions, "sessions")
    try:
        async for session in snapshot.sessions(app_name, user_id):
            out.write(session.line + "\n")  # one-line JSON made by the server
            report.sessions += 1
            report.events += session.event_count
            progress.advance(1)
        async for line in snapshot.app_state_lines(app_name, user_id):
            out.write(line + "\n")
            report.app_states += 1
        async for line in snapshot.user_state_lines(app_name, user_id):
            out.write(line + "\n")
            report.user_states += 1
    finally:
        progress.finish()
    trailer = {"type": "end", **{f.name: getattr(report, f.name) for f in fields(report)}}
    out.write(pydantic_core.to_json(trailer).decode() + "\n")
    return report


def check_session_doc(doc: Any, where: str) -> None:
    """Check that ``doc`` is a session line the import statement can store.

    Raises:
        TransferFormatError: a missing or mistyped field, naming ``where``.
    """

    def fail(reason: str) -> TransferFormatError:
        return TransferFormatError(f"{where}: {reason}")

    _check_keys(doc, ("app_name", "user_id", "id"), where)
    revision = doc.get("revision")
    if isinstance(revision, bool) or not isinstance(revision, int) or revision < 0:
        raise fail("revision must be an integer >= 0")
    _check_times(doc, ("create_time", "update_time"), where)
    _check_state(doc, where)
    events = doc.get("events")
    if not isinstance(events, list):
        raise fail("events must be a list")
    for index, event in enumerate(events):
        if not isinstance(event, dict):
            raise fail(f"event #{index + 1} is not an object")
        try:
            validate.require_id(event.get("id"), "event id")
            timestamp = event.get("timestamp")
            validate.event_timestamp(timestamp)
        except InvalidArgumentError as exc:
            raise fail(f"event #{index + 1}: {exc}") from None
        if not isinstance(event.get("actions", {}), dict):
            raise fail(f"event {event['id']!r}: actions must be an object")


def _check_keys(doc: Any, keys: tuple[str, ...], where: str) -> None:
    if not isinstance(doc, dict):
        raise TransferFormatError(f"{where}: not a JSON object")
    for key in keys:
        try:
            validate.require_id(doc.get(key), key)
        except InvalidArgumentError as exc:
            raise TransferFormatError(f"{where}: {exc}") from None


def _check_times(doc: dict[str, Any], keys: tuple[str, ...], where: str) -> None:
    for key in keys:
        value = doc.get(key)
        if not isinstance(value, str) or not _TIME.fullmatch(value):
            raise TransferFormatError(
                f"{where}: {key} must be a time like 2025-01-31T12:00:00.000000Z"
            )


def _check_state(doc: dict[str, Any], where: str) -> None:
    if not isinstance(doc.get("state"), dict):
        raise TransferFormatError(f"{where}: state must be a JSON object")


def _describe(doc: dict[str, Any]) -> str:
    return f"session {doc['app_name']!r}/{doc['user_id']!r}/{doc['id']!r}"


async def import_session_doc(
    ops: OpsRepository, line: str, doc: dict[str, Any], where: str, report: ImportReport
) -> None:
    """Import one checked session line (the JSON text ``line`` of ``doc``) into ``report``.

    Raises:
        StorageError: the database refused or failed; the message names ``where``.
    """
    try:
        imported, events = await ops.import_session(line)
    except StorageError as exc:
        raise StorageError(
            f"{where} ({_describe(doc)}): {exc}", sqlstate=exc.sqlstate, retryable=exc.retryable
        ) from exc
    if imported:
        report.sessions_imported += 1
        report.events_imported += events
    else:
        report.sessions_skipped += 1


async def _import_state(
    ops: OpsRepository, kind: str, line: str, doc: dict[str, Any], where: str
) -> bool:
    keys = ("app_name",) if kind == "app_state" else ("app_name", "user_id")
    _check_keys(doc, keys, where)
    _check_times(doc, ("update_time",), where)
    _check_state(doc, where)
    try:
        if kind == "app_state":
            return await ops.import_app_state(line)
        return await ops.import_user_state(line)
    except StorageError as exc:
        raise StorageError(
            f"{where} ({kind}): {exc}", sqlstate=exc.sqlstate, retryable=exc.retryable
        ) from exc


def _parse(line: str, where: str) -> dict[str, Any]:
    try:
        doc = pydantic_core.from_json(line)
    except ValueError as exc:
        raise TransferFormatError(f"{where}: not valid JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise TransferFormatError(f"{where}: not a JSON object")
    return doc


def _check_header(doc: dict[str, Any], where: str) -> None:
    if doc.get("format") != FORMAT:
        raise TransferFormatError(
            f"{where}: not an adk-pg export (expected a header with format {FORMAT!r})"
        )
    version = doc.get("version")
    if version != VERSION:
        raise TransferFormatError(
            f"{where}: export format version {version!r} is not supported (this adk-pg reads "
            f"version {VERSION})"
        )


async def import_jsonl(
    ops: OpsRepository,
    lines: Iterable[str],
    *,
    total_bytes: int | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import an export, line by line; see the module docstring for what is skipped.

    Raises:
        TransferFormatError: a malformed line, a missing header or trailer, or counts that
            disagree with the trailer (lines before it are already imported).
        StorageError: the database refused a line or failed.
    """
    progress = progress or NoProgress()
    report = ImportReport()
    seen = ExportReport()
    trailer: dict[str, Any] | None = None
    header_seen = False
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
            doc = _parse(line, where)
            if not header_seen:
                _check_header(doc, where)
                header_seen = True
                continue
            if trailer is not None:
                raise TransferFormatError(f"{where}: data after the end line")
            kind = doc.get("type")
            if kind == "session":
                check_session_doc(doc, where)
                await import_session_doc(ops, line, doc, where, report)
                seen.sessions += 1
                seen.events += len(doc["events"])
            elif kind == "app_state":
                imported = await _import_state(ops, "app_state", line, doc, where)
                report.app_states_imported += imported
                report.app_states_skipped += not imported
                seen.app_states += 1
            elif kind == "user_state":
                imported = await _import_state(ops, "user_state", line, doc, where)
                report.user_states_imported += imported
                report.user_states_skipped += not imported
                seen.user_states += 1
            elif kind == "end":
                trailer = doc
            else:
                raise TransferFormatError(f"{where}: unknown line type {kind!r}")
    finally:
        progress.finish()
    if not header_seen:
        raise TransferFormatError("the input is empty (expected an adk-pg export)")
    if trailer is None:
        raise TransferFormatError(
            f"the input ends at line {number} without its end line: it is truncated "
            "(what came before was imported; import the complete file again)"
        )
    for field in fields(seen):
        expected = trailer.get(field.name)
        if expected != getattr(seen, field.name):
            raise TransferFormatError(
                f"the end line counts {expected!r} {field.name} but the file holds "
                f"{getattr(seen, field.name)}"
            )
    return report


def session_line(doc: dict[str, Any], where: str) -> str:
    """Serialise a session document built in Python (by ``import-adk``) to a session line.

    Raises:
        InvalidArgumentError: it holds text jsonb cannot store (a NUL, a lone surrogate).
    """
    return validate.json_text(doc, where)
