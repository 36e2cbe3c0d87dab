"""The change feed's own connection: opened beside the pool, LISTENing on its app's channel,
checked that the LISTEN holds (it does not behind PgBouncer's transaction pooling) and that
the database announces changes at all; closed without waiting on a dead server.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeAlias

import asyncpg

from adk_pg.db.database import Database
from adk_pg.db.pool import dedicated_connection
from adk_pg.errors import StorageError
from adk_pg.sessions.hints import Hints
from adk_pg.sessions.queries import QUERIES

__all__ = ["check_listening", "close_quietly", "listen"]

# Quoted: asyncpg's classes are generic only in its stubs, not at run time.
_Connection: TypeAlias = "asyncpg.Connection[asyncpg.Record]"
# asyncio's TimeoutError is the builtin only from Python 3.11 on.
_TIMEOUTS = (TimeoutError, asyncio.TimeoutError)


async def listen(
    db: Database, app_name: str, hints: Hints, opened: Callable[[_Connection], None]
) -> tuple[_Connection, str]:
    """A connection of its own (not one of the pool's) LISTENing on the channel of
    ``app_name``, its notifications and its loss delivered to ``hints``; and the channel.
    ``opened`` gets the connection as soon as it is open, to close it whatever follows.

    Raises:
        StorageError: the server cannot be reached; or (not retryable) LISTEN does not
            hold on this connection, as behind PgBouncer's transaction pooling, or the
            change feed is off in this database.
    """
    queries = db.queries(QUERIES)
    conn = await dedicated_connection(db.pool)
    opened(conn)
    channel: str = await conn.fetchval(queries.watch_channel.sql, app_name)
    await conn.add_listener(channel, hints.on_notify)
    conn.add_termination_listener(hints.on_lost)
    await check_listening(db, conn, channel)
    return conn, channel


async def check_listening(db: Database, conn: _Connection, channel: str) -> None:
    """Raise unless the server behind ``conn`` still LISTENs on ``channel``.

    Raises:
        StorageError: not retryable: the LISTEN was lost, as behind transaction pooling,
            or the change feed is off in this database.
    """
    queries = db.queries(QUERIES)
    row = await conn.fetchrow(queries.watch_listening.sql, channel)
    assert row is not None  # no FROM: always one row
    if not row["feed_on"]:
        raise StorageError(
            "the change feed is off in this database: turn it on with "
            "ALTER DATABASE <name> SET adk_pg.change_feed = on (the writers' new "
            "connections announce changes from then on)",
            sqlstate=None,
            retryable=False,
        )
    if not row["listening"]:
        raise StorageError(
            "the change feed needs a connection that keeps its LISTEN: connect directly "
            "or through a session-pooled PgBouncer, not transaction pooling",
            sqlstate=None,
            retryable=False,
        )


async def close_quietly(conn: _Connection) -> None:
    """Close ``conn``; terminate it when the server does not answer within 2 s."""
    if conn.is_closed():
        return
    try:
        await asyncio.wait_for(conn.close(), timeout=2)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, *_TIMEOUTS):
        conn.terminate()
