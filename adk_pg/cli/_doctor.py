"""``adk-pg doctor``: the server, the schema and the tables' health, and what to do about it."""

from __future__ import annotations

import argparse
import dataclasses
from datetime import datetime
from typing import Any

from adk_pg.cli._common import EXIT_CHECK_FAILED, EXIT_OK, Parents, open_pool
from adk_pg.cli._migrate import describe_status
from adk_pg.cli._output import (
    citus_lines,
    citus_report,
    human_bytes,
    iso_utc,
    positive_int,
    print_json,
    print_table,
    printable,
    seconds,
    show_time,
)
from adk_pg.db.dsn import redact_dsn
from adk_pg.ops.diagnosis import Finding, ago, diagnose
from adk_pg.ops.doctor import Checkup, DoctorRepository, TableInfo

__all__ = ["register"]


def register(commands: Any, parents: Parents) -> None:
    """Add the ``doctor`` subcommand."""
    parser = commands.add_parser(
        "doctor",
        parents=[parents.database, parents.output],
        help="check the server, the schema and the tables; advise",
        description="Show the server's version and the settings that matter, the migration "
        "state, each adk table's size, estimated rows, dead tuples and last autovacuum, the "
        "indexes and whether they are used, the connections by application and state, "
        "long-running or idle-in-transaction sessions on adk tables, the top adk statements "
        "(pg_stat_statements) and replication lag; then one warning, with advice, per "
        "problem found. Runs as any role that can connect: a role without pg_monitor sees "
        "less, and is told what. Exit codes: 0 healthy, 1 warnings printed, 2 usage, "
        "3 database error (doctor could not run).",
    )
    parser.add_argument(
        "--long",
        type=seconds,
        default=60.0,
        metavar="SECONDS",
        help="a session busy or idle in a transaction this long is reported (default 60)",
    )
    parser.add_argument(
        "--top",
        type=positive_int,
        default=10,
        metavar="N",
        help="how many statements of pg_stat_statements to show (default 10)",
    )
    parser.set_defaults(run=_doctor_command)


async def _doctor_command(args: argparse.Namespace, dsn: str) -> int:
    """``adk-pg doctor``."""
    async with open_pool(dsn, args.schema, check_schema=False) as pool:
        checkup = await DoctorRepository(pool, schema=args.schema).checkup(
            long_after=args.long, top=args.top
        )
    findings = diagnose(checkup)
    if args.json:
        print_json(_report(checkup, findings, redact_dsn(dsn)))
    else:
        _print(checkup, findings, redact_dsn(dsn))
    return EXIT_CHECK_FAILED if findings else EXIT_OK


def _report(checkup: Checkup, findings: list[Finding], database: str) -> dict[str, Any]:
    def plain(value: Any) -> Any:
        if isinstance(value, datetime):
            return iso_utc(value)
        if isinstance(value, list):
            return [plain(v) for v in value]
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return value

    migrations = checkup.migrations
    return {
        "database": database,
        "healthy": not findings,
        "warnings": [plain(f) for f in findings],
        "server": plain(checkup.server),
        "schema": {
            "version": migrations.current_version,
            "current": migrations.is_current,
            "pending": [m.label for m in migrations.pending],
            "modified": [m.path.name for m in migrations.modified],
            "unknown_versions": migrations.unknown_versions,
        },
        "tables": [{**plain(t), "dead_share": t.dead_share} for t in checkup.tables],
        "indexes": plain(checkup.indexes),
        "connections": plain(checkup.connections),
        "long_sessions": plain(checkup.long_sessions),
        "statements": plain(checkup.statements),
        "statements_hint": checkup.statements_hint,
        "standbys": plain(checkup.standbys),
        "replay_delay_seconds": checkup.replay_delay_seconds,
        "hidden": checkup.hidden,
        "citus": None if checkup.citus is None else citus_report(checkup.citus),
    }


def _print(checkup: Checkup, findings: list[Finding], database: str) -> None:
    server = checkup.server
    who = "superuser" if server.superuser else ("pg_monitor" if server.reads_all_stats else "")
    role = f"role {server.role}" + (f" ({who})" if who else "")
    kind = "standby" if server.in_recovery else "primary"
    print(f"adk-pg doctor   {database}")
    print(f"server     PostgreSQL {server.server_version}, {kind}; {role}")
    print(
        f"settings   max_connections {server.max_connections} ({server.client_connections} in "
        f"use), shared_buffers {server.shared_buffers}, synchronous_commit "
        f"{server.synchronous_commit}, autovacuum {server.autovacuum}"
    )
    status = checkup.migrations
    current = f"version {status.current_version}, current"
    print(f"schema     {current if status.is_current else describe_status(status)[-1]}")
    since = show_time(server.stats_reset) if server.stats_reset else "the server's start"
    print(f"statistics since {since}")

    if checkup.citus is not None:
        _section("citus (sizes are the shards'; vacuum and statistics live on each worker)")
        for line in citus_lines(checkup.citus):
            print(printable(line))
    _section("tables (rows: the catalog's estimate; ~: live rows counted by the statistics)")
    print_table(
        ("TABLE", "ROWS", "SIZE", "INDEXES", "DEAD", "LAST AUTOVACUUM"),
        [
            (
                f"adk.{t.table_name}",
                _rows(t),
                human_bytes(t.total_bytes),
                human_bytes(t.index_bytes),
                f"{t.dead_share:.0%}",
                ago(t.autovacuum_age_seconds),
            )
            for t in checkup.tables
        ],
        right=frozenset({1, 2, 3, 4}),
    )
    _section("indexes (scans since the statistics were reset)")
    print_table(
        ("INDEX", "SIZE", "SCANS", "USED"),
        [
            (
                f"adk.{i.index_name}" + ("" if i.is_valid else " (INVALID)"),
                human_bytes(i.bytes),
                "?" if i.scans is None else f"{i.scans:,}",
                "yes" if i.scans else "no",
            )
            for i in checkup.indexes
        ],
        right=frozenset({1, 2}),
    )
    _section(f"connections to {server.database}")
    print_table(
        ("APPLICATION", "STATE", "CONNECTIONS"),
        [
            (c.application_name or "-", c.state or "(hidden)", str(c.connections))
            for c in checkup.connections
        ],
        right=frozenset({2}),
    )
    _section("long-running or idle-in-transaction sessions on adk tables")
    if not checkup.long_sessions:
        print("none")
    for s in checkup.long_sessions:
        print(
            printable(
                f"pid {s.pid}  {s.role}  {s.application_name or '-'}  {s.state} for "
                f"{s.seconds:.0f} s  locks {', '.join(s.tables)}"
            )
        )
    _section("top statements on adk tables (pg_stat_statements)")
    _print_statements(checkup)
    _section("replication")
    _print_replication(checkup)
    if checkup.hidden:
        _section(
            f"not visible to role {server.role} (GRANT pg_monitor TO {server.role} shows them)"
        )
        for what in checkup.hidden:
            print(f"- {what}")
    _section("warnings" if findings else "healthy: no warnings")
    for finding in findings:
        print(printable(f"! {finding.line}"))
        print(printable(f"  -> {finding.advice}"))
    if findings:
        print(f"{len(findings)} warning{'s' if len(findings) > 1 else ''}")


def _rows(table: TableInfo) -> str:
    """The catalog's estimate; before the first ANALYZE, the statistics' live rows."""
    if table.estimated_rows is not None:
        return f"{table.estimated_rows:,}"
    return "?" if table.live_tuples is None else f"~{table.live_tuples:,}"


def _section(title: str) -> None:
    print(f"\n{title}")


def _print_statements(checkup: Checkup) -> None:
    if checkup.statements is None:
        print(f"hint: {checkup.statements_hint}")
        return
    if not checkup.statements:
        print("none recorded yet")
        return
    print_table(
        ("STATEMENT", "CALLS", "MEAN ms", "TOTAL ms", "ROWS", "CACHE HIT"),
        [
            (
                s.name or _clip(s.query),
                f"{s.calls:,}",
                f"{s.mean_ms:.2f}",
                f"{s.total_ms:,.0f}",
                f"{s.rows:,}",
                "-" if s.hit_share is None else f"{s.hit_share:.0%}",
            )
            for s in checkup.statements
        ],
        right=frozenset({1, 2, 3, 4, 5}),
    )


def _print_replication(checkup: Checkup) -> None:
    if checkup.server.in_recovery:
        delay = checkup.replay_delay_seconds
        print(f"this server is a standby; last replayed transaction committed {ago(delay)}")
        return
    if not checkup.standbys:
        print("no standbys")
        return
    print_table(
        ("STANDBY", "STATE", "SYNC", "REPLAY LAG", "BEHIND"),
        [
            (
                s.application_name or s.client_addr or "?",
                s.state or "(hidden)",
                s.sync_state or "(hidden)",
                "-" if s.replay_lag_seconds is None else f"{s.replay_lag_seconds:.1f} s",
                "-" if s.replay_lag_bytes is None else human_bytes(s.replay_lag_bytes),
            )
            for s in checkup.standbys
        ],
        right=frozenset({3, 4}),
    )


def _clip(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
