"""Whether adk-pg's tables are distributed by Citus: learnt once per pool, then known.

A store on a distributed schema sends a few calls in the form Citus routes to one node (the
``_citus`` statements of ``sql/``); everything else is the same on one server and on Citus.
:func:`~adk_pg.db.pool.create_pool` asks the server once whether the citus extension is
installed; without it no schema of the pool is distributed and no call asks again. With it,
it also asks whether the pool's schema is distributed; a pool adk-pg did not create, or
another schema on a Citus pool, is asked by the first call that needs to know, once. A
schema distributed while a process runs is seen by its next pool.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from adk_pg.db.queries import Query, for_schema, load_queries

__all__ = ["QUERIES", "LayoutQueries", "is_distributed", "learn_citus"]


@dataclass(frozen=True)
class LayoutQueries:
    """The registry of ``sql/layout/``."""

    citus_version: Query
    distributed: Query


QUERIES = load_queries("layout", LayoutQueries)


class _Known:
    """What is known of one pool: whether its server has citus, which schemas are spread."""

    def __init__(self, pool: asyncpg.Pool, citus: bool) -> None:
        self.pool = pool
        self.citus = citus
        self.distributed: dict[str, bool] = {}


# By id(pool) (asyncpg pools take no weak references): each entry holds its pool, so an id
# is not reused while its entry lives; entries of closed pools go when the next is added.
_KNOWN: dict[int, _Known] = {}


async def learn_citus(pool: asyncpg.Pool, schema: str) -> _Known:
    """Ask the server whether the citus extension is installed and, if it is, whether the
    tables of ``schema`` are distributed; remember both for the pool.

    Raises:
        asyncpg.PostgresError, OSError: the server failed (callers translate).
    """
    installed = await pool.fetchval(QUERIES.citus_version.sql) is not None
    for key in [k for k, known in _KNOWN.items() if known.pool.is_closing()]:
        del _KNOWN[key]
    known = _KNOWN[id(pool)] = _Known(pool, installed)
    await is_distributed(pool, schema)
    return known


async def is_distributed(pool: asyncpg.Pool, schema: str) -> bool:
    """Whether the adk tables of ``schema`` are distributed (asked once per pool and schema).

    Raises:
        asyncpg.PostgresError, OSError: the server failed (callers translate).
    """
    known = _KNOWN.get(id(pool))
    if known is None or known.pool is not pool:
        known = await learn_citus(pool, schema)
    found = known.distributed.get(schema)
    if found is None:
        sql = for_schema(QUERIES, schema).distributed.sql
        found = known.citus and bool(await pool.fetchval(sql))
        known.distributed[schema] = found
    return found
