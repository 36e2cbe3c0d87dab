"""What a store reports about its calls: the settings, the instruments, and each pool's state.

:class:`Telemetry` says what is reported; :mod:`adk_pg.db.calls` reports it. Names follow the
OpenTelemetry semantic conventions for database clients (spans ``{operation} {table}`` of
kind CLIENT; ``db.client.operation.duration``; the ``db.client.connection.*`` pool metrics).
Only the OpenTelemetry API is used: until an application sets up an SDK, every span and
instrument is a no-op. Nothing a user stored (state, event content, query parameters) is
ever recorded: spans, metrics and logs carry operation names, table names and ids.
"""

from __future__ import annotations

import logging
import math
import threading
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import asyncpg
from opentelemetry import metrics, trace
from opentelemetry.metrics import CallbackOptions, Observation

from adk_pg.errors import InvalidArgumentError, StorageError

__all__ = [
    "DEFAULT_TELEMETRY",
    "Instruments",
    "PoolState",
    "Telemetry",
    "check_telemetry",
    "error_attributes",
    "global_tracing",
    "instruments",
    "logger",
    "pool_state",
]

logger = logging.getLogger("adk_pg")

SCOPE = "adk_pg"  # the instrumentation scope of every span and instrument

# Attribute names: the database client conventions, and the ADK ids.
DB_SYSTEM_NAME = "db.system.name"
DB_NAMESPACE = "db.namespace"
DB_OPERATION_NAME = "db.operation.name"
DB_COLLECTION_NAME = "db.collection.name"
DB_RESPONSE_STATUS_CODE = "db.response.status_code"
ERROR_TYPE = "error.type"
SERVER_ADDRESS = "server.address"
SERVER_PORT = "server.port"
POOL_NAME = "db.client.connection.pool.name"
CONNECTION_STATE = "db.client.connection.state"
CONVERSATION_ID = "gen_ai.conversation.id"  # the session id, as ADK's own spans name it
USER_ID = "user.id"
APP_NAME = "adk_pg.app_name"

# The conventions' advice for database durations, in seconds.
_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0)


@dataclass(frozen=True)
class Telemetry:
    """What a store reports about its calls, for ``telemetry=`` of every store and service.

    Spans and metrics go to the global OpenTelemetry providers unless ``tracer_provider`` /
    ``meter_provider`` are given; without an SDK they cost next to nothing. ``record_ids``
    puts the app name and user id on spans and log lines (the session id is always there, as
    ``gen_ai.conversation.id``). A call slower than ``slow_call_ms`` logs a WARNING on the
    ``adk_pg`` logger (every call logs at DEBUG); a wait for a pooled connection longer than
    ``pool_wait_ms`` logs a WARNING at most once per ``pool_wait_log_interval_s``.
    ``enabled=False`` reports nothing at all.

    Raises:
        InvalidArgumentError: a flag that is not a bool, or a negative or non-finite number.
    """

    enabled: bool = True
    record_ids: bool = True
    slow_call_ms: float = 500.0
    pool_wait_ms: float = 100.0
    pool_wait_log_interval_s: float = 60.0
    tracer_provider: trace.TracerProvider | None = None
    meter_provider: metrics.MeterProvider | None = None

    def __post_init__(self) -> None:
        for flag in ("enabled", "record_ids"):
            if not isinstance(getattr(self, flag), bool):
                raise InvalidArgumentError(f"Telemetry.{flag} must be a bool")
        for name in ("slow_call_ms", "pool_wait_ms", "pool_wait_log_interval_s"):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not math.isfinite(value)
                or value < 0
            ):
                raise InvalidArgumentError(f"Telemetry.{name} must be a number >= 0")
        if self.tracer_provider is not None and not isinstance(
            self.tracer_provider, trace.TracerProvider
        ):
            raise InvalidArgumentError("Telemetry.tracer_provider must be a TracerProvider")
        if self.meter_provider is not None and not isinstance(
            self.meter_provider, metrics.MeterProvider
        ):
            raise InvalidArgumentError("Telemetry.meter_provider must be a MeterProvider")


DEFAULT_TELEMETRY = Telemetry()


def check_telemetry(value: object) -> Telemetry:
    """``value`` as a Telemetry (None: the defaults).

    Raises:
        InvalidArgumentError: not a Telemetry.
    """
    if value is None:
        return DEFAULT_TELEMETRY
    if not isinstance(value, Telemetry):
        raise InvalidArgumentError(
            f"telemetry must be an adk_pg.Telemetry, not {type(value).__name__}"
        )
    return value


class PoolState:
    """What adk-pg knows of one asyncpg pool: where it connects, and who waits for it.

    Shared by every store on the pool (:func:`pool_state`); the pool itself may come from the
    caller. Its address is read from the first connection a store takes from it.
    """

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.pending = 0  # callers waiting for a connection right now
        self.name: str | None = None
        self.server: dict[str, Any] = {}
        self.pool_attributes: dict[str, str] = {}  # {POOL_NAME: name}, once named
        self.warned_at = -math.inf  # when the last slow wait was logged (monotonic seconds)
        self.slow_waits = 0  # slow waits since then

    def resolve(self, conn: Any) -> None:
        """Learn the server address and database from a connection of the pool."""
        # asyncpg has no public accessor for where a connection went; both attributes exist
        # on every asyncpg connection since 0.18, and nothing here fails without them.
        addr = getattr(conn, "_addr", None)
        database = getattr(getattr(conn, "_params", None), "database", None)
        server: dict[str, Any] = {}
        if isinstance(addr, tuple) and len(addr) >= 2:
            server[SERVER_ADDRESS], server[SERVER_PORT] = str(addr[0]), int(addr[1])
        elif isinstance(addr, str):  # a Unix socket
            server[SERVER_ADDRESS] = addr
        if isinstance(database, str):
            server[DB_NAMESPACE] = database
        base = (
            f"{server.get(SERVER_ADDRESS, '?')}:{server.get(SERVER_PORT, '')}"
            f"/{server.get(DB_NAMESPACE, '?')}"
        )
        with _LOCK:
            name, n = base, 1
            while (other := _NAMES.get(name)) is not None and other is not self:
                n += 1
                name = f"{base}#{n}"
            _NAMES[name] = self
        self.server, self.name, self.pool_attributes = server, name, {POOL_NAME: name}


_LOCK = threading.Lock()  # metric callbacks run on the SDK's exporting thread
_STATES: weakref.WeakValueDictionary[int, PoolState] = weakref.WeakValueDictionary()
_NAMES: weakref.WeakValueDictionary[str, PoolState] = weakref.WeakValueDictionary()


def pool_state(pool: asyncpg.Pool) -> PoolState:
    """The one PoolState of ``pool``, kept while a store on it is alive.

    Keyed by ``id``: asyncpg pools take no weak references.
    """
    with _LOCK:
        state = _STATES.get(id(pool))
        if state is None or state.pool is not pool:
            state = PoolState(pool)
            _STATES[id(pool)] = state
        return state


class Instruments:
    """The metric instruments of one meter provider, and the pools they observe."""

    def __init__(self, meter_provider: metrics.MeterProvider | None) -> None:
        meter = metrics.get_meter(SCOPE, meter_provider=meter_provider)
        self.duration = meter.create_histogram(
            "db.client.operation.duration",
            unit="s",
            description="Duration of database client operations.",
            explicit_bucket_boundaries_advisory=_BUCKETS,
        )
        self.wait_time = meter.create_histogram(
            "db.client.connection.wait_time",
            unit="s",
            description="The time it took to obtain an open connection from the pool.",
            explicit_bucket_boundaries_advisory=_BUCKETS,
        )
        self._pools: weakref.WeakSet[PoolState] = weakref.WeakSet()
        meter.create_observable_up_down_counter(
            "db.client.connection.count",
            callbacks=[self._observe_count],
            unit="{connection}",
            description="The number of connections that are currently in the state described.",
        )
        meter.create_observable_up_down_counter(
            "db.client.connection.max",
            callbacks=[self._observe_max],
            unit="{connection}",
            description="The maximum number of open connections allowed.",
        )
        meter.create_observable_up_down_counter(
            "db.client.connection.pending_requests",
            callbacks=[self._observe_pending],
            unit="{request}",
            description="The number of current pending requests for an open connection.",
        )

    def watch(self, state: PoolState) -> None:
        """Observe this pool (from the first call on, once its address is known)."""
        with _LOCK:
            self._pools.add(state)

    def _watched(self) -> list[tuple[str, asyncpg.Pool, PoolState]]:
        with _LOCK:
            states = list(self._pools)
        return [
            (s.name, s.pool, s) for s in states if s.name is not None and not s.pool.is_closing()
        ]

    def _observe_count(self, options: CallbackOptions) -> Iterator[Observation]:
        for name, pool, _ in self._watched():
            size, idle = pool.get_size(), pool.get_idle_size()
            yield Observation(idle, {POOL_NAME: name, CONNECTION_STATE: "idle"})
            yield Observation(size - idle, {POOL_NAME: name, CONNECTION_STATE: "used"})

    def _observe_max(self, options: CallbackOptions) -> Iterator[Observation]:
        for name, pool, _ in self._watched():
            yield Observation(pool.get_max_size(), {POOL_NAME: name})

    def _observe_pending(self, options: CallbackOptions) -> Iterator[Observation]:
        for name, _, state in self._watched():
            yield Observation(state.pending, {POOL_NAME: name})


_GLOBAL_INSTRUMENTS: Instruments | None = None
_PROVIDER_INSTRUMENTS: weakref.WeakKeyDictionary[metrics.MeterProvider, Instruments] = (
    weakref.WeakKeyDictionary()
)


def instruments(meter_provider: metrics.MeterProvider | None) -> Instruments:
    """The instruments of ``meter_provider`` (None: the global one), made once per provider."""
    global _GLOBAL_INSTRUMENTS
    with _LOCK:
        if meter_provider is None:
            if _GLOBAL_INSTRUMENTS is None:
                _GLOBAL_INSTRUMENTS = Instruments(None)
            return _GLOBAL_INSTRUMENTS
        found = _PROVIDER_INSTRUMENTS.get(meter_provider)
        if found is None:
            found = _PROVIDER_INSTRUMENTS[meter_provider] = Instruments(meter_provider)
        return found


_global_sdk = False  # once an application sets a global tracer provider, it stays set
_global_checked_at = -math.inf
_RECHECK_S = 1.0


def global_tracing(now: float) -> bool:
    """Whether the global tracer provider records spans (an SDK was set up), as of ``now``.

    Until an application sets one, the global provider is a proxy whose spans are no-ops; a
    call then starts none. Asking costs more than the rest of a call's telemetry, so the
    answer is kept for a second (a provider set later is used from the next second on) and
    for good once it is yes: OpenTelemetry sets the global provider only once.
    """
    global _global_sdk, _global_checked_at
    if _global_sdk or now - _global_checked_at < _RECHECK_S:
        return _global_sdk
    _global_checked_at = now
    _global_sdk = not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)
    return _global_sdk


def error_attributes(exc: BaseException) -> dict[str, str]:
    """``error.type`` (the SQLSTATE, else the exception's class) and the SQLSTATE if any."""
    sqlstate = getattr(exc, "sqlstate", None)  # asyncpg's errors and StorageError
    if isinstance(sqlstate, str) and sqlstate:
        return {ERROR_TYPE: sqlstate, DB_RESPONSE_STATUS_CODE: sqlstate}
    # A failure without a SQLSTATE (a broken connection, a timeout) is named by its cause.
    cause = exc.__cause__ if isinstance(exc, StorageError) else None
    return {ERROR_TYPE: type(cause or exc).__qualname__}
