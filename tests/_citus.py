"""A throwaway database on every node of a Citus cluster, for a test run against Citus.

``ADK_PG_CITUS_DSN`` names a database of a running coordinator whose workers are added
(``pg_dist_node``). The run's database is created on the coordinator and on each worker, with
the citus extension in each, and the workers added to it; it is dropped on every node after.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from adk_pg.db.dsn import with_database
from adk_pg.schema.admin import create_database, drop_database

CITUS_DSN = os.environ.get("ADK_PG_CITUS_DSN")
HOW_TO_RUN = (
    "runs against a Citus coordinator only: set ADK_PG_CITUS_DSN=postgresql://user@host:port/db "
    "(a coordinator with its workers added) and run `make test-citus`"
)


def _on_node(dsn: str, host: str, port: int) -> str:
    """``dsn`` pointed at another node (same user, database and options)."""
    parts = urlsplit(dsn)
    user = parts.netloc.rpartition("@")[0]
    netloc = f"{user}@{host}:{port}" if user else f"{host}:{port}"
    return urlunsplit(parts._replace(netloc=netloc))


@asynccontextmanager
async def citus_database(coordinator_dsn: str, prefix: str) -> AsyncIterator[str]:
    """A new database on every node of the cluster, the workers added: its coordinator DSN."""
    conn = await asyncpg.connect(coordinator_dsn)
    try:
        workers = await conn.fetch(
            "SELECT nodename, nodeport FROM pg_dist_node WHERE groupid <> 0 ORDER BY nodeid"
        )
        host, port = await conn.fetchrow(
            "SELECT nodename, nodeport FROM pg_dist_node WHERE groupid = 0"
        ) or (urlsplit(coordinator_dsn).hostname, urlsplit(coordinator_dsn).port or 5432)
    finally:
        await conn.close()
    dsn = with_database(coordinator_dsn, f"{prefix}_{uuid.uuid4().hex[:12]}")
    nodes = [dsn, *(_on_node(dsn, w["nodename"], w["nodeport"]) for w in workers)]
    try:
        for node in nodes:
            await create_database(node)
            node_conn = await asyncpg.connect(node)
            try:
                await node_conn.execute("CREATE EXTENSION citus")
            finally:
                await node_conn.close()
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute("SELECT citus_set_coordinator_host($1, $2)", host, port)
            for w in workers:
                await conn.execute("SELECT citus_add_node($1, $2)", w["nodename"], w["nodeport"])
        finally:
            await conn.close()
        yield dsn
    finally:
        for node in nodes:
            await drop_database(node)
