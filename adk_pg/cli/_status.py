"""``adk-pg status``: the schema's version, what is stored, how big it is, and on Citus how
it is laid out."""

from __future__ import annotations

import argparse
from typing import Any

from adk_pg.cli._common import EXIT_CHECK_FAILED, EXIT_OK, Parents, open_pool
from adk_pg.cli._migrate import describe_status, migrate_command
from adk_pg.cli._output import citus_lines, citus_report, human_bytes, print_json
from adk_pg.db.dsn import redact_dsn
from adk_pg.ops.repository import OpsRepository
from adk_pg.schema.ledger import MigrationStatus
from adk_pg.schema.runner import check

__all__ = ["register"]


def register(commands: Any, parents: Parents) -> None:
    """Add ``status``."""
    status = commands.add_parser(
        "status",
        parents=[parents.database, parents.output],
        help="schema version, pending migrations, counts and table sizes",
        description="Show the schema version and pending migrations, the number of sessions, "
        "events, users and apps, and the size of each adk table. Exit codes: 0 schema "
        "current, 1 migrations pending (or the ledger disagrees with the files), 2 usage, "
        "3 database error.",
    )
    status.set_defaults(run=_status_command)


async def _status_command(args: argparse.Namespace, dsn: str) -> int:
    """``adk-pg status``."""
    async with open_pool(dsn, args.schema, check_schema=False) as pool:
        migrations = await check(pool, schema=args.schema)
        # Version 0: the tables do not exist yet, so there is nothing to count.
        ops = OpsRepository(pool, schema=args.schema)
        counts = await ops.status() if migrations.current_version else None
    report: dict[str, Any] = {
        "database": redact_dsn(dsn),
        "schema": args.schema,
        "schema_version": migrations.current_version,
        "schema_current": migrations.is_current,
        "pending_migrations": [m.label for m in migrations.pending],
        "sessions": None if counts is None else counts.sessions,
        "events": None if counts is None else counts.events,
        "users": None if counts is None else counts.users,
        "apps": None if counts is None else counts.apps,
        "memories": None if counts is None else counts.memories,
        "artifacts": None if counts is None else counts.artifacts,
        "table_bytes": None if counts is None else counts.table_bytes,
        "total_bytes": None if counts is None else sum(counts.table_bytes.values()),
        "citus": None if counts is None or counts.citus is None else citus_report(counts.citus),
    }
    if args.json:
        print_json(report)
    else:
        schema = f"{args.schema}: {_schema_line(migrations, args.schema)}"
        rows = [("database", report["database"]), ("schema", schema)]
        rows += [("", line) for line in describe_status(migrations, args.schema)[:-1]]
        if counts is not None:
            counted = ("sessions", "events", "users", "apps", "memories", "artifacts")
            rows += [(name, str(report[name])) for name in counted]
            parts = ", ".join(f"{k} {human_bytes(v)}" for k, v in counts.table_bytes.items())
            rows.append(("size", f"{human_bytes(report['total_bytes'])} ({parts})"))
            if counts.citus is not None:
                rows += [("citus", line) for line in citus_lines(counts.citus)]
        for name, value in rows:
            print(f"{name:<10} {value}".rstrip())
    return EXIT_OK if migrations.is_current else EXIT_CHECK_FAILED


def _schema_line(status: MigrationStatus, schema: str) -> str:
    if status.is_current:
        return f"version {status.current_version}, current"
    if status.modified or status.unknown_versions:
        return f"version {status.current_version}, does not match the migration files"
    return (
        f"version {status.current_version}, {len(status.pending)} pending migrations: "
        f"run `{migrate_command(schema)}`"
    )
