"""``adk-pg migrate [--check] [--create-database]`` and ``adk-pg distribute``."""

from __future__ import annotations

import argparse
from typing import Any
from urllib.parse import unquote, urlsplit

from adk_pg.cli._common import EXIT_CHECK_FAILED, EXIT_OK, Parents
from adk_pg.db.schema_name import DEFAULT_SCHEMA
from adk_pg.schema.admin import create_database
from adk_pg.schema.citus import distribute
from adk_pg.schema.files import load_migrations
from adk_pg.schema.ledger import MigrationStatus
from adk_pg.schema.runner import check, migrate

__all__ = ["describe_status", "migrate_command", "register"]


def register(commands: Any, parents: Parents) -> None:
    """Add the ``migrate`` and ``distribute`` subcommands."""
    parser = commands.add_parser(
        "migrate",
        parents=[parents.database],
        help="apply the pending schema migrations",
        description="Apply the pending migrations to schema adk (or --schema: created if "
        "missing, with its own ledger, so several adk-pg stores can share one database). On "
        "a current schema this only reads its schema_migrations. Exit codes: 0 done (or "
        "current), 1 --check found pending or modified migrations, 2 usage, 3 database or "
        "migration error.",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="apply nothing; list pending or modified migrations and exit 1 if there are any",
    )
    parser.add_argument(
        "--create-database",
        action="store_true",
        help="first create the database if it does not exist (via the server's postgres db)",
    )
    parser.set_defaults(run=_migrate_command)
    spread = commands.add_parser(
        "distribute",
        parents=[parents.database],
        help="lay the adk tables out on a Citus cluster, sharded by user_id",
        description="On a Citus coordinator (CREATE EXTENSION citus, workers added), after "
        "`adk-pg migrate`: make app_states a reference table (a copy on every node) and "
        "distribute every other adk table by user_id, colocated, so each call on one user's "
        "session runs on one shard. Idempotent. Exit codes: 0 done (or already distributed), "
        "2 usage, 3 database error, no citus extension, or pending migrations.",
    )
    spread.set_defaults(run=_distribute_command)


async def _migrate_command(args: argparse.Namespace, dsn: str) -> int:
    """``adk-pg migrate``: create the database if asked, then check or apply."""
    if args.create_database and await create_database(dsn):
        print(f"created database {_database_name(dsn)}")
    if args.check:
        status = await check(dsn, schema=args.schema)
        for line in describe_status(status, args.schema):
            print(line)
        return EXIT_OK if status.is_current else EXIT_CHECK_FAILED
    applied = await migrate(dsn, schema=args.schema)
    for migration in applied:
        print(f"applied {migration.label} to {args.schema} ({migration.duration_ms:.0f} ms)")
    # migrate() returns only after the ledger matches every file, so the last file's
    # version is the database's; no second round trip to ask.
    print(f"schema is current (version {load_migrations()[-1].version})")
    return EXIT_OK


async def _distribute_command(args: argparse.Namespace, dsn: str) -> int:
    """``adk-pg distribute``: distribute what is not yet, say what was done."""
    changed = await distribute(dsn, schema=args.schema)
    for table in changed:
        print(f"distributed {args.schema}.{table}")
    print(f"the {args.schema} tables are distributed" + ("" if changed else " (nothing to do)"))
    return EXIT_OK


def migrate_command(schema: str) -> str:
    """The command that migrates ``schema``."""
    return "adk-pg migrate" + ("" if schema == DEFAULT_SCHEMA else f" --schema {schema}")


def describe_status(status: MigrationStatus, schema: str = DEFAULT_SCHEMA) -> list[str]:
    """What ``--check`` found, one line per migration, then a summary line."""
    lines = [f"pending {m.label}" for m in status.pending]
    lines += [
        f"modified {m.path.name} (edited after it was applied; restore it)" for m in status.modified
    ]
    lines += [
        f"unknown {v:04d} (applied, but this adk-pg has no such migration file)"
        for v in status.unknown_versions
    ]
    if status.is_current:
        lines.append(f"schema is current (version {status.current_version})")
    elif status.modified or status.unknown_versions:
        lines.append(
            f"schema does not match the migration files (version {status.current_version})"
        )
    else:
        lines.append(
            f"schema is behind (version {status.current_version}, {len(status.pending)} "
            f"pending): run `{migrate_command(schema)}`"
        )
    return lines


def _database_name(dsn: str) -> str:
    """The database a DSN names (for messages)."""
    return unquote(urlsplit(dsn).path.lstrip("/"))
