"""Pool options, validated without touching the network: SQLAlchemy's names and asyncpg's.

:func:`pool_config` turns a DSN and keyword options into a :class:`PoolConfig`, so a bad
option fails at construction; :mod:`adk_pg.db.pool` opens the pool from it, with the hooks
of :mod:`adk_pg.db.connection_hooks`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from adk_pg.db.connection_hooks import chain_init, keep_session_state
from adk_pg.db.dsn import SECRET_KEYS, redact_dsn, resolve_dsn, split_dsn
from adk_pg.db.schema_name import DEFAULT_SCHEMA, check_schema
from adk_pg.errors import InvalidArgumentError

__all__ = ["DEFAULT_CONNECT_TIMEOUT", "PoolConfig", "pool_config"]

# SQLAlchemy's QueuePool defaults, so a DatabaseSessionService user gets the same ceiling.
DEFAULT_POOL_SIZE = 5
DEFAULT_MAX_OVERFLOW = 10
DEFAULT_POOL_TIMEOUT = 30.0
# asyncpg opens min_size connections eagerly in create_pool and never closes them for being
# idle. One is enough to fail fast on a bad DSN or password at construction and to serve the
# first call without a connect; more would make every worker process hold connections that
# SQLAlchemy (which opens lazily) never held, and exhaust max_connections on small servers.
DEFAULT_MIN_SIZE = 1
# asyncpg waits 60 s for a server that accepts the connection and never answers; a caller
# (a web request, the command line) should hear about it far sooner.
DEFAULT_CONNECT_TIMEOUT = 10.0
# asyncpg's own default: close a connection after 5 idle minutes.
DEFAULT_IDLE_LIFETIME = 300.0
# One prepared statement per distinct SQL text per connection, evicted LRU. We ship ~20 named
# queries; 64 keeps all of them (plus the migration runner's and asyncpg's introspection
# statements) resident with headroom, so a hot query is never evicted and re-prepared, while
# bounding the server-side plan memory each backend holds. 0 turns it off (PgBouncer).
DEFAULT_STATEMENT_CACHE_SIZE = 64

_SQLALCHEMY_OPTIONS = frozenset(
    {"pool_size", "max_overflow", "pool_timeout", "pool_recycle", "pool_pre_ping", "connect_args"}
)
_POOL_OPTIONS = frozenset(
    {"min_size", "max_size", "max_queries", "max_inactive_connection_lifetime", "setup", "init"}
    | {"reset", "connect", "connection_class", "record_class"}
)
_CONNECT_OPTIONS = frozenset(
    {"host", "port", "user", "password", "passfile", "service", "servicefile", "database"}
    | {"timeout", "statement_cache_size", "max_cached_statement_lifetime", "command_timeout"}
    | {"max_cacheable_statement_size", "ssl", "direct_tls", "server_settings"}
    | {"target_session_attrs", "krbsrvname", "gsslib", "prepared_statement_cache_size"}
)
_ASYNCPG_OPTIONS = _POOL_OPTIONS | _CONNECT_OPTIONS
# adk-pg's own: the schema its tables live in (default adk).
_OWN_OPTIONS = frozenset({"schema"})
_OPTIONS = _SQLALCHEMY_OPTIONS | _ASYNCPG_OPTIONS | _OWN_OPTIONS
# Options that set what other options also set (SQLAlchemy's spelling, asyncpg's, an alias):
# an option from a stronger source drops these from the weaker ones.
_REPLACES: dict[str, tuple[str, ...]] = {
    "pool_size": ("max_size",),
    "max_overflow": ("max_size",),
    "max_size": ("pool_size", "max_overflow"),
    "pool_recycle": ("max_inactive_connection_lifetime",),
    "max_inactive_connection_lifetime": ("pool_recycle",),
    "prepared_statement_cache_size": ("statement_cache_size",),
    "statement_cache_size": ("prepared_statement_cache_size",),
}


@dataclass(frozen=True, repr=False)
class PoolConfig:
    """Everything ``asyncpg.create_pool`` needs, validated; its repr never shows a password."""

    dsn: str
    pool_kwargs: dict[str, Any]
    acquire_timeout: float | None
    schema: str = DEFAULT_SCHEMA

    def __repr__(self) -> str:
        shown = {k: "***" if k in SECRET_KEYS else v for k, v in self.pool_kwargs.items()}
        return (
            f"PoolConfig(dsn={redact_dsn(self.dsn)!r}, pool_kwargs={shown!r}, "
            f"acquire_timeout={self.acquire_timeout!r}, schema={self.schema!r})"
        )


def pool_config(dsn: str | None = None, **options: Any) -> PoolConfig:
    """Validate a DSN and pool options (SQLAlchemy-style or asyncpg's) into a PoolConfig.

    Keyword options override ``connect_args``, which override the DSN's query string. An
    option given in a stronger source also drops the weaker sources' other spelling of the
    same setting: ``max_size=1`` wins over ``?pool_size=5``. Both spellings in one source
    (``pool_size`` with ``max_size``, ``pool_recycle`` with
    ``max_inactive_connection_lifetime``) are an error; so are two different values for
    ``statement_cache_size`` and its alias ``prepared_statement_cache_size``.
    SQLAlchemy's options map onto asyncpg's: ``max_size = pool_size + max_overflow``;
    ``pool_timeout`` becomes :attr:`PoolConfig.acquire_timeout`; ``pool_recycle`` becomes
    ``max_inactive_connection_lifetime`` -- asyncpg closes a connection *idle* that long, where
    SQLAlchemy replaces one *older* than that at checkout. Idle time is what firewalls and
    load balancers cut connections on, the usual reason for ``pool_recycle``; note that asyncpg
    keeps its ``min_size`` floor connections regardless (pass ``min_size=0`` to avoid that).
    ``pool_pre_ping`` is accepted and ignored: a ping is a round trip on every checkout; a
    broken connection surfaces as a retryable StorageError instead. ``schema`` (also
    ``?schema=`` in the DSN) is the schema adk-pg's tables live in, default ``adk``.

    Raises:
        TypeError: an unknown option (nothing is connected).
        InvalidArgumentError: a bad DSN or option value (a ValueError).
    """
    raw = resolve_dsn(dsn)
    unknown = sorted(set(options) - _OPTIONS)
    if unknown:
        raise TypeError(f"unknown pool option(s): {', '.join(unknown)}")
    if "schema" in options and options["schema"] is None:
        del options["schema"]  # None: the DSN's ?schema=, else adk
    connect_args = options.pop("connect_args", None) or {}
    if not isinstance(connect_args, Mapping):
        raise InvalidArgumentError("connect_args must be a mapping of asyncpg.connect options")
    unknown = sorted(set(connect_args) - _CONNECT_OPTIONS)
    if unknown:
        raise TypeError(f"unknown connect_args option(s): {', '.join(unknown)}")
    clean_dsn, from_query = split_dsn(raw)
    merged = _merge([from_query, connect_args, options])
    schema = check_schema(merged.pop("schema", DEFAULT_SCHEMA))
    kwargs, acquire_timeout = _map_options(merged)
    return PoolConfig(
        dsn=clean_dsn, pool_kwargs=kwargs, acquire_timeout=acquire_timeout, schema=schema
    )


def _merge(sources: list[Mapping[str, Any]]) -> dict[str, Any]:
    """Merge option sources, weakest first; a stronger source's spelling replaces the others.

    Internal pools (the migration runner, the CLI) pass ``max_size`` and must still work on a
    DSN that says ``?pool_size=5`` for the application's pool. Two spellings given by one
    source both survive, for :func:`_map_options` to refuse.
    """
    merged: dict[str, Any] = {}
    for source in sources:
        for key in source:
            for other in _REPLACES.get(key, ()):
                merged.pop(other, None)
        merged.update(source)
    return merged


def _map_options(opts: dict[str, Any]) -> tuple[dict[str, Any], float | None]:
    """Turn merged options into asyncpg.create_pool kwargs and the acquire timeout."""
    kw = {k: v for k, v in opts.items() if k in _ASYNCPG_OPTIONS}
    # Both spellings survive _merge only when one source gave both.
    if "max_size" in opts:
        if "pool_size" in opts or "max_overflow" in opts:
            raise InvalidArgumentError("give either pool_size/max_overflow or max_size, not both")
        _int(opts, "max_size", 1)
    else:
        if opts.get("pool_size") == 0 or opts.get("max_overflow") == -1:
            raise InvalidArgumentError(
                "asyncpg pools are bounded: pool_size=0 / max_overflow=-1 (unlimited) are not "
                "supported; give explicit sizes"
            )
        size = _int(opts, "pool_size", 1, DEFAULT_POOL_SIZE)
        kw["max_size"] = size + _int(opts, "max_overflow", 0, DEFAULT_MAX_OVERFLOW)
    kw["min_size"] = _int(opts, "min_size", 0, min(DEFAULT_MIN_SIZE, kw["max_size"]))
    if kw["min_size"] > kw["max_size"]:
        raise InvalidArgumentError(f"min_size {kw['min_size']} > max_size {kw['max_size']}")

    if "prepared_statement_cache_size" in kw:
        psc = _int(kw, "prepared_statement_cache_size", 0)
        if kw.setdefault("statement_cache_size", psc) != psc:
            raise InvalidArgumentError(
                "prepared_statement_cache_size and statement_cache_size disagree"
            )
        del kw["prepared_statement_cache_size"]
    kw["statement_cache_size"] = _int(kw, "statement_cache_size", 0, DEFAULT_STATEMENT_CACHE_SIZE)

    if "pool_recycle" in opts:
        if "max_inactive_connection_lifetime" in opts:
            raise InvalidArgumentError(
                "give either pool_recycle or max_inactive_connection_lifetime, not both"
            )
        # SQLAlchemy: -1 disables recycling; asyncpg: 0 disables the idle timer. 0 means
        # "recycle at every checkout" to SQLAlchemy, which has no asyncpg equivalent.
        recycle = _seconds(opts, "pool_recycle", minimum=-1)
        if recycle == -1:
            kw["max_inactive_connection_lifetime"] = 0.0
        elif recycle > 0:
            kw["max_inactive_connection_lifetime"] = recycle
        else:
            raise InvalidArgumentError("pool_recycle must be > 0 seconds, or -1 to disable")
    else:
        kw["max_inactive_connection_lifetime"] = _seconds(
            opts, "max_inactive_connection_lifetime", minimum=0, default=DEFAULT_IDLE_LIFETIME
        )
    if not isinstance(opts.get("pool_pre_ping", False), bool):
        raise InvalidArgumentError("pool_pre_ping must be a bool (it is accepted and ignored)")

    for name, minimum in (
        ("max_queries", 1),
        ("max_cached_statement_lifetime", 0),
        ("max_cacheable_statement_size", 0),
    ):
        if name in kw:
            _int(kw, name, minimum)
    if kw.get("command_timeout") is not None:
        _seconds(kw, "command_timeout", minimum=0, exclusive=True)
    kw["timeout"] = _seconds(
        kw, "timeout", minimum=0, default=DEFAULT_CONNECT_TIMEOUT, exclusive=True
    )
    settings = kw.get("server_settings")
    if settings is not None and not (
        isinstance(settings, Mapping)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in settings.items())
    ):
        raise InvalidArgumentError("server_settings must be a mapping of str to str")
    for name in ("init", "setup", "reset", "connect"):
        if kw.get(name) is not None and not callable(kw[name]):
            raise InvalidArgumentError(f"{name} must be an async callable")

    kw["init"] = chain_init(kw.get("init"))
    # A caller's own reset (even None: asyncpg's default reset query) wins over ours.
    kw.setdefault("reset", keep_session_state)
    # pool_timeout=None waits for a connection forever, as in SQLAlchemy.
    acquire_timeout = opts.get("pool_timeout", DEFAULT_POOL_TIMEOUT)
    if acquire_timeout is not None:
        acquire_timeout = _seconds(
            opts, "pool_timeout", minimum=0, default=DEFAULT_POOL_TIMEOUT, exclusive=True
        )
    return kw, acquire_timeout


def _int(opts: Mapping[str, Any], name: str, minimum: int, default: int | None = None) -> int:
    value = opts.get(name, default)
    # bool is an int subclass; pool_size=True is a bug, not 1.
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidArgumentError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


def _seconds(
    opts: Mapping[str, Any],
    name: str,
    *,
    minimum: float,
    default: float | None = None,
    exclusive: bool = False,
) -> float:
    value = opts.get(name, default)
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < minimum
        or (exclusive and value == minimum)
    ):
        bound = f"> {minimum}" if exclusive else f">= {minimum}"
        raise InvalidArgumentError(f"{name} must be a number of seconds {bound}, got {value!r}")
    return float(value)
