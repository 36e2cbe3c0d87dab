"""Where an ADK service finds its database: a DSN opened on first use, or a pool passed in.

Every adk-pg service for ADK takes the same arguments (``dsn`` / ``uri=`` / ``db_url=``, or
``pool=``; ``migrate=``; ``schema=``; pool options) and holds one :class:`ServiceConnection`.
Several services can share one pool: each is given the same ``pool=`` and never closes it.
The schema is ``schema=``, else the DSN's ``?schema=``, else ``adk``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg

from adk_pg.db.dsn import redact_dsn, resolve_dsn
from adk_pg.db.pool_options import pool_config
from adk_pg.db.schema_name import DEFAULT_SCHEMA, check_schema
from adk_pg.errors import StorageError
from adk_pg.schema.connect import open_pool
from adk_pg.schema.runner import migrate as run_migrations

__all__ = ["ServiceConnection", "normalise_dsn"]

# Keyword arguments ADK's service factories pass that are not pool options.
_IGNORED_FACTORY_KWARGS = frozenset({"agents_dir"})
_SCHEME_ALIASES = ("adkpg://", "adk-pg://")


def normalise_dsn(dsn: str) -> str:
    """``adkpg://...`` (the scheme registered with ADK) means ``postgresql://...``."""
    for alias in _SCHEME_ALIASES:
        if dsn.startswith(alias):
            return "postgresql://" + dsn[len(alias) :]
    return dsn


class ServiceConnection:
    """The pool behind one service: opened (and migrated) on first use, closed by close().

    Raises:
        TypeError: an unknown pool option, or pool options with a given pool.
        ValueError: several DSNs, a DSN and a pool, or a malformed DSN, option value or
            schema name.
    """

    def __init__(
        self,
        *,
        dsn: str | None,
        uri: str | None,
        db_url: str | None,
        pool: asyncpg.Pool | None,
        migrate: bool,
        options: dict[str, Any],
        schema: str | None = None,
    ) -> None:
        given = [value for value in (dsn, uri, db_url) if value is not None]
        if len(given) > 1:
            raise ValueError("give the database as one of dsn, uri= or db_url=, not several")
        if pool is not None and given:
            raise ValueError("give either a DSN or an existing pool=, not both")
        if pool is not None and not isinstance(pool, asyncpg.Pool):
            raise TypeError(f"pool= must be an asyncpg.Pool, not {type(pool).__name__}")
        pool_options = {k: v for k, v in options.items() if k not in _IGNORED_FACTORY_KWARGS}
        self.dsn: str | None = None
        if pool is None:
            self.dsn = normalise_dsn(resolve_dsn(given[0] if given else None))
            # Validates every option now: a typo fails here, not at the first query.
            self.schema = pool_config(self.dsn, **pool_options, schema=schema).schema
            pool_options["schema"] = self.schema
        elif pool_options:
            raise TypeError(f"pool options {sorted(pool_options)} cannot apply to a given pool")
        else:
            self.schema = check_schema(DEFAULT_SCHEMA if schema is None else schema)
        self._pool_options = pool_options
        self._given = pool
        self._migrate = migrate
        self._opened: tuple[asyncpg.Pool, float | None] | None = None
        self._closed = False
        self._opening = asyncio.Lock()

    def describe(self) -> str:
        """The database, password hidden (``<pool>`` for a pool passed in)."""
        return redact_dsn(self.dsn) if self.dsn else "<pool>"

    @property
    def pool(self) -> asyncpg.Pool | None:
        """The pool, once the service has been used (else None)."""
        return None if self._opened is None else self._opened[0]

    async def open(self, service: str) -> tuple[asyncpg.Pool, float | None]:
        """The pool and its acquire timeout, opened and migrated on the first call.

        Raises:
            StorageError: the service was closed, or the database cannot be reached.
            SchemaOutdatedError: migrations are pending and migrating is off.
            MigrationError: a migration failed.
        """
        if self._opened is not None:
            return self._opened
        if self._closed:
            # Reopening silently would leak a pool nobody closes.
            raise StorageError(f"{service} is closed", sqlstate=None, retryable=False)
        async with self._opening:
            if self._opened is None:
                if self._given is not None:
                    if self._migrate:
                        await run_migrations(self._given, schema=self.schema)
                    self._opened = (self._given, None)
                else:
                    pool, acquire_timeout, _ = await open_pool(
                        self.dsn, migrate_schema=self._migrate, **self._pool_options
                    )
                    self._opened = (pool, acquire_timeout)
            return self._opened

    async def close(self) -> None:
        """Close the pool if it was opened here; a pool passed in is left open."""
        self._closed = True
        opened, self._opened = self._opened, None
        if opened is not None and self._given is None:
            await opened[0].close()
