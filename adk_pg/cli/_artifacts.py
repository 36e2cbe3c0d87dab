"""``adk-pg artifacts list|get|delete``: looking at, fetching and removing stored artifacts."""

from __future__ import annotations

import argparse
import sys
from typing import Any, BinaryIO

from adk_pg.artifacts import ArtifactStore
from adk_pg.artifacts.validate import optional_id
from adk_pg.cli._common import (
    EXIT_CHECK_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    Parents,
    add_app_user_filters,
    app_user_filters,
    open_pool,
)
from adk_pg.cli._output import (
    human_bytes,
    iso_utc,
    positive_int,
    print_json,
    print_table,
    printable,
    show_time,
)

__all__ = ["register"]

_SCOPE = (
    "FILENAME is the name as listed: a user-scoped artifact's name starts with user:; a "
    "session's artifact needs --session (without it, a name without user: means the "
    "user-scoped artifact of that name, as ADK's session_id=None does)."
)


def register(commands: Any, parents: Parents) -> None:
    """Add ``artifacts`` (with ``list``, ``get`` and ``delete``)."""
    artifacts = commands.add_parser(
        "artifacts",
        help="list, fetch or delete the files agents saved",
        description="List stored artifacts, write one to a file, or delete one.",
    )
    actions = artifacts.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser(
        "list",
        parents=[parents.database, parents.output],
        help="the most recently saved artifacts",
        description="List artifacts, most recently saved first: scope (a session id, or "
        "(user) for user-scoped ones), name, latest version, number of versions, size and "
        "MIME type of the latest version. Exit codes: 0 listed, 1 none matched, 2 usage, 3 "
        "database error.",
    )
    add_app_user_filters(listing, "artifacts")
    listing.add_argument(
        "--session", metavar="ID", help="only this session's own artifacts (not the user's)"
    )
    listing.add_argument(
        "--limit", type=positive_int, default=50, metavar="N", help="at most N (default 50)"
    )
    listing.set_defaults(run=_list_command, label="artifacts list")

    get = actions.add_parser(
        "get",
        parents=[parents.database],
        help="write one version's bytes to a file or stdout",
        description="Write the bytes of an artifact version (the latest unless --version) to "
        "--output, else to stdout: inline data as saved, a text artifact as UTF-8. Binary "
        "data is not written to a terminal. " + _SCOPE + " Exit codes: 0 written, 1 no such "
        "artifact or version, or a version that holds no bytes (a file reference), 2 usage, "
        "3 database error.",
    )
    _add_key(get)
    get.add_argument("--version", type=int, metavar="N", help="this version (default: latest)")
    get.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    get.set_defaults(run=_get_command, label="artifacts get")

    delete = actions.add_parser(
        "delete",
        parents=[parents.database, parents.output],
        help="delete an artifact with all its versions",
        description="Delete an artifact and every version of it. On a terminal it asks "
        "first (--yes does not ask). " + _SCOPE + " Exit codes: 0 deleted, 1 no such "
        "artifact or not confirmed, 2 usage, 3 database error.",
    )
    _add_key(delete)
    delete.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    delete.set_defaults(run=_delete_command, label="artifacts delete")


def _add_key(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("app", metavar="APP")
    parser.add_argument("user", metavar="USER")
    parser.add_argument("filename", metavar="FILENAME")
    parser.add_argument("--session", metavar="ID", help="the session of a session's artifact")


def _where(args: argparse.Namespace) -> str:
    scope = args.session if args.session is not None else "(user)"
    return f"{args.app} / {args.user} / {scope} / {args.filename}"


async def _list_command(args: argparse.Namespace, dsn: str) -> int:
    """``adk-pg artifacts list``."""
    app, user = app_user_filters(args)
    session = optional_id(args.session, "--session")
    async with open_pool(dsn, args.schema) as pool:
        found = await ArtifactStore(pool, schema=args.schema).list_artifacts(
            app_name=app, user_id=user, session_id=session, limit=args.limit
        )
    if args.json:
        print_json(
            [{**s.model_dump(mode="json"), "update_time": iso_utc(s.update_time)} for s in found]
        )
    elif found:
        print_table(
            (
                "APP",
                "USER",
                "SESSION",
                "FILENAME",
                "VER",
                "VERSIONS",
                "SIZE",
                "TYPE",
                "SAVED (UTC)",
            ),
            [
                (
                    s.app_name,
                    s.user_id,
                    s.session_id if s.session_id is not None else "(user)",
                    s.filename,
                    str(s.latest_version),
                    str(s.versions),
                    human_bytes(s.size),
                    s.mime_type or "-",
                    show_time(s.update_time),
                )
                for s in found
            ],
            right=frozenset({4, 5, 6}),
        )
    else:
        print("no artifacts")
    return EXIT_OK if found else EXIT_CHECK_FAILED


async def _get_command(args: argparse.Namespace, dsn: str) -> int:
    """``adk-pg artifacts get``."""
    to_stdout = args.output in (None, "-")
    async with open_pool(dsn, args.schema) as pool:
        artifact = await ArtifactStore(pool, schema=args.schema).load_artifact(
            app_name=args.app,
            user_id=args.user,
            filename=args.filename,
            session_id=args.session,
            version=args.version,
        )
    if artifact is None:
        which = "" if args.version is None else f" version {args.version}"
        print(printable(f"no artifact {_where(args)}{which}"), file=sys.stderr)
        return EXIT_CHECK_FAILED
    part = artifact.part
    if artifact.kind == "bytes" and part.inline_data is not None:
        data = part.inline_data.data or b""
    elif artifact.kind == "text" and part.text is not None:
        data = part.text.encode("utf-8")
    else:
        uri = part.file_data.file_uri if part.file_data is not None else None
        print(
            printable(
                f"version {artifact.version} of {_where(args)} holds no bytes"
                + (f": it refers to {uri}" if uri else "")
            ),
            file=sys.stderr,
        )
        return EXIT_CHECK_FAILED
    if to_stdout:
        if sys.stdout.isatty():
            if artifact.kind == "bytes":
                print(
                    "adk-pg artifacts get: error: binary data is not written to a terminal: "
                    "use --output FILE or redirect stdout",
                    file=sys.stderr,
                )
                return EXIT_USAGE
            # Text a model wrote reaches the terminal escaped, as everywhere in adk-pg.
            print(printable(data.decode("utf-8")))
            return EXIT_OK
        _write(sys.stdout.buffer, data)
        return EXIT_OK
    _write_file(args.output, data)
    print(
        printable(
            f"wrote {human_bytes(len(data))} ({artifact.mime_type or 'no MIME type'}, version "
            f"{artifact.version}, sha256 {artifact.sha256}) to {args.output}"
        ),
        file=sys.stderr,
    )
    return EXIT_OK


def _write(stream: BinaryIO, data: bytes) -> None:
    stream.write(data)
    stream.flush()


def _write_file(path: str, data: bytes) -> None:
    with open(path, "wb") as out:
        _write(out, data)


async def _delete_command(args: argparse.Namespace, dsn: str) -> int:
    """``adk-pg artifacts delete``."""
    async with open_pool(dsn, args.schema) as pool:
        store = ArtifactStore(pool, schema=args.schema)
        versions = await store.list_versions(
            app_name=args.app, user_id=args.user, filename=args.filename, session_id=args.session
        )
        deleted = 0
        if versions and (args.yes or _confirmed(args, len(versions))):
            deleted = await store.delete_artifact(
                app_name=args.app,
                user_id=args.user,
                filename=args.filename,
                session_id=args.session,
            )
        elif versions:
            print("nothing deleted", file=sys.stderr)
            return EXIT_CHECK_FAILED
    if args.json:
        print_json({"deleted": deleted > 0, "versions": deleted})
    elif deleted:
        print(printable(f"deleted {_where(args)} ({deleted} versions)"))
    else:
        print(printable(f"no artifact {_where(args)}"))
    return EXIT_OK if deleted else EXIT_CHECK_FAILED


def _confirmed(args: argparse.Namespace, versions: int) -> bool:
    """Ask on a terminal whether to delete; a script (stdin not a terminal) is not asked."""
    if not sys.stdin.isatty():
        return True
    question = f"delete {_where(args)} with its {versions} versions? [y/N] "
    print(printable(question), end="", file=sys.stderr, flush=True)
    return sys.stdin.readline().strip().lower() in {"y", "yes"}
