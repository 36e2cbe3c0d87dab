"""The one way a store reaches the database: :class:`Database`, whose every call is reported.

A store holds a ``Database`` instead of a bare pool and runs each public call as::

    async with self._db.call("append_event", "events", session_id=...) as call:
        row = await call.fetchrow(db.queries(QUERIES).append_event.sql, ...)

The ``Database`` knows the pool, the schema (its statements' SQL, whether Citus distributes
it) and what is reported; each call is a :class:`~adk_pg.db.calls.Call`.
"""

from __future__ import annotations

from typing import Any, TypeVar

import asyncpg
from opentelemetry import trace

from adk_pg.db.calls import Call
from adk_pg.db.layout import is_distributed
from adk_pg.db.queries import for_schema
from adk_pg.db.schema_name import DEFAULT_SCHEMA, check_schema
from adk_pg.db.telemetry import (
    DB_COLLECTION_NAME,
    DB_OPERATION_NAME,
    DB_SYSTEM_NAME,
    SCOPE,
    Telemetry,
    check_telemetry,
    global_tracing,
    instruments,
    pool_state,
)

__all__ = ["Database"]

_Registry = TypeVar("_Registry")


class Database:
    """An asyncpg pool as a store uses it: each call a span, a duration and a log line.

    The pool belongs to the caller; ``acquire_timeout`` bounds the wait for a connection;
    ``telemetry`` (default: :data:`~adk_pg.db.telemetry.DEFAULT_TELEMETRY`) says what is
    reported; ``schema`` is the schema the tables are in (spans name ``schema.table``).

    Raises:
        TypeError: ``pool`` is not an asyncpg pool.
        InvalidArgumentError: ``telemetry`` is not a Telemetry, or a bad schema name.
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        acquire_timeout: float | None = None,
        telemetry: Telemetry | None = None,
        schema: str = DEFAULT_SCHEMA,
    ) -> None:
        if not isinstance(pool, asyncpg.Pool):
            raise TypeError(f"adk-pg needs an asyncpg.Pool, not {type(pool).__name__}")
        self.pool = pool
        self.schema = check_schema(schema)
        self.acquire_timeout = acquire_timeout
        self.telemetry = check_telemetry(telemetry)
        self.state = pool_state(pool)
        self.tracer = trace.get_tracer(SCOPE, tracer_provider=self.telemetry.tracer_provider)
        self.instruments = instruments(self.telemetry.meter_provider)
        if self.telemetry.enabled:
            self.instruments.watch(self.state)
        # Per (operation, table): the attributes every span and measurement of it carries,
        # kept once the server's address is known.
        self._attributes: dict[tuple[str, str], dict[str, Any]] = {}

    def queries(self, registry: _Registry) -> _Registry:
        """``registry`` (a domain's QUERIES) with its SQL in this database's schema."""
        return for_schema(registry, self.schema)

    async def distributed(self) -> bool:
        """Whether the schema's tables are distributed by Citus (see :mod:`adk_pg.db.layout`).

        Raises:
            asyncpg.PostgresError, OSError: the server failed (callers translate).
        """
        return await is_distributed(self.pool, self.schema)

    def call(
        self,
        operation: str,
        table: str,
        *,
        session_id: str | None = None,
        app_name: str | None = None,
        user_id: str | None = None,
    ) -> Call:
        """One reported call: ``operation`` (the query's name) on ``table`` of the schema."""
        collection = f"{self.schema}.{table}"
        return Call(self, operation, collection, session_id, app_name, user_id)

    def tracing(self, now: float) -> bool:
        """Whether a span of this call can be recorded: a provider was given, or an SDK was
        set up globally (see :func:`~adk_pg.db.telemetry.global_tracing`)."""
        return self.telemetry.tracer_provider is not None or global_tracing(now)

    def attributes(self, operation: str, collection: str) -> dict[str, Any]:
        """The attributes of every span and measurement of this operation."""
        key = (operation, collection)
        found = self._attributes.get(key)
        if found is None:
            found = {
                DB_SYSTEM_NAME: "postgresql",
                DB_OPERATION_NAME: operation,
                DB_COLLECTION_NAME: collection,
                **self.state.server,
            }
            if self.state.name is not None:
                self._attributes[key] = found
        return found
