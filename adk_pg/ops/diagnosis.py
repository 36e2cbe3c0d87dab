"""The doctor's rules: what in a :class:`~adk_pg.ops.doctor.Checkup` is a problem, and what to do.

Each :class:`Finding` is one problem in one line (``adk.events: 38 % dead tuples, last
autovacuum 3 days ago``) with one line of advice. Thresholds are where a problem starts to
cost something, not where a healthy, busy database already is: a table needs 1,000 dead
tuples and 20 % of its rows dead (autovacuum's own default trigger) before it counts.
"""

from __future__ import annotations

from dataclasses import dataclass

from adk_pg.db.schema_name import DEFAULT_SCHEMA
from adk_pg.ops.doctor import Checkup, LongSession, TableInfo

__all__ = ["DEAD_SHARE", "Finding", "ago", "diagnose"]

DEAD_SHARE = 0.2  # autovacuum_vacuum_scale_factor's default
DEAD_MIN = 1000
UNANALYZED_MIN = 1000  # live tuples in a table never analyzed
CONNECTIONS_SHARE = 0.8  # of max_connections, less the superusers' reserve
STANDBY_LAG_SECONDS = 60.0
STANDBY_LAG_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class Finding:
    """One problem: what it is about, what is wrong, and what to do."""

    subject: str
    problem: str
    advice: str

    @property
    def line(self) -> str:
        """``subject: problem``."""
        return f"{self.subject}: {self.problem}"


def diagnose(checkup: Checkup) -> list[Finding]:
    """Every problem in ``checkup``, the most urgent kinds first."""
    found = _schema(checkup) + _server(checkup)
    for table in checkup.tables:
        found += _table(table, checkup)
    for index in checkup.indexes:
        if not index.is_valid:
            found.append(
                Finding(
                    f"{checkup.schema}.{index.index_name}",
                    "invalid index (a CREATE INDEX CONCURRENTLY that failed): it is maintained "
                    "on every write and never used",
                    f"REINDEX INDEX CONCURRENTLY {checkup.schema}.{index.index_name}",
                )
            )
    found += [_long_session(s) for s in checkup.long_sessions]
    found += _replication(checkup)
    return found


def ago(seconds: float | None) -> str:
    """``3 days ago``, ``5 h ago``, ``12 min ago``, ``40 s ago``; ``never`` for None."""
    if seconds is None:
        return "never"
    for unit, size in (("days", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size * (2 if unit == "days" else 1):
            return f"{seconds // size:.0f} {unit} ago"
    return f"{max(seconds, 0):.0f} s ago"


def _schema(checkup: Checkup) -> list[Finding]:
    status = checkup.migrations
    what = f"schema {checkup.schema}"
    migrate = "adk-pg migrate" + (
        "" if checkup.schema == DEFAULT_SCHEMA else f" --schema {checkup.schema}"
    )
    if not checkup.server.has_schema or status.current_version == 0:
        return [Finding(what, "does not exist", f"run `{migrate}`")]
    if status.modified or status.unknown_versions:
        return [
            Finding(
                what,
                f"version {status.current_version} does not match this adk-pg's migration files",
                f"run `{migrate} --check` to see which, and use the adk-pg that applied them",
            )
        ]
    if status.pending:
        return [
            Finding(
                what,
                f"{len(status.pending)} migrations pending (version {status.current_version})",
                f"run `{migrate}`",
            )
        ]
    return []


def _server(checkup: Checkup) -> list[Finding]:
    server = checkup.server
    found = []
    if server.autovacuum != "on" or server.track_counts != "on":
        found.append(
            Finding(
                "server",
                f"autovacuum is {server.autovacuum} (track_counts {server.track_counts}): "
                "dead tuples pile up and the planner's statistics go stale",
                "set autovacuum = on and track_counts = on in postgresql.conf and reload",
            )
        )
    usable = server.max_connections - server.reserved_connections
    if usable > 0 and server.client_connections >= CONNECTIONS_SHARE * usable:
        found.append(
            Finding(
                "server",
                f"{server.client_connections} of {usable} connections in use",
                "lower pool_size + max_overflow per process, or put PgBouncer in front",
            )
        )
    return found


def _table(table: TableInfo, checkup: Checkup) -> list[Finding]:
    name = f"{checkup.schema}.{table.table_name}"
    found = []
    dead = table.dead_tuples or 0
    if dead >= DEAD_MIN and table.dead_share >= DEAD_SHARE:
        if not table.autovacuum_enabled:
            why, advice = (
                "autovacuum is off for this table",
                f"ALTER TABLE {name} RESET (autovacuum_enabled); then VACUUM (ANALYZE) {name}",
            )
        elif checkup.server.autovacuum != "on":
            why, advice = "autovacuum is off", f"turn autovacuum on; now: VACUUM (ANALYZE) {name}"
        else:
            why, advice = (
                "autovacuum is not keeping up (or a long transaction holds it back)",
                f"VACUUM (ANALYZE) {name}; if it recurs, lower its autovacuum_vacuum_scale_factor",
            )
        found.append(
            Finding(
                name,
                f"{table.dead_share:.0%} dead tuples ({dead:,}), last autovacuum "
                f"{ago(table.autovacuum_age_seconds)}; {why}",
                advice,
            )
        )
    if table.last_analyze is None and (table.live_tuples or 0) >= UNANALYZED_MIN:
        found.append(
            Finding(
                name,
                f"never analyzed, with {table.live_tuples:,} rows: the planner is guessing",
                f"ANALYZE {name}",
            )
        )
    return found


def _long_session(session: LongSession) -> Finding:
    tables = ", ".join(session.tables)
    who = f"pid {session.pid} ({session.role}"
    who += f", {session.application_name})" if session.application_name else ")"
    if session.state == "active":
        waiting = f", waiting on {session.wait_event_type}" if session.wait_event_type else ""
        return Finding(
            who,
            f"one statement running for {session.seconds:.0f} s{waiting}, locking {tables}",
            f"look at it, or cancel it: SELECT pg_cancel_backend({session.pid})",
        )
    return Finding(
        who,
        f"{session.state} for {session.seconds:.0f} s, locking {tables}: it holds back "
        "vacuum and blocks DDL",
        f"end it (SELECT pg_terminate_backend({session.pid})) and set "
        "idle_in_transaction_session_timeout",
    )


def _replication(checkup: Checkup) -> list[Finding]:
    found = []
    for standby in checkup.standbys:
        name = f"standby {standby.application_name or standby.client_addr or '?'}"
        if standby.state not in (None, "streaming"):
            found.append(
                Finding(name, f"is {standby.state}, not streaming", "check the standby's log")
            )
        seconds, size = standby.replay_lag_seconds, standby.replay_lag_bytes
        if (seconds or 0) >= STANDBY_LAG_SECONDS or (size or 0) >= STANDBY_LAG_BYTES:
            found.append(
                Finding(
                    name,
                    f"replays {seconds or 0:.0f} s ({(size or 0) / 2**20:.0f} MB) behind",
                    "reads from it are stale; check its disk and network, and long queries on it",
                )
            )
    return found
