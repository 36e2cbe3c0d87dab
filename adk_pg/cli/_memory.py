"""``adk-pg memory search|list|delete|forget``: a user's memories, as an agent recalls them."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from adk_pg.cli._common import EXIT_CHECK_FAILED, EXIT_OK, Parents, open_pool
from adk_pg.cli._output import positive_int, print_json, print_table, printable
from adk_pg.db.values import require_id
from adk_pg.memory.models import Memory
from adk_pg.memory.store import DEFAULT_SEARCH_CONFIG, MemoryStore, memory_text

__all__ = ["register"]

_TEXT_WIDTH = 100  # characters of a memory's text shown in a table


def register(commands: Any, parents: Parents) -> None:
    """Add ``memory`` (with ``search``, ``list``, ``delete`` and ``forget``)."""
    memory = commands.add_parser(
        "memory",
        help="search, list or delete a user's memories",
        description="A user's memories (PostgresMemoryService): search them as an agent "
        "does, list the newest, delete one, or forget the user.",
    )
    actions = memory.add_subparsers(dest="action", metavar="ACTION", required=True)
    scope = argparse.ArgumentParser(add_help=False)
    scope.add_argument("--app", required=True, metavar="APP", help="the app (agent) name")
    scope.add_argument("--user", required=True, metavar="USER", help="the user id")
    common = [parents.database, parents.output, scope]

    search = actions.add_parser(
        "search",
        parents=common,
        help="the memories an agent's search would find, best first",
        description="Search a user's memories as search_memory does: any word matches, "
        '"a phrase" must, -word must not; best first. Exit codes: 0 found, 1 nothing '
        "found, 2 usage, 3 database error.",
    )
    search.add_argument("query", metavar="QUERY", help='e.g. "new york" trip -work')
    search.add_argument(
        "--limit", type=positive_int, default=10, metavar="N", help="at most N (default 10)"
    )
    search.add_argument(
        "--config",
        default=DEFAULT_SEARCH_CONFIG,
        metavar="NAME",
        help=f"the text search configuration (default {DEFAULT_SEARCH_CONFIG})",
    )
    search.set_defaults(run=_search_command, label="memory search")

    listing = actions.add_parser(
        "list",
        parents=common,
        help="the user's newest memories",
        description="List a user's memories, newest first (deleted ones left out). Exit "
        "codes: 0 listed, 1 none, 2 usage, 3 database error.",
    )
    listing.add_argument(
        "--limit", type=positive_int, default=50, metavar="N", help="at most N (default 50)"
    )
    listing.set_defaults(run=_list_command, label="memory list")

    delete = actions.add_parser(
        "delete",
        parents=common,
        help="delete one memory by its id",
        description="Delete one memory; adding its session to memory again does not bring it "
        "back. Exit codes: 0 deleted, 1 no such memory, 2 usage, 3 database error.",
    )
    delete.add_argument("memory_id", metavar="ID", help="the memory id (an event id)")
    delete.set_defaults(run=_delete_command, label="memory delete")

    forget = actions.add_parser(
        "forget",
        parents=common,
        help="delete every memory of a user in an app",
        description="Delete every memory of the user in the app. On a terminal it asks "
        "first (--yes does not ask). Exit codes: 0 done, 1 not confirmed, 2 usage, 3 "
        "database error.",
    )
    forget.add_argument(
        "--yes",
        action="store_true",
        help="do not ask for confirmation (asked only when stdin is a terminal)",
    )
    forget.set_defaults(run=_forget_command, label="memory forget")


def _scope(args: argparse.Namespace) -> tuple[str, str]:
    return require_id(args.app, "--app"), require_id(args.user, "--user")


async def _search_command(args: argparse.Namespace, dsn: str) -> int:
    """``adk-pg memory search``."""
    app, user = _scope(args)
    async with open_pool(dsn, args.schema) as pool:
        store = MemoryStore(pool, search_config=args.config, schema=args.schema)
        found = await store.search(
            app_name=app, user_id=user, query=args.query, max_results=min(args.limit, 1000)
        )
    return _show(found, args.json)


async def _list_command(args: argparse.Namespace, dsn: str) -> int:
    """``adk-pg memory list``."""
    app, user = _scope(args)
    async with open_pool(dsn, args.schema) as pool:
        found = await MemoryStore(pool, schema=args.schema).recent(
            app_name=app, user_id=user, limit=min(args.limit, 10_000)
        )
    return _show(found, args.json)


async def _delete_command(args: argparse.Namespace, dsn: str) -> int:
    """``adk-pg memory delete ID``."""
    app, user = _scope(args)
    async with open_pool(dsn, args.schema) as pool:
        deleted = await MemoryStore(pool, schema=args.schema).delete(
            app_name=app, user_id=user, memory_id=args.memory_id
        )
    if args.json:
        print_json({"deleted": deleted, "id": args.memory_id})
    else:
        print(printable(f"{'deleted memory' if deleted else 'no memory'} {args.memory_id}"))
    return EXIT_OK if deleted else EXIT_CHECK_FAILED


async def _forget_command(args: argparse.Namespace, dsn: str) -> int:
    """``adk-pg memory forget``."""
    app, user = _scope(args)
    if not args.yes and sys.stdin.isatty():
        question = f"delete every memory of user {user} in app {app}? [y/N] "
        print(printable(question), end="", file=sys.stderr, flush=True)
        if sys.stdin.readline().strip().lower() not in {"y", "yes"}:
            print("nothing deleted", file=sys.stderr)
            return EXIT_CHECK_FAILED
    async with open_pool(dsn, args.schema) as pool:
        deleted = await MemoryStore(pool, schema=args.schema).delete_user(
            app_name=app, user_id=user
        )
    if args.json:
        print_json({"deleted": deleted})
    else:
        print(printable(f"deleted {deleted} memories of user {user} in app {app}"))
    return EXIT_OK


def _show(found: list[Memory], as_json: bool) -> int:
    if as_json:
        print_json([_document(m) for m in found])
    elif found:
        print_table(
            ("ID", "TIME", "AUTHOR", "TEXT"),
            [
                (m.id, m.timestamp or "", m.author or "", _clip(memory_text(m.content)))
                for m in found
            ],
        )
    else:
        print("no memories")
    return EXIT_OK if found else EXIT_CHECK_FAILED


def _document(memory: Memory) -> dict[str, Any]:
    return {
        "id": memory.id,
        "session_id": memory.session_id,
        "event_id": memory.event_id,
        "author": memory.author,
        "event_time": memory.event_time,
        "timestamp": memory.timestamp,
        "text": memory_text(memory.content),
        "custom_metadata": memory.custom_metadata,
    }


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _TEXT_WIDTH else text[: _TEXT_WIDTH - 1] + "…"
