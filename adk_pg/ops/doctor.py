"""What ``adk-pg doctor`` reads: the server, the migrations, and the catalog's statistics.

:class:`DoctorRepository` runs the statements of ``sql/doctor/``, each on its own, and keeps
going when one is refused: a role without ``pg_read_all_stats`` (the least-privilege runtime
role) sees its own sessions and statements only, and :attr:`Checkup.hidden` says what it
could not see. Row counts are the catalog's estimates, never ``count(*)``. Nothing read here
quotes a stored value: the statements of pg_stat_statements are normalised (constants are
``$n``), and other sessions' query text is never read. :mod:`adk_pg.ops.diagnosis` turns a
:class:`Checkup` into warnings.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg

from adk_pg.db.queries import for_schema
from adk_pg.db.schema_name import DEFAULT_SCHEMA, check_schema
from adk_pg.errors import StorageError, translate_errors
from adk_pg.ops.queries import DOCTOR_QUERIES as Q
from adk_pg.ops.statement_names import DOCTOR_NAMES, statement_name
from adk_pg.schema.citus import CitusLayout, layout
from adk_pg.schema.ledger import MigrationStatus
from adk_pg.schema.runner import check

__all__ = [
    "Checkup",
    "ConnectionCount",
    "DoctorRepository",
    "IndexInfo",
    "LongSession",
    "ServerInfo",
    "StandbyInfo",
    "StatementInfo",
    "TableInfo",
]

_INSUFFICIENT_PRIVILEGE = "42501"


@dataclass(frozen=True)
class ServerInfo:
    """The server, the settings that matter, and the role doctor runs as."""

    server_version: str
    server_version_num: int
    database: str
    role: str
    superuser: bool
    reads_all_stats: bool
    in_recovery: bool
    max_connections: int
    reserved_connections: int
    shared_buffers: str
    synchronous_commit: str
    autovacuum: str
    track_counts: str
    idle_in_transaction_timeout: str
    client_connections: int
    stats_reset: datetime | None
    has_schema: bool


@dataclass(frozen=True)
class TableInfo:
    """One table of schema adk: sizes in bytes, estimates, vacuum and analyze times."""

    table_name: str
    total_bytes: int
    table_bytes: int
    index_bytes: int
    estimated_rows: int | None
    live_tuples: int | None
    dead_tuples: int | None
    last_vacuum: datetime | None
    last_autovacuum: datetime | None
    last_analyze: datetime | None
    autovacuum_age_seconds: float | None
    vacuum_age_seconds: float | None
    autovacuum_enabled: bool

    @property
    def dead_share(self) -> float:
        """Dead tuples over all tuples (0 when there are none)."""
        live, dead = self.live_tuples or 0, self.dead_tuples or 0
        return dead / (live + dead) if live + dead else 0.0


@dataclass(frozen=True)
class IndexInfo:
    """One index of schema adk: size in bytes, scans since the statistics were reset."""

    table_name: str
    index_name: str
    bytes: int
    scans: int | None
    is_unique: bool
    is_primary: bool
    is_valid: bool


@dataclass(frozen=True)
class ConnectionCount:
    """Connections to this database with one application name and state (None: hidden)."""

    application_name: str
    state: str | None
    connections: int


@dataclass(frozen=True)
class LongSession:
    """A session that holds a lock on an adk table and has been busy or idle in a
    transaction for long."""

    pid: int
    role: str
    application_name: str
    state: str
    seconds: float
    transaction_seconds: float | None
    wait_event_type: str | None
    wait_event: str | None
    tables: list[str]


@dataclass(frozen=True)
class StatementInfo:
    """One statement on schema adk from pg_stat_statements; ``name`` is adk-pg's query name
    when it is one of adk-pg's statements."""

    name: str | None
    query: str
    calls: int
    total_ms: float
    mean_ms: float
    rows: int
    hit_share: float | None


@dataclass(frozen=True)
class StandbyInfo:
    """A standby streaming from this server, and how far behind it is."""

    application_name: str
    client_addr: str | None
    state: str | None
    sync_state: str | None
    replay_lag_seconds: float | None
    replay_lag_bytes: int | None


@dataclass
class Checkup:
    """Everything doctor read. ``statements`` is None when pg_stat_statements cannot be read
    (``statements_hint`` says how to enable it); ``hidden`` lists what the role could not see.
    """

    server: ServerInfo
    migrations: MigrationStatus
    schema: str = DEFAULT_SCHEMA
    tables: list[TableInfo] = field(default_factory=list)
    indexes: list[IndexInfo] = field(default_factory=list)
    connections: list[ConnectionCount] = field(default_factory=list)
    long_sessions: list[LongSession] = field(default_factory=list)
    statements: list[StatementInfo] | None = None
    statements_hint: str | None = None
    standbys: list[StandbyInfo] = field(default_factory=list)
    replay_delay_seconds: float | None = None
    hidden: list[str] = field(default_factory=list)
    citus: CitusLayout | None = None
    """The Citus layout, on a coordinator (then the tables' sizes are their shards')."""


class DoctorRepository:
    """The doctor's reads of ``schema``'s tables, on a pool the caller owns (and closes)."""

    def __init__(self, pool: asyncpg.Pool, *, schema: str = DEFAULT_SCHEMA) -> None:
        self._pool = pool
        self._schema = check_schema(schema)
        self._q = for_schema(Q, schema)

    async def _fetch(self, action: str, sql: str, *args: Any) -> list[asyncpg.Record]:
        with translate_errors(f"doctor: read {action}"):
            async with self._pool.acquire() as conn:
                rows: list[asyncpg.Record] = await conn.fetch(sql, *args)
                return rows

    async def checkup(self, *, long_after: float = 60.0, top: int = 10) -> Checkup:
        """Read everything; sessions count as long after ``long_after`` seconds.

        Raises:
            StorageError: the database failed (a refused statistics view is not a failure:
                it goes into :attr:`Checkup.hidden`).
        """
        (server_row,) = await self._fetch("the server", self._q.doctor_server.sql)
        server = ServerInfo(**dict(server_row))
        migrations = await check(self._pool, schema=self._schema)
        report = Checkup(server=server, migrations=migrations, schema=self._schema)
        report.tables = [
            TableInfo(**dict(r)) for r in await self._fetch("tables", self._q.doctor_tables.sql)
        ]
        report.citus = await layout(self._pool, schema=self._schema)
        if report.citus is not None:
            # The coordinator's tables are empty shells: their size is the shards'.
            sizes = {t.name: t.total_bytes for t in report.citus.tables}
            report.tables = [
                dataclasses.replace(t, total_bytes=sizes.get(t.table_name, t.total_bytes))
                for t in report.tables
            ]
        report.indexes = [
            IndexInfo(**dict(r)) for r in await self._fetch("indexes", self._q.doctor_indexes.sql)
        ]
        report.connections = [
            ConnectionCount(**dict(r))
            for r in await self._fetch("connections", self._q.doctor_connections.sql)
        ]
        report.long_sessions = [
            LongSession(**{**dict(r), "tables": list(r["tables"])})
            for r in await self._fetch(
                "long sessions", self._q.doctor_long_sessions.sql, float(long_after)
            )
        ]
        await self._statements(report, top)
        await self._replication(report)
        if not (server.superuser or server.reads_all_stats):
            report.hidden = [
                "the state of other roles' connections",
                "other roles' long-running or idle-in-transaction sessions",
                "other roles' statements in pg_stat_statements",
                "replication lag",
            ]
        return report

    async def _statements(self, report: Checkup, top: int) -> None:
        with translate_errors("doctor: read pg_stat_statements"):
            async with self._pool.acquire() as conn, conn.transaction(readonly=True):
                if await conn.fetchrow(self._q.doctor_statements_path.sql) is None:
                    report.statements_hint = (
                        "pg_stat_statements is not installed: add it to "
                        "shared_preload_libraries (a restart), then CREATE EXTENSION "
                        "pg_stat_statements; in this database"
                    )
                    return
                try:
                    rows = await conn.fetch(self._q.doctor_statements.sql, top)
                except asyncpg.ObjectNotInPrerequisiteStateError:
                    report.statements_hint = (
                        "pg_stat_statements is installed but not loaded: add it to "
                        "shared_preload_libraries and restart the server"
                    )
                    return
                except asyncpg.InsufficientPrivilegeError:
                    report.statements_hint = f"role {report.server.role} may not read it"
                    return
        found = [_statement(row, self._schema) for row in rows]
        # The doctor's own reads name adk tables too; they are not the application's.
        report.statements = [s for s in found if s.name not in DOCTOR_NAMES]

    async def _replication(self, report: Checkup) -> None:
        try:
            if report.server.in_recovery:
                (row,) = await self._fetch("the replay delay", self._q.doctor_replica.sql)
                report.replay_delay_seconds = row["replay_delay_seconds"]
            else:
                report.standbys = [
                    StandbyInfo(**dict(r))
                    for r in await self._fetch("the standbys", self._q.doctor_standbys.sql)
                ]
        except StorageError as exc:
            if exc.sqlstate != _INSUFFICIENT_PRIVILEGE:
                raise


def _statement(row: asyncpg.Record, schema: str) -> StatementInfo:
    hit, read = row["shared_blks_hit"], row["shared_blks_read"]
    return StatementInfo(
        name=statement_name(row["query"], schema),
        query=" ".join(row["query"].split()),
        calls=row["calls"],
        total_ms=row["total_ms"],
        mean_ms=row["mean_ms"],
        rows=row["rows"],
        hit_share=hit / (hit + read) if hit + read else None,
    )
