"""Citus: distributing adk-pg's tables by ``user_id`` over a cluster, and reading the layout.

Every key of adk-pg's tables starts with ``(app_name, user_id)``, so on a Citus coordinator
:func:`distribute` makes ``app_states`` a reference table (a copy on every node) and
distributes every other table by ``user_id``, colocated: a user's sessions, events, user
state, memories and artifacts sit on one node, and a statement naming one user is routed to
that node's shard. The statements are ``sql/citus/``; the migration ledger stays a local table
of the coordinator.
"""

from __future__ import annotations

from dataclasses import dataclass

from adk_pg.db.layout import QUERIES as LAYOUT_QUERIES
from adk_pg.db.queries import Query, for_schema, load_queries
from adk_pg.db.schema_name import DEFAULT_SCHEMA, check_schema
from adk_pg.errors import SchemaError, translate_errors
from adk_pg.schema.runner import Target, ensure_current, target_connection

__all__ = [
    "DISTRIBUTED_TABLES",
    "REFERENCE_TABLES",
    "ROUTED_FUNCTIONS",
    "CitusLayout",
    "CitusNode",
    "CitusTable",
    "distribute",
    "layout",
]

# In the order they are distributed: a table after the tables its foreign keys name.
DISTRIBUTED_TABLES = (
    "sessions",
    "events",
    "user_states",
    "memories",
    "artifacts",
    "artifact_contents",
    "artifact_versions",
)
REFERENCE_TABLES = ("app_states",)
# The functions a call of which Citus hands whole to the node of its user_id (migrations 0013,
# 0014).
ROUTED_FUNCTIONS = ("append_event_routed", "create_session_routed", "get_session_routed")


@dataclass(frozen=True)
class CitusQueries:
    """The registry of ``sql/citus/``."""

    citus_functions: Query
    citus_nodes: Query
    citus_tables: Query
    distribute_function: Query
    distribute_table: Query
    reference_table: Query


QUERIES = load_queries("citus", CitusQueries)


@dataclass(frozen=True)
class CitusTable:
    """One adk table as Citus manages it."""

    name: str
    kind: str
    """``distributed`` or ``reference``."""
    distribution_column: str | None
    colocation_id: int
    shard_count: int
    total_bytes: int
    """The size of every shard (tables, indexes, TOAST) over every node."""


@dataclass(frozen=True)
class CitusNode:
    """One active primary node of the cluster."""

    node: str
    """``host:port``, as the coordinator reaches it."""
    is_coordinator: bool
    shards: int
    """How many shards of adk tables it holds."""


@dataclass(frozen=True)
class CitusLayout:
    """The Citus cluster of a database and how the adk tables of a schema are laid out on it."""

    version: str
    nodes: list[CitusNode]
    tables: list[CitusTable]
    """The adk tables Citus manages (none before :func:`distribute`)."""

    @property
    def distributed(self) -> bool:
        """Whether the adk tables are distributed."""
        return any(t.kind == "distributed" for t in self.tables)


async def layout(target: Target, *, schema: str = DEFAULT_SCHEMA) -> CitusLayout | None:
    """The Citus layout of the adk tables of ``schema``: None without the citus extension.

    Raises:
        InvalidArgumentError: a bad schema name or DSN.
        StorageError: the database failed.
    """
    queries = for_schema(QUERIES, check_schema(schema))
    async with target_connection(target) as conn:
        with translate_errors("read the Citus layout"):
            version = await conn.fetchval(LAYOUT_QUERIES.citus_version.sql)
            if version is None:
                return None
            nodes = await conn.fetch(queries.citus_nodes.sql)
            tables = await conn.fetch(queries.citus_tables.sql)
    return CitusLayout(
        version=version,
        nodes=[CitusNode(r["node"], r["is_coordinator"], r["shards"]) for r in nodes],
        tables=[
            CitusTable(
                name=r["table_name"],
                kind=r["citus_table_type"],
                distribution_column=r["distribution_column"],
                colocation_id=r["colocation_id"],
                shard_count=r["shard_count"],
                total_bytes=r["total_bytes"],
            )
            for r in tables
        ],
    )


async def distribute(target: Target, *, schema: str = DEFAULT_SCHEMA) -> list[str]:
    """Lay out the migrated adk tables of ``schema`` on the Citus cluster of ``target`` (its
    coordinator): ``app_states`` a reference table, the others distributed by ``user_id``,
    colocated, and the session functions (create, append, get) routed by ``user_id``.
    Idempotent: returns the tables and functions it changed (none on a second run); run it
    again after a migration.

    Raises:
        InvalidArgumentError: a bad schema name or DSN.
        SchemaError: the database has no citus extension.
        SchemaOutdatedError: migrations are pending (run ``adk-pg migrate`` first).
        StorageError: the database failed; tables done before the failure stay done.
    """
    queries = for_schema(QUERIES, check_schema(schema))
    async with target_connection(target) as conn:
        await ensure_current(conn, schema=schema)
        with translate_errors("distribute the adk tables"):
            if await conn.fetchval(LAYOUT_QUERIES.citus_version.sql) is None:
                raise SchemaError(
                    "this database has no citus extension: `adk-pg distribute` lays adk-pg's "
                    "tables out on a Citus coordinator (CREATE EXTENSION citus, then add the "
                    'workers; see the README\'s "Scaling out")'
                )
            done = {r["table_name"] for r in await conn.fetch(queries.citus_tables.sql)}
            changed: list[str] = []
            for table in REFERENCE_TABLES:
                if table not in done:
                    await conn.fetchval(queries.reference_table.sql, f"{schema}.{table}")
                    changed.append(table)
            for table in DISTRIBUTED_TABLES:
                if table not in done:
                    # Each table is moved in its own transaction, colocated with the first.
                    colocate = "default" if table == "sessions" else f"{schema}.sessions"
                    async with conn.transaction():
                        await conn.fetchrow(
                            queries.distribute_table.sql, f"{schema}.{table}", colocate
                        )
                    changed.append(table)
            routed = {r["function_name"] for r in await conn.fetch(queries.citus_functions.sql)}
            for function in ROUTED_FUNCTIONS:
                if function not in routed:
                    await conn.fetchval(
                        queries.distribute_function.sql,
                        f"{schema}.{function}",
                        f"{schema}.sessions",
                    )
                    changed.append(function)
    return changed
