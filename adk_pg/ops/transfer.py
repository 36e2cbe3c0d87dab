"""``adk-pg export`` / ``import``: a lossless JSON Lines format for sessions, events, state and
memories.

The format (``adk-pg-export``, version 2; version 1 is version 2 without memory lines, and
imports as well). UTF-8, one JSON object per line, in this order:

1. A header::

     {"format": "adk-pg-export", "version": 2, "exported_at": "2025-01-31T12:00:00.000000Z",
      "schema_version": 2, "filters": {"app_name": null, "user_id": null},
      "sessions": 12, "events": 340}

2. One line per session, holding all its events, in (app_name, user_id, id) order::

     {"type": "session", "app_name": "a", "user_id": "u", "id": "s", "revision": 3,
      "create_time": "2025-01-30T09:00:00.123456Z", "update_time": "...Z",
      "state": {...session-scope keys, no prefix...},
      "initial_state": {...the session state it was created with, or null...},
      "events": [{...ADK Event JSON...}, ...]}

   ``revision`` is adk-pg's optimistic-concurrency counter; ``initial_state`` (version 2;
   null when unknown) lets a session be forked before its newest event. Times are UTC with
   microseconds (exactly what ``timestamptz`` holds). Each event is ADK's ``Event`` as JSON --
   snake_case field names, null fields left out, bytes in base64 -- oldest first; its
   ``timestamp`` is the float epoch ADK gave, written as the shortest decimal that reads back
   to the same double, so it round-trips bit for bit. Unknown event fields (from a newer ADK)
   are kept.

3. App and user state (keys without their ``app:`` / ``user:`` prefix)::

     {"type": "app_state", "app_name": "a", "state": {...}, "update_time": "...Z"}
     {"type": "user_state", "app_name": "a", "user_id": "u", "state": {...}, "update_time": "...Z"}

4. Memories (:class:`~adk_pg.memory.store.MemoryStore`), deleted ones included (content and
   text null, ``deleted_time`` set), so that a deletion survives the move::

     {"type": "memory", "app_name": "a", "user_id": "u", "id": "e1", "session_id": "s",
      "event_id": "e1", "author": "user", "event_time": 1738324800.5, "time_text": null,
      "content": {...google.genai Content JSON...}, "custom_metadata": {...},
      "search_config": "english", "search_text": "the words indexed",
      "create_time": "...Z", "update_time": "...Z", "deleted_time": null}

   The search vector is not in the file: an import builds it again from ``search_text``.

5. Artifact versions (:mod:`adk_pg.artifacts.transfer`: one line per version, its bytes in
   base64, with their size and sha256, checked on import)::

     {"type": "artifact_version", "app_name": "a", "user_id": "u", "session_id": "s",
      "filename": "chart.png", "version": 0, "kind": "bytes", "mime_type": "image/png", ...,
      "data": "<base64>"}

6. A trailer, so a truncated file is detected::

     {"type": "end", "sessions": 12, "events": 340, "app_states": 1, "user_states": 5,
      "memories": 40, "artifact_versions": 3}

Importing (:mod:`adk_pg.ops.importer`, also used by ``adk-pg import-adk``) is idempotent and
never overwrites: a session whose key exists is skipped whole (its events included), and so is
an app or user state that exists, a memory whose id the user has, and an artifact version
whose number is taken (if its bytes differ, the report counts it as a conflict). Each session is
imported atomically (one statement), so an
interrupted import can simply be run again.

Session ids are normalised on import as adk-pg normalises them everywhere (as ADK's
``InMemorySessionService`` does), so that every imported session can be read and deleted by
its id: surrounding whitespace is stripped (``" s1 "`` is stored as ``"s1"``), and a blank id
(``""``, which ADK's ``DatabaseSessionService`` stores as it is) gets a generated uuid. That
uuid is derived from the app, the user and the blank id (a uuid5), not drawn at random, so
importing the same source again finds the session and skips it. Events go with their session.
The report lists every id that changed (``session_id_changes``).

Two source sessions whose ids normalise to the same id (``"s1"`` and ``" s1 "`` of one user)
are never merged: the first one in the input is imported under that id, and the second stops
the import with an error naming both source ids (sessions before it are imported). Rename
the refused session in the source and import again: what was imported is skipped.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any, Protocol, TextIO

import pydantic_core

from adk_pg.errors import InvalidArgumentError
from adk_pg.ops.snapshot import Snapshot

__all__ = [
    "FORMAT",
    "READABLE_VERSIONS",
    "VERSION",
    "ExportReport",
    "ImportReport",
    "NoProgress",
    "Progress",
    "SessionIdChange",
    "TransferFormatError",
    "export_jsonl",
]

FORMAT = "adk-pg-export"
VERSION = 2
READABLE_VERSIONS = (1, 2)  # version 1: no memory or artifact lines


class TransferFormatError(InvalidArgumentError):
    """The input is not a valid adk-pg export; the message names the line."""


class Progress(Protocol):
    """Where export and import report how far they are (a terminal progress bar, or nothing).

    The bodies do nothing and are not abstract (hence ``return``): :class:`NoProgress`
    inherits them.
    """

    def start(self, total: int | None, unit: str) -> None:
        """Begin: ``total`` units are expected (None: unknown)."""
        return

    def advance(self, amount: int) -> None:
        """``amount`` more units are done."""
        return

    def finish(self) -> None:
        """Done (also called after an error)."""
        return


class NoProgress(Progress):
    """A Progress that shows nothing."""


@dataclass
class ExportReport:
    """What an export wrote."""

    sessions: int = 0
    events: int = 0
    app_states: int = 0
    user_states: int = 0
    memories: int = 0
    artifact_versions: int = 0


@dataclass(frozen=True)
class SessionIdChange:
    """A session stored under another id than its source gave: stripped, or generated."""

    app_name: str
    user_id: str
    source_id: str
    id: str


@dataclass
class ImportReport:
    """What an import wrote, what it left alone because it existed, and the ids it changed."""

    sessions_imported: int = 0
    sessions_skipped: int = 0
    events_imported: int = 0
    app_states_imported: int = 0
    app_states_skipped: int = 0
    user_states_imported: int = 0
    user_states_skipped: int = 0
    memories_imported: int = 0
    memories_skipped: int = 0
    artifact_versions_imported: int = 0
    artifact_versions_skipped: int = 0
    artifact_versions_conflicting: int = 0
    session_id_changes: list[SessionIdChange] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Every field by name, plus ``session_ids_changed`` (a count), for ``--json``."""
        out = asdict(self)
        changes = out.pop("session_id_changes")
        return {**out, "session_ids_changed": len(changes), "session_id_changes": changes}


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
    """Write every matching session, app state, user state, memory and artifact version to
    ``out`` as JSON Lines.

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
        async for line in snapshot.state_lines("app", app_name, user_id):
            out.write(line + "\n")
            report.app_states += 1
        async for line in snapshot.state_lines("user", app_name, user_id):
            out.write(line + "\n")
            report.user_states += 1
        async for line in snapshot.memory_lines(app_name, user_id):
            out.write(line + "\n")
            report.memories += 1
        async for line in snapshot.artifact_lines(app_name, user_id):
            out.write(line + "\n")
            report.artifact_versions += 1
    finally:
        progress.finish()
    trailer = {"type": "end", **asdict(report)}
    out.write(pydantic_core.to_json(trailer).decode() + "\n")
    return report
