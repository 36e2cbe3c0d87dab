"""Opening a pool on a database whose schema is current: what every store and service does.

A pool is opened from a DSN and options, then the schema is checked (or migrated); on any
failure the pool is closed again, so a caller never holds a pool on an outdated schema.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from adk_pg.db.pool import create_pool
from adk_pg.db.pool_options import pool_config
from adk_pg.schema.runner import ensure_current, migrate

__all__ = ["open_pool"]


async def open_pool(
    dsn: str | None, *, migrate_schema: bool, **pool_options: Any
) -> tuple[asyncpg.Pool, float | None, str]:
    """Open a pool on ``dsn`` and check (or, with ``migrate_schema``, apply) the migrations.

    Returns the pool, which the caller closes, its acquire timeout (``pool_timeout``) and
    the schema adk-pg's tables are in (``schema=`` or the DSN's ``?schema=``, else ``adk``).

    Raises:
        TypeError: an unknown pool option.
        InvalidArgumentError: a bad DSN or option value.
        SchemaOutdatedError: migrations are pending and ``migrate_schema`` is False.
        MigrationError: a migration failed, or an applied one was edited.
        StorageError: the server cannot be reached.
    """
    config = pool_config(dsn, **pool_options)
    pool = await create_pool(config)
    try:
        if migrate_schema:
            await migrate(pool, schema=config.schema)
        else:
            await ensure_current(pool, schema=config.schema)
    except BaseException:
        await pool.close()
        raise
    return pool, config.acquire_timeout, config.schema
