"""Opens asyncpg pools from a :class:`~adk_pg.db.pool_options.PoolConfig`, or a DSN and options.

No SQL lives here, nor DSN string handling (:mod:`adk_pg.db.dsn`) or option checking
(:mod:`adk_pg.db.pool_options`). Connection failures become
:class:`~adk_pg.errors.StorageError` messages that never contain the password.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from adk_pg.db.dsn import mentions_secret, redact_dsn, scrub, secret_spellings
from adk_pg.db.pool_options import PoolConfig, pool_config
from adk_pg.errors import InvalidArgumentError, StorageError, storage_error

__all__ = ["create_pool", "single_connection"]


async def create_pool(
    dsn: str | PoolConfig | None = None, **options: Any
) -> asyncpg.Pool[asyncpg.Record]:
    """Open an asyncpg pool from a DSN and options (see :func:`pool_config`) or a PoolConfig.

    Raises:
        TypeError: an unknown option, before any connection attempt.
        InvalidArgumentError: a bad DSN or option value, or settings asyncpg rejects.
        StorageError: the server cannot be reached or refuses us (message names the DSN
            with its password redacted).
    """
    if isinstance(dsn, PoolConfig):
        if options:
            raise TypeError("pass options to pool_config(), not with a PoolConfig")
        config = dsn
    else:
        config = pool_config(dsn, **options)
    try:
        return await asyncpg.create_pool(config.dsn, **config.pool_kwargs)
    except (
        asyncpg.PostgresError,
        asyncpg.InterfaceError,
        OSError,
        TimeoutError,
        asyncio.TimeoutError,  # not yet TimeoutError on Python 3.10
    ) as exc:
        failure: BaseException = exc
    # Raised outside the except block so that a driver exception whose text holds a secret
    # is not attached as __context__ either; it is chained only when it is clean.
    error = _connect_error(failure, config)
    secrets = _secrets(config)
    raise error from (None if mentions_secret(failure, secrets) else failure)


@asynccontextmanager
async def single_connection(
    dsn: str, **options: Any
) -> AsyncIterator[PoolConnectionProxy[asyncpg.Record]]:
    """One connection for a short job (migrating, creating a database), closed afterwards.

    A one-connection pool rather than ``asyncpg.connect``: the DSN gets the same parsing
    (schemes, query-string options asyncpg would send to the server) and connect errors the
    same password-free messages. Its only user never waits for it: no acquire timeout.

    Raises:
        TypeError: an unknown option.
        InvalidArgumentError: a bad DSN or option value.
        StorageError: the connection could not be opened.
    """
    pool = await create_pool(dsn, min_size=1, max_size=1, pool_timeout=None, **options)
    try:
        async with pool.acquire() as conn:
            yield conn
    finally:
        await pool.close()


def _connect_error(exc: BaseException, config: PoolConfig) -> InvalidArgumentError | StorageError:
    """The error create_pool raises for a driver failure, scrubbed of secrets."""
    where = redact_dsn(config.dsn)
    detail = scrub(str(exc), _secrets(config)) or type(exc).__name__
    if isinstance(exc, asyncpg.ClientConfigurationError):
        return InvalidArgumentError(f"invalid connection settings for {where}: {detail}")
    base = storage_error(exc, f"cannot open a connection pool to {where}")
    # Connection-time server messages ('password authentication failed for user "x"',
    # 'database "x" does not exist') name no payloads and are what the operator needs.
    return StorageError(f"{base}: {detail}", sqlstate=base.sqlstate, retryable=base.retryable)


def _secrets(config: PoolConfig) -> set[str]:
    """Every spelling of every password the config carries, for scrubbing messages."""
    return secret_spellings([config.dsn], config.pool_kwargs)
