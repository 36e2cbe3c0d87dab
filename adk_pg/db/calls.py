"""One reported call of a store: :class:`Call`, made by :meth:`Database.call
<adk_pg.db.database.Database.call>`.

A call is one OpenTelemetry span (a child of the current span: ADK's ``invoke_agent`` or
``execute_tool``), one ``db.client.operation.duration`` measurement, a DEBUG log line (a
WARNING when slow), and every connection it takes is timed as ``db.client.connection.wait_time``.
A call may run several statements (an append that raced a writer runs a second one): it is
still one span. A new store gets all of this by taking its connections here.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator
from types import TracebackType
from typing import TYPE_CHECKING, Any

import asyncpg
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from adk_pg.db.telemetry import (
    APP_NAME,
    CONVERSATION_ID,
    ERROR_TYPE,
    USER_ID,
    error_attributes,
    logger,
)

if TYPE_CHECKING:
    from adk_pg.db.database import Database

__all__ = ["Call"]

_Connection = Any  # asyncpg's PoolConnectionProxy; its stub types every method it forwards


class Call:
    """One public call of a store: an async context manager that runs its statements."""

    __slots__ = (
        "_app_name",
        "_collection",
        "_db",
        "_first",
        "_operation",
        "_session_id",
        "_span",
        "_started",
        "_user_id",
    )

    def __init__(
        self,
        db: Database,
        operation: str,
        collection: str,
        session_id: str | None,
        app_name: str | None,
        user_id: str | None,
    ) -> None:
        self._db = db
        self._operation = operation
        self._collection = collection
        self._session_id = session_id
        self._app_name = app_name
        self._user_id = user_id
        self._span: trace.Span | None = None
        self._started = 0.0
        self._first = False

    async def __aenter__(self) -> Call:
        db = self._db
        self._started = time.perf_counter()
        if not db.telemetry.enabled or not db.tracing(self._started):
            return self
        # Every attribute at once: an SDK span copies and checks them once, not one by one.
        attributes = db.attributes(self._operation, self._collection)
        if self._session_id is not None or db.telemetry.record_ids:
            attributes = {**attributes, **self._ids()}
        span = db.tracer.start_span(
            f"{self._operation} {self._collection}", kind=SpanKind.CLIENT, attributes=attributes
        )
        if span.is_recording():
            # Not made current: nothing of adk-pg runs under it, and measurements taken in a
            # span's context would each cost an exemplar.
            self._span = span
            self._first = db.state.name is None
        else:
            span.end()
        return self

    def _ids(self) -> dict[str, str]:
        ids = {} if self._session_id is None else {CONVERSATION_ID: self._session_id}
        if self._db.telemetry.record_ids:
            if self._app_name is not None:
                ids[APP_NAME] = self._app_name
            if self._user_id is not None:
                ids[USER_ID] = self._user_id
        return ids

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        db = self._db
        elapsed = time.perf_counter() - self._started
        if not db.telemetry.enabled:
            return
        attributes = db.attributes(self._operation, self._collection)
        if exc is not None:
            attributes = {**attributes, **error_attributes(exc)}
        span = self._span
        if span is not None:
            if exc is not None:
                span.set_attributes(attributes)
                span.set_status(Status(StatusCode.ERROR, attributes[ERROR_TYPE]))
            elif self._first:
                # The pool's address is learnt at its first connection: this call's.
                span.set_attributes(db.state.server)
            span.end()
        db.instruments.duration.record(elapsed, attributes)
        self._log(elapsed, attributes.get(ERROR_TYPE))

    def _log(self, elapsed: float, error: str | None) -> None:
        telemetry = self._db.telemetry
        slow = elapsed * 1000 >= telemetry.slow_call_ms
        if not slow and not logger.isEnabledFor(logging.DEBUG):
            return
        ids = [] if self._session_id is None else [f"session_id={self._session_id!r}"]
        if telemetry.record_ids:
            ids += [] if self._app_name is None else [f"app_name={self._app_name!r}"]
            ids += [] if self._user_id is None else [f"user_id={self._user_id!r}"]
        outcome = "" if error is None else f", failed: {error}"
        level, prefix = (logging.WARNING, "slow call: ") if slow else (logging.DEBUG, "")
        logger.log(
            level,
            "%s%s %s took %.1f ms (%s)%s",
            prefix,
            self._operation,
            self._collection,
            elapsed * 1000,
            ", ".join(ids) or "no ids",
            outcome,
        )

    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        """Run one statement on a pooled connection; return its first row (or None)."""
        conn = await self._acquire()
        try:
            row: asyncpg.Record | None = await conn.fetchrow(sql, *args)
            return row
        finally:
            await self._db.pool.release(conn)

    @contextlib.asynccontextmanager
    async def transaction(self, isolation: str | None = None) -> AsyncIterator[_Connection]:
        """A pooled connection in a transaction (of asyncpg's ``isolation`` level, e.g.
        ``repeatable_read``) for a call of several statements: committed when the block
        ends, rolled back when it raises."""
        conn = await self._acquire()
        try:
            async with conn.transaction(isolation=isolation):
                yield conn
        finally:
            await self._db.pool.release(conn)

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        """Run one statement on a pooled connection; return its rows."""
        conn = await self._acquire()
        try:
            rows: list[asyncpg.Record] = await conn.fetch(sql, *args)
            return rows
        finally:
            await self._db.pool.release(conn)

    async def execute(self, sql: str, *args: Any) -> str:
        """Run one statement on a pooled connection; return its status tag."""
        conn = await self._acquire()
        try:
            status: str = await conn.execute(sql, *args)
            return status
        finally:
            await self._db.pool.release(conn)

    async def _acquire(self) -> _Connection:
        """A connection from the pool, its wait measured (and logged when long)."""
        db = self._db
        state = db.state
        state.pending += 1
        started = time.perf_counter()
        try:
            conn = await db.pool.acquire(timeout=db.acquire_timeout)
        except BaseException:
            state.pending -= 1
            self._waited(time.perf_counter() - started, gave_up=True)
            raise
        state.pending -= 1
        if state.name is None:
            state.resolve(conn)
        self._waited(time.perf_counter() - started, gave_up=False)
        return conn

    def _waited(self, waited: float, *, gave_up: bool) -> None:
        db = self._db
        telemetry = db.telemetry
        if not telemetry.enabled:
            return
        state = db.state
        if state.name is not None:
            db.instruments.wait_time.record(waited, state.pool_attributes)
        if waited * 1000 < telemetry.pool_wait_ms:
            return
        # An exhausted pool makes every caller wait: one line per interval, not one per call.
        state.slow_waits += 1
        now = time.monotonic()
        if now - state.warned_at < telemetry.pool_wait_log_interval_s:
            return
        pool = db.pool
        logger.warning(
            "slow connection from pool %s: a caller %s %.0f ms (%d of %d connections in use, "
            "%d callers waiting; %d waits over %g ms since the last such message)",
            state.name or "(not yet connected)",
            "gave up after" if gave_up else "waited",
            waited * 1000,
            pool.get_size() - pool.get_idle_size(),
            pool.get_max_size(),
            state.pending,
            state.slow_waits,
            telemetry.pool_wait_ms,
        )
        state.warned_at, state.slow_waits = now, 0
