"""adk_pg.db.pool, pool_options and dsn: DSN forms, option mapping, codecs, reset, secrecy."""

from __future__ import annotations

import asyncio
import inspect
import socket
import traceback
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg
import pytest

from adk_pg.db.dsn import DEFAULT_DSN, redact_dsn, resolve_dsn
from adk_pg.db.pool import create_pool
from adk_pg.db.pool_options import PoolConfig, pool_config
from adk_pg.errors import InvalidArgumentError, StorageError

SECRET = "Sup3r#S3cr:t@/" + uuid.uuid4().hex[:8]
OFFLINE = "postgresql://u:pw@127.0.0.1:1/db"  # never connected to by pool_config
IDLE = "max_inactive_connection_lifetime"
CACHE = "statement_cache_size"


def with_parts(
    dsn: str,
    *,
    scheme: str | None = None,
    userinfo: str | None = None,
    port: int | None = None,
    query: str | None = None,
) -> str:
    """Return ``dsn`` with the given URL parts replaced (query is appended)."""
    parts = urlsplit(dsn)
    host = parts.netloc.rpartition("@")[2]
    if port is not None:
        host = f"{host.rsplit(':', 1)[0]}:{port}"
    auth = parts.netloc.rpartition("@")[0] if userinfo is None else userinfo
    netloc = f"{auth}@{host}" if auth else host
    new_query = "&".join(q for q in (parts.query, query) if q)
    return urlunsplit(parts._replace(scheme=scheme or parts.scheme, netloc=netloc, query=new_query))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def everything_said(exc: BaseException) -> str:
    """All the text a traceback or log line could show for ``exc``."""
    return repr(exc) + str(exc) + "".join(traceback.format_exception(exc))


def assert_no_secret(text: str, secret: str) -> None:
    assert secret not in text
    assert quote(secret, safe="") not in text


@pytest.fixture
async def server(dsn: str) -> AsyncIterator[asyncpg.Connection[asyncpg.Record]]:
    """A plain connection for looking at the server from outside the pool."""
    conn = await asyncpg.connect(dsn)
    yield conn
    await conn.close()


async def backend(conn: Any, server: asyncpg.Connection[asyncpg.Record]) -> asyncpg.Record:
    """pg_stat_activity / pg_stat_ssl row of ``conn``'s backend, seen from ``server``."""
    row = await server.fetchrow(
        "SELECT a.query, a.state, s.ssl FROM pg_stat_activity AS a "
        "JOIN pg_stat_ssl AS s USING (pid) WHERE a.pid = $1",
        conn.get_server_pid(),
    )
    assert row is not None
    return row


# --- DSN resolution and redaction ---------------------------------------------------------


def test_resolve_dsn_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ADK_PG_DSN", raising=False)
    monkeypatch.delenv("POSTGRES_URL", raising=False)
    assert resolve_dsn() == DEFAULT_DSN
    monkeypatch.setenv("POSTGRES_URL", "postgresql://b/b")
    assert resolve_dsn() == "postgresql://b/b"
    monkeypatch.setenv("ADK_PG_DSN", "postgresql://a/a")
    assert resolve_dsn() == "postgresql://a/a"
    assert resolve_dsn("postgresql://c/c") == "postgresql://c/c"
    monkeypatch.setenv("ADK_PG_DSN", "")  # exported but empty counts as unset
    assert resolve_dsn() == "postgresql://b/b"


@pytest.mark.parametrize(
    ("dsn", "expected"),
    [
        ("postgresql://u:pw@h:5432/db", "postgresql://u:***@h:5432/db"),
        ("postgresql://u@h/db", "postgresql://u@h/db"),
        ("postgresql://h/db?sslmode=require", "postgresql://h/db?sslmode=require"),
        (
            "postgresql+asyncpg://u:pw@h/db?sslmode=require&password=pw2&SSLPassword=k",
            "postgresql+asyncpg://u:***@h/db?sslmode=require&password=***&SSLPassword=***",
        ),
        ("postgresql://u:p#w@h/db", "postgresql://u:***@h/db"),
        ("postgresql://u:p@w?x@h/db", "postgresql://u:***@h/db"),
        ("postgresql://u:pw@h1:5432,h2:5433/db", "postgresql://u:***@h1:5432,h2:5433/db"),
        ("postgresql://u:a/b=@h/db", "postgresql://u:***@h/db"),
        ("postgresql://u:a/b?c@h/db", "postgresql://u:***@h/db"),
        ("postgresql://h/db?application_name=a@b", "postgresql://h/db?application_name=a@b"),
    ],
)
def test_redact_dsn(dsn: str, expected: str) -> None:
    assert redact_dsn(dsn) == expected


def test_redact_dsn_never_raises_nor_echoes_what_it_cannot_parse() -> None:
    assert "pw" not in redact_dsn("host=h user=u password=pw")
    assert isinstance(redact_dsn(None), str)  # type: ignore[arg-type]


def test_pool_config_repr_hides_passwords() -> None:
    config = pool_config(
        f"postgresql://u:{quote(SECRET, safe='')}@h/db?password={quote(SECRET, safe='')}",
        password=SECRET,
    )
    for text in (repr(config), str(config)):
        assert_no_secret(text, SECRET)
        assert "u:***@h/db" in text


# --- option mapping (no server needed: pool_config never connects) -----------------------


def test_defaults() -> None:
    config = pool_config(OFFLINE)
    kw = config.pool_kwargs
    assert (kw["min_size"], kw["max_size"]) == (1, 15)
    assert kw["statement_cache_size"] == 64
    assert kw["max_inactive_connection_lifetime"] == 300.0
    assert config.acquire_timeout == 30.0
    assert callable(kw["init"])
    assert callable(kw["reset"])


def test_sqlalchemy_options_map_onto_asyncpg() -> None:
    config = pool_config(
        OFFLINE, pool_size=3, max_overflow=2, pool_timeout=7, pool_recycle=120, pool_pre_ping=True
    )
    kw = config.pool_kwargs
    assert (kw["min_size"], kw["max_size"]) == (1, 5)
    assert kw["max_inactive_connection_lifetime"] == 120.0
    assert config.acquire_timeout == 7.0
    assert "pool_pre_ping" not in kw
    assert (
        pool_config(OFFLINE, pool_recycle=-1).pool_kwargs["max_inactive_connection_lifetime"] == 0
    )
    assert pool_config(OFFLINE, pool_timeout=None).acquire_timeout is None


def test_asyncpg_options_pass_through() -> None:
    options: dict[str, Any] = {
        "min_size": 0,
        "max_size": 4,
        "max_queries": 100,
        "max_inactive_connection_lifetime": 9,
        "statement_cache_size": 10,
        "max_cached_statement_lifetime": 60,
        "max_cacheable_statement_size": 4096,
        "command_timeout": 5,
        "timeout": 3,
        "server_settings": {"application_name": "x"},
        "ssl": "disable",
        "direct_tls": False,
        "target_session_attrs": "any",
        "host": "127.0.0.1",
        "port": 5432,
        "user": "u",
        "password": "p",
        "passfile": "/nonexistent",
        "service": "s",
        "servicefile": "/nonexistent",
        "database": "d",
        "krbsrvname": "k",
        "gsslib": "gssapi",
        "setup": None,
        "connect": None,
        "connection_class": asyncpg.Connection,
        "record_class": asyncpg.Record,
    }
    kw = pool_config(OFFLINE, **options).pool_kwargs
    for name, value in options.items():
        assert kw[name] == value, name
    # Every name we hand to asyncpg is one the installed asyncpg accepts.
    accepted = set(inspect.signature(asyncpg.create_pool).parameters) | set(
        inspect.signature(asyncpg.connect).parameters
    )
    assert set(kw) <= accepted


def test_connect_args_like_sqlalchemy() -> None:
    kw = pool_config(OFFLINE, connect_args={"statement_cache_size": 0, "command_timeout": 2})
    assert kw.pool_kwargs["statement_cache_size"] == 0
    assert kw.pool_kwargs["command_timeout"] == 2
    with pytest.raises(TypeError, match="echo"):
        pool_config(OFFLINE, connect_args={"echo": True})


async def test_unknown_option_is_a_type_error_before_any_connection() -> None:
    with pytest.raises(TypeError, match="echo"):
        pool_config(OFFLINE, echo=True)
    # Port 1 refuses connections: a StorageError would mean create_pool tried to connect.
    with pytest.raises(TypeError, match="pool_sise"):
        await create_pool(OFFLINE, pool_sise=3)


@pytest.mark.parametrize(
    "options",
    [
        {"pool_size": 0},
        {"pool_size": -1},
        {"max_overflow": -1},
        {"pool_size": True},
        {"pool_size": "5"},
        {"pool_size": 5, "max_size": 10},
        {"max_overflow": 5, "max_size": 10},
        {"min_size": 6, "max_size": 5},
        {"pool_timeout": 0},
        {"pool_timeout": -1},
        {"pool_recycle": 0},
        {"pool_recycle": -5},
        {"pool_recycle": 10, "max_inactive_connection_lifetime": 10},
        {"pool_pre_ping": "yes"},
        {"statement_cache_size": -1},
        {"statement_cache_size": 10, "prepared_statement_cache_size": 0},
        {"command_timeout": 0},
        {"command_timeout": float("nan")},
        {"server_settings": {"a": 1}},
        {"init": "not callable"},
        {"connect_args": ["statement_cache_size"]},
    ],
)
def test_bad_values_are_value_errors(options: dict[str, Any]) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        pool_config(OFFLINE, **options)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    "dsn",
    [
        "mysql://u@h/db",
        "postgresql+psycopg2://u@h/db",
        "host=h user=u",
        "postgresql://h/db?pool_size=abc",
        "postgresql://h/db?pool_pre_ping=maybe",
        "postgresql://h/db?novalue",
        "postgresql://h/db?ssl=true",
    ],
)
def test_bad_dsns_are_value_errors(dsn: str) -> None:
    with pytest.raises(InvalidArgumentError):
        pool_config(dsn)


def test_query_string_options_are_taken_out_of_the_dsn() -> None:
    config = pool_config(
        "postgresql+asyncpg://u:pw@h/db?sslmode=require&pool_size=2&max_overflow=1"
        "&pool_timeout=4&pool_recycle=60&pool_pre_ping=true&prepared_statement_cache_size=0"
        "&command_timeout=9&connect_timeout=3&application_name=app%20x"
    )
    assert config.dsn == "postgresql://u:pw@h/db?sslmode=require&application_name=app%20x"
    kw = config.pool_kwargs
    assert kw["max_size"] == 3
    assert kw["statement_cache_size"] == 0
    assert kw["max_inactive_connection_lifetime"] == 60.0
    assert kw["command_timeout"] == 9.0
    assert kw["timeout"] == 3.0
    assert config.acquire_timeout == 4.0
    # Keywords win over the query string, as in asyncpg.
    assert pool_config("postgresql://h/db?pool_size=2", pool_size=4).pool_kwargs["max_size"] == 14
    # SQLAlchemy's asyncpg spelling of sslmode.
    assert pool_config("postgresql://h/db?ssl=require").dsn == "postgresql://h/db?sslmode=require"


@pytest.mark.parametrize(
    ("query", "options", "key", "expected"),
    [
        ("pool_size=5", {"min_size": 1, "max_size": 1}, "max_size", 1),
        ("pool_size=5&max_overflow=2", {"max_size": 3}, "max_size", 3),
        ("max_size=3", {"pool_size": 2}, "max_size", 2 + 10),
        ("pool_size=5&max_overflow=2", {"max_overflow": 0}, "max_size", 5),
        ("pool_recycle=60", {"max_inactive_connection_lifetime": 5}, IDLE, 5.0),
        ("max_inactive_connection_lifetime=5", {"pool_recycle": -1}, IDLE, 0.0),
        ("prepared_statement_cache_size=0", {"statement_cache_size": 10}, CACHE, 10),
        # connect_args sits between the query string and the keywords.
        (
            "statement_cache_size=7",
            {"connect_args": {"prepared_statement_cache_size": 0}},
            CACHE,
            0,
        ),
        (
            "statement_cache_size=7",
            {"connect_args": {"statement_cache_size": 3}, "prepared_statement_cache_size": 0},
            CACHE,
            0,
        ),
    ],
)
def test_a_keyword_wins_over_another_spelling_of_the_same_setting_in_the_dsn(
    query: str, options: dict[str, Any], key: str, expected: float
) -> None:
    # Internal pools (migration runner, CLI) pass max_size; an application's DSN may say
    # ?pool_size=5 for its own pool.
    assert pool_config(f"postgresql://h/db?{query}", **options).pool_kwargs[key] == expected


@pytest.mark.parametrize(
    "query",
    [
        "pool_size=5&max_size=3",
        "max_overflow=1&max_size=3",
        "pool_recycle=60&max_inactive_connection_lifetime=5",
        "statement_cache_size=1&prepared_statement_cache_size=0",
    ],
)
def test_two_spellings_in_one_source_are_refused_unless_a_keyword_overrides(query: str) -> None:
    with pytest.raises(InvalidArgumentError, match=r"not both|disagree"):
        pool_config(f"postgresql://h/db?{query}")
    kw = pool_config(
        f"postgresql://h/db?{query}",
        max_size=2,
        max_inactive_connection_lifetime=1,
        statement_cache_size=0,
    ).pool_kwargs
    assert (kw["max_size"], kw[IDLE], kw[CACHE]) == (2, 1.0, 0)


# --- against the server -------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["postgres", "postgresql", "postgresql+asyncpg"])
async def test_every_dsn_form_connects(dsn: str, scheme: str) -> None:
    pool = await create_pool(with_parts(dsn, scheme=scheme), pool_size=1, max_overflow=0)
    try:
        assert await pool.fetchval("SELECT 1") == 1
    finally:
        await pool.close()


async def test_sizes_and_native_options_reach_the_pool(dsn: str) -> None:
    pool = await create_pool(
        dsn, pool_size=2, max_overflow=1, server_settings={"application_name": "adk_pg_test"}
    )
    try:
        assert (pool.get_min_size(), pool.get_max_size()) == (1, 3)
        assert pool.get_size() == 1  # min_size is opened eagerly, no more
        assert await pool.fetchval("SELECT current_setting('application_name')") == "adk_pg_test"
    finally:
        await pool.close()


async def test_query_string_pool_options_are_not_sent_as_server_settings(dsn: str) -> None:
    # asyncpg alone would send pool_size as a setting and fail with 'unrecognized parameter'.
    query = "pool_size=2&max_overflow=0&pool_pre_ping=true&application_name=from_dsn"
    pool = await create_pool(with_parts(dsn, query=query))
    try:
        assert pool.get_max_size() == 2
        assert await pool.fetchval("SELECT current_setting('application_name')") == "from_dsn"
    finally:
        await pool.close()


@pytest.mark.parametrize(
    ("query", "named_statements"),
    [(None, True), ("prepared_statement_cache_size=0", False), ("statement_cache_size=0", False)],
)
async def test_statement_cache_setting_is_honoured(
    dsn: str, query: str | None, named_statements: bool
) -> None:
    pool = await create_pool(with_parts(dsn, query=query), max_size=1)
    try:
        async with pool.acquire() as conn:
            for _ in range(2):
                # The jsonb codec works without the cache too (PgBouncer transaction mode).
                assert await conn.fetchval("SELECT $1::jsonb", {"a": 1}) == {"a": 1}
            count = await conn.fetchval("SELECT count(*) FROM pg_prepared_statements")
            assert (count > 0) is named_statements
    finally:
        await pool.close()


async def test_sslmode_disable_is_honoured(
    dsn: str, server: asyncpg.Connection[asyncpg.Record]
) -> None:
    pool = await create_pool(with_parts(dsn, query="sslmode=disable"), max_size=1)
    try:
        async with pool.acquire() as conn:
            assert (await backend(conn, server))["ssl"] is False
    finally:
        await pool.close()


@pytest.mark.parametrize("query", ["sslmode=require", "ssl=require"])
async def test_sslmode_require_reaches_the_driver(
    dsn: str, server: asyncpg.Connection[asyncpg.Record], query: str
) -> None:
    if await server.fetchval("SHOW ssl") == "on":
        pool = await create_pool(with_parts(dsn, query=query), max_size=1)
        async with pool.acquire() as conn:
            assert (await backend(conn, server))["ssl"] is True
        await pool.close()
        return
    with pytest.raises(StorageError, match="SSL") as info:
        await create_pool(with_parts(dsn, query=query), max_size=1)
    assert info.value.sqlstate is None


async def test_jsonb_and_json_round_trip_python_objects(dsn: str) -> None:
    value = {
        "text": 'héllo ✓ "quoted"',
        "int": 2**53 + 1,
        "float": 0.1,
        "none": None,
        "list": [1, "a", {"b": False}],
        "nested": {"k": {"k2": []}},
    }
    pool = await create_pool(dsn, max_size=1)
    try:
        assert await pool.fetchval("SELECT $1::jsonb", value) == value
        assert await pool.fetchval("SELECT $1::json", value) == value
        # Stored as an object, not as a JSON string holding encoded text.
        assert await pool.fetchval("SELECT jsonb_typeof($1::jsonb)", value) == "object"
        assert await pool.fetchval("SELECT '{\"a\": [1, null]}'::jsonb") == {"a": [1, None]}
    finally:
        await pool.close()


async def test_user_init_runs_after_ours(dsn: str) -> None:
    seen: list[Any] = []

    async def init(conn: asyncpg.Connection[asyncpg.Record]) -> None:
        seen.append(await conn.fetchval("SELECT '{\"a\": 1}'::jsonb"))

    pool = await create_pool(dsn, max_size=1, init=init)
    await pool.close()
    assert seen == [{"a": 1}]


async def test_release_sends_no_reset_query(
    dsn: str, server: asyncpg.Connection[asyncpg.Record]
) -> None:
    logged: list[str] = []
    pool = await create_pool(dsn, max_size=1)
    try:
        async with pool.acquire() as conn:
            conn.add_query_logger(lambda record: logged.append(record.query))
            await conn.fetchval("SELECT 1 AS adk_pg_marker")
            pid = conn.get_server_pid()
        await asyncio.sleep(0)  # query loggers are called with call_soon
        assert logged == ["SELECT 1 AS adk_pg_marker"]
        # The server saw nothing after our statement either.
        async with pool.acquire() as conn:
            assert conn.get_server_pid() == pid
            last = await server.fetchval("SELECT query FROM pg_stat_activity WHERE pid = $1", pid)
            assert last == "SELECT 1 AS adk_pg_marker"
    finally:
        await pool.close()


async def test_a_caller_reset_wins_and_none_means_asyncpg_default(dsn: str) -> None:
    logged: list[str] = []
    pool = await create_pool(dsn, max_size=1, reset=None)
    try:
        async with pool.acquire() as conn:
            conn.add_query_logger(lambda record: logged.append(record.query))
        await asyncio.sleep(0)
        assert any("RESET ALL" in q for q in logged)  # the probe above can see a reset
    finally:
        await pool.close()


async def test_release_still_rolls_back_an_open_transaction(
    dsn: str, server: asyncpg.Connection[asyncpg.Record]
) -> None:
    pool = await create_pool(dsn, max_size=1)
    try:
        async with pool.acquire() as conn:
            transaction = conn.transaction()
            await transaction.start()
            await conn.execute("SET LOCAL application_name = 'inside'")
            pid = conn.get_server_pid()
        # asyncpg's own Connection._reset() rolled back before our (empty) reset hook ran.
        row = await server.fetchrow("SELECT query, state FROM pg_stat_activity WHERE pid=$1", pid)
        assert row is not None
        assert (row["query"], row["state"]) == ("ROLLBACK", "idle")
    finally:
        await pool.close()


# --- passwords never leak -----------------------------------------------------------------


async def test_refused_connection_error_has_no_password() -> None:
    bad = f"postgresql://postgres:{quote(SECRET, safe='')}@127.0.0.1:{free_port()}/postgres"
    with pytest.raises(StorageError) as info:
        await create_pool(bad)
    assert info.value.retryable
    assert "postgres:***@127.0.0.1" in str(info.value)
    assert_no_secret(everything_said(info.value), SECRET)


async def test_refused_login_error_has_no_password(
    dsn: str, server: asyncpg.Connection[asyncpg.Record]
) -> None:
    role = f"adk_pg_nologin_{uuid.uuid4().hex[:8]}"
    # The role cannot log in whatever the password or pg_hba method: a server-side refusal.
    await server.execute(f"CREATE ROLE {role} NOLOGIN PASSWORD '{SECRET}'")
    try:
        bad = with_parts(dsn, userinfo=f"{role}:{quote(SECRET, safe='')}")
        with pytest.raises(StorageError) as info:
            await create_pool(bad, password=SECRET)
        assert info.value.sqlstate is not None
        assert info.value.sqlstate.startswith("28")
        assert not info.value.retryable
        assert role in str(info.value)
        assert_no_secret(everything_said(info.value), SECRET)
    finally:
        await server.execute(f"DROP ROLE {role}")


async def test_unknown_database_error_has_no_password(dsn: str) -> None:
    bad = with_parts(dsn, userinfo=f"postgres:{quote(SECRET, safe='')}")
    bad = urlunsplit(urlsplit(bad)._replace(path="/adk_pg_no_such_db"))
    with pytest.raises(StorageError) as info:
        await create_pool(bad)
    # 3D000 under trust auth; 28P01 where the server checks the (wrong) password first.
    assert info.value.sqlstate in {"3D000", "28P01"}
    assert not info.value.retryable
    assert_no_secret(everything_said(info.value), SECRET)


async def test_create_pool_accepts_a_pool_config(dsn: str) -> None:
    config = pool_config(dsn, max_size=1)
    pool = await create_pool(config)
    try:
        assert await pool.fetchval("SELECT 2") == 2
    finally:
        await pool.close()
    with pytest.raises(TypeError):
        await create_pool(config, max_size=2)
    assert isinstance(config, PoolConfig)


async def test_a_driver_message_quoting_the_password_is_not_chained() -> None:
    async def leaky_connect(*args: Any, **kwargs: Any) -> Any:
        raise OSError(f"could not connect using {args[0]}")  # quotes the whole DSN

    dsn = f"postgresql://u:{quote(SECRET, safe='')}@127.0.0.1:1/db"
    with pytest.raises(StorageError) as info:
        await create_pool(dsn, connect=leaky_connect)
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__
    assert "u:***@127.0.0.1" in str(info.value)
    assert_no_secret(everything_said(info.value), SECRET)
