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

from adk_pg.db.dsn import mentions_secret, redact_dsn, secret_spellings
from adk_pg.db.layout import learn_citus
from adk_pg.db.pool_options import PoolConfig, pool_config
from adk_pg.errors import InvalidArgumentError, StorageError, storage_error, translate_errors

__all__ = ["create_pool", "dedicated_connection", "single_connection"]


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
        pool = await asyncpg.create_pool(config.dsn, **config.pool_kwargs)
    except (
        asyncpg.PostgresError,
        asyncpg.InterfaceError,
        OSError,
        TimeoutError,
        asyncio.TimeoutError,  # not yet TimeoutError on Python 3.10
        # asyncpg's own parsing of the connection settings (a port it cannot read, ...).
        ValueError,
        TypeError,
        OverflowError,
    ) as exc:
        failure: BaseException = exc
    else:
        try:
            with translate_errors("ask the server whether the citus extension is installed"):
                await learn_citus(pool, config.schema)
        except BaseException:
            await pool.close()
            raise
        return pool
    # Raised outside the except block so that a driver exception whose text holds a secret
    # is not attached as __context__ either; it is chained only when it is clean.
    secrets = secret_spellings([config.dsn], config.pool_kwargs)
    # A failure of asyncpg's own DSN parsing can quote a piece of it; its configuration
    # errors (a ValueError too) name settings.
    parsing = isinstance(failure, (ValueError, TypeError, OverflowError)) and not isinstance(
        failure, asyncpg.ClientConfigurationError
    )
    # Shown: its own text quotes no password. Chained: nothing in its chain does either.
    own_text = f"{failure!s} {failure.args!r}"
    shown = _shows_no_secret(failure) or not (
        parsing or any(secret in own_text for secret in secrets)
    )
    clean = shown and not parsing and not mentions_secret(failure, secrets)
    raise _connect_error(failure, config, shown=shown) from (failure if clean else None)


async def dedicated_connection(pool: asyncpg.Pool) -> asyncpg.Connection[asyncpg.Record]:
    """A new connection with ``pool``'s settings, outside it: the pool's size is untouched.

    For a connection held for long (a change-feed watcher's LISTEN), which a pool of short
    calls must not lend.

    Raises:
        StorageError: the connection could not be opened.
    """
    # asyncpg keeps what create_pool was given; a pool has no public way to open one more.
    args: Any = getattr(pool, "_connect_args")  # noqa: B009
    kwargs: Any = getattr(pool, "_connect_kwargs")  # noqa: B009
    with translate_errors("open a connection for the change feed"):
        conn: asyncpg.Connection[asyncpg.Record] = await asyncpg.connect(*args, **kwargs)
    return conn


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


def _shows_no_secret(exc: BaseException) -> bool:
    """Whether a driver failure's own text can never hold a password: the server's.

    The server does not know the password's text, so its messages ('password authentication
    failed for user "x"', 'database "x" does not exist') are shown as they are. Any other
    text (the operating system's, asyncpg's, a ``connect=`` hook's) is shown only when it
    quotes no spelling of a password; a ValueError from parsing is never shown, as it can
    quote a piece of one.
    """
    return isinstance(exc, asyncpg.PostgresError)


def _connect_error(
    exc: BaseException, config: PoolConfig, *, shown: bool
) -> InvalidArgumentError | StorageError:
    """The error create_pool raises for a driver failure: the DSN redacted, no secret."""
    where = redact_dsn(config.dsn)
    if not shown:
        detail = f"{type(exc).__name__} (its message is not shown: it may quote the password)"
    else:
        detail = str(exc) or type(exc).__name__
    if isinstance(exc, (ValueError, TypeError, OverflowError, asyncpg.ClientConfigurationError)):
        return InvalidArgumentError(f"invalid connection settings for {where}: {detail}")
    base = storage_error(exc, f"cannot open a connection pool to {where}")
    return StorageError(f"{base}: {detail}", sqlstate=base.sqlstate, retryable=base.retryable)
