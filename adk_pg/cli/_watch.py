"""``adk-pg watch``: a tail -f for sessions, one JSON line per change."""

from __future__ import annotations

import argparse
from typing import Any

from adk_pg.cli._common import EXIT_OK, Parents, open_pool
from adk_pg.sessions.store import SessionStore

__all__ = ["register"]


def register(commands: Any, parents: Parents) -> None:
    """Add the ``watch`` subcommand."""
    watch = commands.add_parser(
        "watch",
        parents=[parents.database],
        help="print sessions' changes as they happen, as JSON lines",
        description="Follow an app's sessions (or a user's, or one session) and print each "
        "change as one JSON line: kind (created, event, deleted), app_name, user_id, "
        "session_id, revision, event_id. Ids and revisions only, never content (read it "
        "with `adk-pg sessions show`). Starts from now; with --session, --after REVISION "
        "first prints the events appended after that revision. A lost connection is opened "
        "again without missing or repeating a change. Needs a direct or session-pooled "
        "connection (not PgBouncer's transaction pooling). Ctrl-C stops it. Exit codes: 2 "
        "usage, 3 database error, 130 stopped by Ctrl-C.",
    )
    watch.add_argument("--app", required=True, metavar="APP", help="the app (agent) name")
    watch.add_argument("--user", metavar="USER", help="only this user's sessions")
    watch.add_argument("--session", metavar="ID", help="only this session (needs --user)")
    watch.add_argument(
        "--after",
        type=_revision,
        metavar="REVISION",
        help="with --session: first the events appended after this revision",
    )
    watch.set_defaults(run=_watch_command)


def _revision(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a revision (0 or more), got {text!r}")
    return value


async def _watch_command(args: argparse.Namespace, dsn: str) -> int:
    """``adk-pg watch``: runs until interrupted."""
    async with open_pool(dsn, args.schema) as pool:
        changes = SessionStore(pool, schema=args.schema).watch(
            args.app, user_id=args.user, session_id=args.session, after=args.after
        )
        try:
            async for change in changes:
                # ASCII JSON: an id can hold any character, and none reaches the terminal raw.
                print(change.model_dump_json(), flush=True)
        finally:
            await changes.aclose()
    return EXIT_OK
