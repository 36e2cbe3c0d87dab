"""``adk-pg export``, ``import`` and ``import-adk``: moving sessions in and out."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any, TextIO

from adk_pg.cli._common import (
    EXIT_OK,
    Parents,
    add_app_user_filters,
    app_user_filters,
    open_pool,
)
from adk_pg.cli._output import TerminalProgress, print_json
from adk_pg.ops.importer import EventCheck, import_jsonl, read_as_the_store_does
from adk_pg.ops.legacy import V0Reader, import_adk
from adk_pg.ops.repository import OpsRepository
from adk_pg.ops.transfer import ExportReport, ImportReport, export_jsonl
from adk_pg.schema.files import load_migrations

__all__ = ["register"]

# How `import` and `import-adk` store session ids: in both commands' --help.
_SESSION_IDS = (
    "Session ids are normalised as adk-pg normalises them everywhere: stripped of surrounding "
    "whitespace, and a blank id gets a uuid derived from the app, user and blank id (the same "
    "on every run); the output lists every id that changed. Two source ids that normalise to "
    "the same id are never merged: the first one is imported, the second stops the import "
    "with an error naming both (rename it in the source and import again)."
)
# Text output lists at most this many changed ids; --json lists them all.
_CHANGES_SHOWN = 20


def register(commands: Any, parents: Parents) -> None:
    """Add ``export``, ``import`` and ``import-adk``."""
    export = commands.add_parser(
        "export",
        parents=[parents.database, parents.output],
        help="write sessions, events, state and memories as JSON Lines",
        description="Write sessions with their events, then app and user state, memories "
        "(deleted ones included) and artifact versions (bytes in base64), as JSON Lines "
        "(format adk-pg-export version 2: a header line, one line per session, per app or "
        "user state, per memory and per artifact version, an end line), to stdout or "
        "--output. Read in one consistent "
        "snapshot. The summary goes to stderr when the data goes to stdout. Exit codes: "
        "0 written, 2 usage, 3 database error.",
    )
    add_app_user_filters(export, "sessions, state, memories and artifacts")
    export.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    export.set_defaults(run=_export_command)

    restore = commands.add_parser(
        "import",
        parents=[parents.database, parents.output],
        help="load a file written by export (idempotent)",
        description="Load an adk-pg export. Each session is imported atomically with its "
        "events; sessions, app states, user states, memories and artifact versions that "
        "already exist are skipped, never changed, so importing a file twice changes "
        "nothing. Files of version 1 (no memories, no artifacts) import too. "
        + _SESSION_IDS
        + " Exit codes: "
        "0 imported, 2 usage or a malformed or truncated file or two session ids that "
        "normalise to one (lines before the bad one are imported), 3 database error.",
    )
    restore.add_argument("file", metavar="FILE", help="the export file, or - for stdin")
    restore.set_defaults(run=_import_command)

    legacy = commands.add_parser(
        "import-adk",
        parents=[parents.database, parents.output],
        help="copy the tables of ADK's DatabaseSessionService into adk-pg",
        description="Copy the sessions, events, app and user state of ADK's "
        "DatabaseSessionService (schema v1 with JSON events, or v0 with pickled actions, "
        "read by a restricted unpickler) into adk-pg, keeping every timestamp. The source "
        "may be the same database (tables in --schema next to schema adk) or another one; "
        "it is only read. Existing sessions are skipped. " + _SESSION_IDS + " Reading v0 "
        "tables needs google-adk (pip install 'adk-pg[adk]'). Exit codes: 0 imported, 2 "
        "usage, 3 database error or a refused row (named in the message).",
    )
    legacy.add_argument(
        "--from",
        dest="source",
        required=True,
        metavar="DSN",
        help="the database ADK's DatabaseSessionService wrote (postgresql[+asyncpg]://...)",
    )
    legacy.add_argument(
        "--from-schema",
        dest="source_schema",
        default="public",
        metavar="NAME",
        help="the schema holding ADK's tables in --from (default: public)",
    )
    legacy.set_defaults(run=_import_adk_command)


@contextlib.contextmanager
def _output(path: str | None) -> Iterator[TextIO]:
    if path is None:
        yield sys.stdout
        return
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        yield handle


@contextlib.contextmanager
def _input(path: str) -> Iterator[tuple[TextIO, int | None]]:
    # Plain blocking reads: the command has one task, so nothing else waits on the loop.
    if path == "-":
        yield sys.stdin, None
        return
    # newline="\n": JSON text cannot hold a raw CR or LF, so only LF ends a line.
    with open(path, encoding="utf-8", newline="\n") as handle:
        yield handle, os.fstat(handle.fileno()).st_size


async def _export_command(args: argparse.Namespace, dsn: str) -> int:
    """``adk-pg export``."""
    app, user = app_user_filters(args)
    async with open_pool(dsn, args.schema) as pool:
        ops = OpsRepository(pool, schema=args.schema)
        with _output(args.output) as out:
            async with ops.snapshot() as snapshot:
                report = await export_jsonl(
                    snapshot,
                    out,
                    app_name=app,
                    user_id=user,
                    schema_version=load_migrations()[-1].version,
                    progress=TerminalProgress("export"),
                )
            out.flush()
    summary = sys.stderr if args.output is None else sys.stdout
    if args.json:
        print_json(vars(report), summary)
    else:
        print(_describe_export(report), file=summary)
    return EXIT_OK


def _describe_export(report: ExportReport) -> str:
    return (
        f"exported {report.sessions} sessions ({report.events} events), "
        f"{report.app_states} app states, {report.user_states} user states, "
        f"{report.memories} memories, {report.artifact_versions} artifact versions"
    )


def _event_checks() -> tuple[EventCheck, ...]:
    """Who will read imported events: adk-pg's store, and ADK's Event when it is installed."""
    try:
        from adk_pg.adk import read_as_adk_does
    except ImportError:  # no google-adk here: nothing on this machine reads events as ADK
        return (read_as_the_store_does,)
    return (read_as_the_store_does, read_as_adk_does)


def _v0_reader() -> V0Reader | None:
    """What reads ADK's v0 events: ADK's own code, when google-adk is installed."""
    try:
        from adk_pg.adk.legacy import v0_reader
    except ImportError:
        return None
    return v0_reader


async def _import_command(args: argparse.Namespace, dsn: str) -> int:
    """``adk-pg import FILE``."""
    async with open_pool(dsn, args.schema) as pool:
        ops = OpsRepository(pool, schema=args.schema)
        progress = TerminalProgress("import")
        with _input(args.file) as (handle, size):
            report = await import_jsonl(
                ops, handle, total_bytes=size, progress=progress, event_checks=_event_checks()
            )
    _print_import(report, args.json)
    return EXIT_OK


async def _import_adk_command(args: argparse.Namespace, dsn: str) -> int:
    """``adk-pg import-adk --from DSN``."""
    async with open_pool(dsn, args.schema) as pool:
        report = await import_adk(
            OpsRepository(pool, schema=args.schema),
            args.source,
            schema=args.source_schema,
            progress=TerminalProgress("import-adk"),
            event_checks=_event_checks(),
            v0_reader=_v0_reader(),
        )
    if not args.json:
        print(f"read ADK schema v{report.schema_version} tables in schema {args.source_schema}")
    _print_import(report, args.json)
    return EXIT_OK


def _print_import(report: ImportReport, as_json: bool) -> None:
    if as_json:
        print_json(report.as_dict())
        return
    print(
        f"imported {report.sessions_imported} sessions ({report.events_imported} events), "
        f"{report.app_states_imported} app states, {report.user_states_imported} user states, "
        f"{report.memories_imported} memories, "
        f"{report.artifact_versions_imported} artifact versions"
    )
    skipped = (
        report.sessions_skipped,
        report.app_states_skipped,
        report.user_states_skipped,
        report.memories_skipped,
        report.artifact_versions_skipped,
    )
    if any(skipped):
        print(
            f"skipped (already present) {skipped[0]} sessions, {skipped[1]} app states, "
            f"{skipped[2]} user states, {skipped[3]} memories, {skipped[4]} artifact versions"
        )
    if report.artifact_versions_conflicting:
        print(
            f"left alone {report.artifact_versions_conflicting} artifact versions whose number "
            "is taken by other bytes here (an import never overwrites)"
        )
    changes = report.session_id_changes
    if changes:
        print(f"changed {len(changes)} session ids (stripped, or generated for a blank id):")
        for c in changes[:_CHANGES_SHOWN]:
            print(f"  app {c.app_name!r} user {c.user_id!r}: {c.source_id!r} -> {c.id!r}")
        if len(changes) > _CHANGES_SHOWN:
            print(f"  ... and {len(changes) - _CHANGES_SHOWN} more (--json lists them all)")
