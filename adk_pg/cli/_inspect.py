"""``adk-pg sessions list|show|fork``: looking at the sessions stored."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from adk_pg.cli._common import (
    EXIT_CHECK_FAILED,
    EXIT_OK,
    Parents,
    add_app_user_filters,
    app_user_filters,
    open_pool,
)
from adk_pg.cli._output import (
    iso_utc,
    positive_int,
    print_json,
    print_table,
    printable,
    show_time,
)
from adk_pg.errors import AlreadyExistsError, SessionNotFoundError
from adk_pg.ops.repository import OpsRepository
from adk_pg.sessions import validate
from adk_pg.sessions.models import Event, Session
from adk_pg.sessions.store import SessionStore

__all__ = ["describe_event", "register"]

_TEXT_WIDTH = 200  # characters of a text or a JSON value shown per timeline line


def register(commands: Any, parents: Parents) -> None:
    """Add ``sessions`` (with ``list``, ``show`` and ``fork``)."""
    sessions = commands.add_parser(
        "sessions",
        help="list sessions, or show one with its state and timeline",
        description="List sessions, or show one session's state and timeline.",
    )
    actions = sessions.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser(
        "list",
        parents=[parents.database, parents.output],
        help="the most recently updated sessions",
        description="List sessions, most recently updated first, with their number of events. "
        "Exit codes: 0 listed, 1 no session matched, 2 usage, 3 database error.",
    )
    add_app_user_filters(listing, "sessions")
    listing.add_argument(
        "--limit",
        type=positive_int,
        default=50,
        metavar="N",
        help="at most N sessions (default 50)",
    )
    listing.set_defaults(run=_list_command, label="sessions list")

    show = actions.add_parser(
        "show",
        parents=[parents.database, parents.output],
        help="one session: merged state, then its timeline",
        description="Show one session: its merged state (app: and user: keys included), then "
        "a timeline of its events: time (UTC), author, and the text, tool call or function "
        "response. Exit codes: 0 shown, 1 no such session, 2 usage, 3 database error.",
    )
    show.add_argument("app", metavar="APP")
    show.add_argument("user", metavar="USER")
    show.add_argument("session_id", metavar="ID")
    show.add_argument(
        "--events",
        type=int,
        default=None,
        metavar="N",
        help="only the newest N events (default: all; 0: none)",
    )
    show.set_defaults(run=_show_command, label="sessions show")

    fork = actions.add_parser(
        "fork",
        parents=[parents.database, parents.output],
        help="copy a session (up to an event) into a new session of the same user",
        description="Copy a session into a new session of the same user, inside the database: "
        "its events up to and including --up-to (all by default) and its session state as of "
        "that event; app: and user: state are shared, not copied. Exit codes: 0 forked, 1 no "
        "such session or the new id exists, 2 usage (or --up-to not an event of the "
        "session), 3 database error.",
    )
    fork.add_argument("app", metavar="APP")
    fork.add_argument("user", metavar="USER")
    fork.add_argument("session_id", metavar="ID")
    fork.add_argument("--new-id", metavar="NEW_ID", help="the new session's id (default: a uuid)")
    fork.add_argument("--up-to", metavar="EVENT_ID", help="the last event to copy (default: all)")
    fork.set_defaults(run=_fork_command, label="sessions fork")


async def _list_command(args: argparse.Namespace, dsn: str) -> int:
    """``adk-pg sessions list``."""
    app, user = app_user_filters(args)
    async with open_pool(dsn, args.schema) as pool:
        found = await OpsRepository(pool, schema=args.schema).list_sessions(
            app_name=app, user_id=user, limit=args.limit
        )
    if args.json:
        print_json(
            [
                {
                    "app_name": s.app_name,
                    "user_id": s.user_id,
                    "id": s.id,
                    "events": s.events,
                    "revision": s.revision,
                    "create_time": iso_utc(s.create_time),
                    "update_time": iso_utc(s.update_time),
                }
                for s in found
            ]
        )
    elif found:
        print_table(
            ("APP", "USER", "SESSION", "EVENTS", "UPDATED (UTC)"),
            [(s.app_name, s.user_id, s.id, str(s.events), show_time(s.update_time)) for s in found],
            right=frozenset({3}),
        )
    else:
        print("no sessions")
    return EXIT_OK if found else EXIT_CHECK_FAILED


async def _show_command(args: argparse.Namespace, dsn: str) -> int:
    """``adk-pg sessions show APP USER ID``."""
    limit = validate.num_recent_events(args.events)
    async with open_pool(dsn, args.schema) as pool:
        session = await SessionStore(pool, schema=args.schema).get_session(
            app_name=args.app,
            user_id=args.user,
            session_id=args.session_id,
            num_recent_events=limit,
        )
    if session is None:
        if args.json:
            print_json(None)
        else:
            print(printable(f"no session {args.app} / {args.user} / {args.session_id}"))
        return EXIT_CHECK_FAILED
    if args.json:
        print_json(session.model_dump(mode="json", exclude_none=True))
    else:
        _print_session(session, limited=limit is not None)
    return EXIT_OK


async def _fork_command(args: argparse.Namespace, dsn: str) -> int:
    """``adk-pg sessions fork APP USER ID``."""
    async with open_pool(dsn, args.schema) as pool:
        try:
            fork = await SessionStore(pool, schema=args.schema).fork_session(
                app_name=args.app,
                user_id=args.user,
                session_id=args.session_id,
                new_session_id=args.new_id,
                up_to_event_id=args.up_to,
            )
        except (SessionNotFoundError, AlreadyExistsError) as exc:
            print(printable(f"adk-pg sessions fork: {exc}"), file=sys.stderr)
            return EXIT_CHECK_FAILED
        stored = await SessionStore(pool, schema=args.schema).get_session(
            app_name=args.app, user_id=args.user, session_id=fork.id
        )
    assert stored is not None  # just made, and sessions are deleted only by their owner
    count = len(stored.events)
    if args.json:
        print_json({"id": fork.id, "events": count, "state": fork.state})
    else:
        print(printable(f"forked {args.session_id} into {fork.id} ({count} events)"))
    return EXIT_OK


def _print_session(session: Session, *, limited: bool) -> None:
    lines = [
        f"session   {session.app_name} / {session.user_id} / {session.id}",
        f"updated   {show_time(session.last_update_time, millis=True)} UTC",
        f"revision  {session.revision}",
        "state" + ("" if session.state else "     (empty)"),
    ]
    width = max((len(k) for k in session.state), default=0)
    for key, value in session.state.items():
        lines.append(f"  {key:<{width}} = {_clip(_json(value))}")
    which = f"newest {len(session.events)}" if limited else str(len(session.events))
    lines.append(f"events ({which})")
    author_width = max((len(e.author) for e in session.events), default=0)
    for event in session.events:
        stamp = show_time(event.timestamp, millis=True)
        described = describe_event(event) or ["(no content)"]
        lines.append(f"  {stamp}  {event.author:<{author_width}}  {described[0]}")
        lines += [f"  {'':<23}  {'':<{author_width}}  {more}" for more in described[1:]]
    # Stored text reaches the terminal escaped: it cannot move the cursor or recolour it.
    print("\n".join(printable(line) for line in lines))


def describe_event(event: Event) -> list[str]:
    """Readable lines for one event: text, tool calls and responses, errors, actions."""
    lines: list[str] = []
    parts = event.content.parts if event.content and event.content.parts else []
    for part in parts:
        if part.function_call is not None:
            call = part.function_call
            lines.append(f"call {call.name}({_clip(_json(call.args or {}))})")
        elif part.function_response is not None:
            response = part.function_response
            lines.append(f"response {response.name} -> {_clip(_json(response.response or {}))}")
        elif part.text is not None:
            prefix = "(thought) " if part.thought else ""
            lines.append(prefix + _clip(" ".join(part.text.split())))
        elif part.inline_data is not None:
            size = len(part.inline_data.data or b"")
            lines.append(f"[{part.inline_data.mime_type or 'data'}, {size} bytes]")
        elif part.file_data is not None:
            lines.append(f"[file {part.file_data.file_uri}]")
        else:
            lines.append("[" + ", ".join(part.model_dump(exclude_none=True)) + "]")
    if event.error_code or event.error_message:
        lines.append(f"error {event.error_code or ''}: {_clip(event.error_message or '')}")
    actions = event.actions
    if actions.transfer_to_agent:
        lines.append(f"transfer to {actions.transfer_to_agent}")
    if actions.escalate:
        lines.append("escalate")
    if actions.state_delta:
        lines.append(f"state {_clip(_json(actions.state_delta))}")
    return lines


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _clip(text: str) -> str:
    return text if len(text) <= _TEXT_WIDTH else text[: _TEXT_WIDTH - 1] + "…"
