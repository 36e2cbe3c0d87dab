"""``adk-pg prune --older-than 30d [--memories]``: delete sessions (or memories) nobody has
written for a while."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from typing import Any

from adk_pg.cli._common import EXIT_CHECK_FAILED, EXIT_OK, Parents, open_pool
from adk_pg.cli._output import (
    TerminalProgress,
    iso_utc,
    parse_duration,
    positive_int,
    print_json,
    printable,
    show_time,
)
from adk_pg.db.values import require_id
from adk_pg.ops.prune import PruneRepository

__all__ = ["register"]


def register(commands: Any, parents: Parents) -> None:
    """Add ``prune``."""
    parser = commands.add_parser(
        "prune",
        parents=[parents.database, parents.output],
        help="delete sessions (or memories) not written for a while, in small batches",
        description="Delete the sessions (and, by cascade, their events) that have not been "
        "written for --older-than. Each batch examines the next --batch-size sessions of an "
        "app in key order and deletes the old ones among them, in its own short transaction "
        "that skips sessions in use; their session-scoped artifacts go with them; app and user "
        "state and user: artifacts stay, and so do memories: they are meant to outlive "
        "sessions. With --memories, delete the memories not written for "
        "--older-than instead (sessions stay); a deleted memory whose session still exists "
        "is kept, so that adding the session again does not bring it back. Age is measured "
        "by the database server's clock: the time of a session's last write (create, append, "
        "import), never the timestamps its events carry, which the client chooses. On a "
        "terminal it asks before deleting (--yes does not ask). Exit codes: 0 done (or "
        "nothing to delete), 1 --dry-run found sessions to delete or the deletion was not "
        "confirmed, 2 usage, 3 database error (batches before it stay deleted).",
    )
    parser.add_argument(
        "--older-than",
        required=True,
        type=parse_duration,
        metavar="AGE",
        help="the age, by the server's clock of each session's last write: e.g. 30d, 12h, "
        "90min, 2w or 1d12h (units s, min, h, d, w; 'm' is refused: minutes or months?)",
    )
    parser.add_argument("--app", metavar="APP", help="only sessions (or memories) of this app")
    parser.add_argument(
        "--memories",
        action="store_true",
        help="delete old memories instead of sessions",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="delete nothing; count what would go"
    )
    parser.add_argument(
        "--yes",
        action="store_true",
        help="do not ask for confirmation (asked only when stdin is a terminal)",
    )
    parser.add_argument(
        "--batch-size",
        type=positive_int,
        default=500,
        metavar="N",
        help="sessions (or memories) examined per delete statement (default 500)",
    )
    parser.set_defaults(run=_prune_command)


async def _prune_command(args: argparse.Namespace, dsn: str) -> int:
    """``adk-pg prune``."""
    app = None if args.app is None else require_id(args.app, "--app")
    if args.memories:
        return await _prune_memories(args, dsn, app)
    async with open_pool(dsn, args.schema) as pool:
        ops = PruneRepository(pool, schema=args.schema)
        # The server's clock decides what is old: the same clock that wrote write_time.
        plan = await ops.plan_prune(
            older_than_seconds=args.older_than.total_seconds(), app_name=app
        )
        sessions = events = artifacts = batches = 0
        what = _sessions_text(plan.sessions, plan.events, plan.artifacts)
        if (
            not (args.dry_run or args.yes)
            and plan.sessions
            and not _confirmed(what, plan.cutoff, app)
        ):
            print("nothing deleted", file=sys.stderr)
            return EXIT_CHECK_FAILED
        if not args.dry_run and plan.sessions:
            progress = TerminalProgress("prune")
            progress.start(plan.sessions, "sessions")
            try:
                for app_name in [app] if app is not None else await ops.list_apps():
                    after: tuple[str, str] | None = ("", "")
                    while after is not None:
                        batch = await ops.prune_batch(
                            app_name=app_name,
                            cutoff=plan.cutoff,
                            batch_size=args.batch_size,
                            after=after,
                        )
                        after = batch.last
                        if batch.sessions:
                            sessions += batch.sessions
                            events += batch.events
                            artifacts += batch.artifacts
                            batches += 1
                            progress.advance(batch.sessions)
            finally:
                progress.finish()
    if args.dry_run:
        sessions, events, artifacts = plan.sessions, plan.events, plan.artifacts
    counts = {"sessions": sessions, "events": events, "artifacts": artifacts}
    _report(args, app, plan.cutoff, counts, _sessions_text(sessions, events, artifacts), batches)
    return EXIT_CHECK_FAILED if args.dry_run and plan.sessions else EXIT_OK


def _sessions_text(sessions: int, events: int, artifacts: int) -> str:
    extra = f", {artifacts} artifacts" if artifacts else ""
    return f"{sessions} sessions ({events} events{extra})"


async def _prune_memories(args: argparse.Namespace, dsn: str, app: str | None) -> int:
    """``adk-pg prune --memories``."""
    async with open_pool(dsn, args.schema) as pool:
        ops = PruneRepository(pool, schema=args.schema)
        plan = await ops.plan_prune_memories(
            older_than_seconds=args.older_than.total_seconds(), app_name=app
        )
        what = f"{plan.memories} memories"
        if (
            not (args.dry_run or args.yes)
            and plan.memories
            and not _confirmed(what, plan.cutoff, app)
        ):
            print("nothing deleted", file=sys.stderr)
            return EXIT_CHECK_FAILED
        memories = batches = 0
        if not args.dry_run and plan.memories:
            progress = TerminalProgress("prune")
            progress.start(plan.memories, "memories")
            after: tuple[str, str, str] | None = ("", "", "")
            try:
                while after is not None:
                    batch = await ops.prune_memories_batch(
                        app_name=app, cutoff=plan.cutoff, batch_size=args.batch_size, after=after
                    )
                    after = batch.last
                    if batch.memories:
                        memories += batch.memories
                        batches += 1
                        progress.advance(batch.memories)
            finally:
                progress.finish()
    if args.dry_run:
        memories = plan.memories
    _report(args, app, plan.cutoff, {"memories": memories}, f"{memories} memories", batches)
    return EXIT_CHECK_FAILED if args.dry_run and plan.memories else EXIT_OK


def _report(
    args: argparse.Namespace,
    app: str | None,
    cutoff: datetime,
    counts: dict[str, int],
    what: str,
    batches: int,
) -> None:
    """Print what a prune deleted (or, with --dry-run, would delete)."""
    if args.json:
        print_json(
            {
                "dry_run": args.dry_run,
                "cutoff": iso_utc(cutoff),
                "app_name": app,
                **counts,
                "batches": batches,
            }
        )
        return
    verb = "would delete" if args.dry_run else "deleted"
    where = f" of app {app}" if app is not None else ""
    tail = "" if args.dry_run else f" in {batches} batch" + ("" if batches == 1 else "es")
    print(printable(f"{verb} {what}{where} not written since {show_time(cutoff)} UTC{tail}"))


def _confirmed(what: str, cutoff: datetime, app: str | None) -> bool:
    """Ask on a terminal whether to delete; a script (stdin not a terminal) is not asked."""
    if not sys.stdin.isatty():
        return True
    where = f" of app {app}" if app is not None else ""
    question = f"delete {what}{where} not written since {show_time(cutoff)} UTC? [y/N] "
    print(printable(question), end="", file=sys.stderr, flush=True)
    return sys.stdin.readline().strip().lower() in {"y", "yes"}
