"""What every connection of an adk-pg pool is set up with: the json/jsonb codecs on each new
connection (:func:`init_connection`, before the caller's own ``init``), and a release that
sends nothing (:func:`keep_session_state`). :mod:`adk_pg.db.pool_options` puts them in every
pool's options.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeAlias

import asyncpg
import pydantic_core

__all__ = ["chain_init", "init_connection", "keep_session_state"]

# Quoted: asyncpg's classes are generic only in its stubs, not at run time.
_Connection: TypeAlias = "asyncpg.Connection[asyncpg.Record]"
_ConnectionHook: TypeAlias = "Callable[[_Connection], Awaitable[None]]"


async def init_connection(conn: asyncpg.Connection[Any]) -> None:
    """Register the jsonb and json codecs: Python objects in, Python objects out.

    Text format with pydantic_core's Rust encoder/decoder. For pg_catalog types asyncpg
    needs no introspection query, so this costs no round trip per new connection.

    Raises:
        asyncpg.PostgresError: the connection failed while registering.
    """
    for typename in ("jsonb", "json"):
        await conn.set_type_codec(
            typename,
            schema="pg_catalog",
            encoder=_encode_json,
            decoder=pydantic_core.from_json,
            format="text",
        )


def _encode_json(value: Any) -> str:
    return pydantic_core.to_json(value).decode()


async def keep_session_state(conn: asyncpg.Connection[Any]) -> None:
    """Release hook that sends nothing.

    asyncpg's default reset sends ``SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *;
    RESET ALL`` on every release: a second round trip per call. Before calling this hook
    asyncpg still runs ``Connection._reset()``, which rolls back an open transaction and drops
    listeners, so nothing half-done survives a release. What is skipped -- session-level SET,
    advisory locks, WITH HOLD cursors, LISTEN -- the store never uses; code that does so on
    our pool must undo it itself (or pass its own ``reset=``).
    """


def chain_init(user_init: _ConnectionHook | None) -> _ConnectionHook:
    """:func:`init_connection`, then the caller's own ``init`` hook if any."""
    if user_init is None:
        return init_connection

    async def init(conn: _Connection) -> None:
        # Ours first, so the caller's init already sees dicts for jsonb.
        await init_connection(conn)
        await user_init(conn)

    return init
