"""Security: no pickle, no password shown anywhere, TLS settings honoured, a least-privilege
runtime role, and sessions walled off by app and user.

Wrong passwords need a server that checks them: 127.0.0.1:5432 trusts loopback, so those tests
run on a throwaway cluster with scram-sha-256 (tests/_cluster.py), which also has TLS off.
"""

from __future__ import annotations

import ast
import asyncio
import base64
import logging
import os
import sys
import traceback
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import quote

import asyncpg
import pytest
from _cli import run_main
from _cluster import Cluster, temp_cluster
from _dbutil import REPO_ROOT, random_name
from _roles import run_grant_script

from adk_pg import (
    Event,
    EventActions,
    InvalidArgumentError,
    SessionNotFoundError,
    SessionStore,
    StorageError,
    migrate,
)
from adk_pg.adk import PostgresSessionService
from adk_pg.db.dsn import with_database
from adk_pg.db.pool_options import pool_config
from adk_pg.schema.admin import throwaway_database
from adk_pg.sessions.paging import encode_session_token

APP = "app"
USER = "user"
ROLE = "adk_secure_app"
# Characters that need escaping in a URL and in SQL, so every spelling of it is exercised.
SECRET = "S3cr:t@/?#&=%'" + uuid.uuid4().hex[:8]
WRONG = "Wr0ng:p@ss/" + uuid.uuid4().hex[:8]
PICKLE_MODULES = frozenset(
    {"pickle", "_pickle", "cPickle", "cloudpickle", "dill", "shelve", "jsonpickle", "joblib"}
)
ALLOWED_TO_PICKLE = {"legacy_pickle.py"}  # the restricted reader of ADK's v0 rows


# ---- pickle --------------------------------------------------------------------------------


def pickle_imports(source: str) -> list[str]:
    """Every way ``source`` imports a pickle-like module: import, from-import, __import__."""
    found = []
    for node in ast.walk(ast.parse(source)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        elif (
            isinstance(node, ast.Call)
            and (
                (isinstance(node.func, ast.Name) and node.func.id == "__import__")
                or (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
            )
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names = [node.args[0].value]
        found += [
            f"line {getattr(node, 'lineno', 0)}: {n}"
            for n in names
            if n.split(".")[0] in PICKLE_MODULES
        ]
    return found


def test_no_module_of_the_package_imports_pickle() -> None:
    package = REPO_ROOT / "adk_pg"
    modules = sorted(package.rglob("*.py"))
    assert len(modules) > 5
    offenders = {
        str(path.relative_to(REPO_ROOT)): hits
        for path in modules
        if path.name not in ALLOWED_TO_PICKLE
        for hits in [pickle_imports(path.read_text())]
        if hits
    }
    assert offenders == {}, "only adk_pg/adk/legacy_pickle.py may import pickle"


def test_the_pickle_scan_sees_every_spelling() -> None:
    sources = [
        "import pickle",
        "import os, _pickle as p",
        "from pickle import loads",
        "from cloudpickle.cloudpickle import dumps",
        "def f():\n    return __import__('dill')",
        "import importlib\nimportlib.import_module('shelve')",
    ]
    assert all(pickle_imports(s) for s in sources)
    assert pickle_imports("import json\nfrom pickletools import dis  # not pickle") == []


# ---- passwords never shown -----------------------------------------------------------------


def everything_said(exc: BaseException) -> str:
    """All the text a traceback or a log line could show for ``exc`` and its chain."""
    return repr(exc) + str(exc) + "".join(traceback.format_exception(exc))


def assert_secret_free(text: str) -> None:
    for secret in (SECRET, WRONG):
        for spelling in {secret, quote(secret, safe=""), quote(secret)}:
            assert spelling not in text


@pytest.fixture(scope="module")
async def secured() -> AsyncIterator[Cluster]:
    """A cluster checking passwords (scram-sha-256) with role ROLE and its migrated db ``adk``."""
    with temp_cluster(("host all all 127.0.0.1/32 scram-sha-256",)) as cluster:
        conn = await asyncpg.connect(cluster.dsn())
        try:
            create = "SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', $1::text, $2::text)"
            await conn.execute(await conn.fetchval(create, ROLE, SECRET))
            await conn.execute(f"CREATE DATABASE adk OWNER {ROLE}")
        finally:
            await conn.close()
        await migrate(cluster.dsn("adk", ROLE, SECRET))  # over scram, as the role
        yield cluster


def wrong_ways(cluster: Cluster) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(name, dsn, options): every place a (wrong) password can be given."""
    plain = cluster.dsn("adk", ROLE)
    yield "userinfo", cluster.dsn("adk", ROLE, WRONG), {}
    yield "query", f"{plain}?password={quote(WRONG, safe='')}", {}
    yield "keyword", plain, {"password": WRONG}
    yield "connect_args", plain, {"connect_args": {"password": WRONG}}


async def test_the_right_password_reaches_the_server_every_way(secured: Cluster) -> None:
    plain = secured.dsn("adk", ROLE)
    ways: list[tuple[str, dict[str, Any]]] = [
        (secured.dsn("adk", ROLE, SECRET), {}),
        (f"{plain}?password={quote(SECRET, safe='')}", {}),
        (plain, {"password": SECRET}),
    ]
    for dsn, options in ways:
        async with await SessionStore.connect(dsn, max_size=1, **options) as store:
            created = await store.create_session(app_name=APP, user_id=USER)
            assert await store.get_session(app_name=APP, user_id=USER, session_id=created.id)


async def test_wrong_passwords_never_appear_in_errors_or_logs(
    secured: Cluster, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, asyncpg's included
    for way, dsn, options in wrong_ways(secured):
        with pytest.raises(StorageError) as info:
            await SessionStore.connect(dsn, **options)
        assert info.value.sqlstate == "28P01", way  # invalid_password
        assert not info.value.retryable
        assert ROLE in str(info.value)  # says who could not log in
        assert_secret_free(everything_said(info.value))
        if not options:  # the migration runner takes a bare DSN
            with pytest.raises(StorageError) as again:
                await migrate(dsn)
            assert_secret_free(everything_said(again.value))
    assert_secret_free(caplog.text)
    assert_secret_free(" ".join(repr(r.args) + repr(r.exc_info) for r in caplog.records))


async def test_the_adk_service_never_shows_a_password(secured: Cluster) -> None:
    for _way, dsn, options in wrong_ways(secured):
        service = PostgresSessionService(dsn, **options)
        assert_secret_free(repr(service) + str(service))
        with pytest.raises(StorageError) as info:
            await service.create_session(app_name=APP, user_id=USER)
        assert_secret_free(everything_said(info.value))
        await service.close()
    config = pool_config(secured.dsn("adk", ROLE, SECRET), password=SECRET)
    assert_secret_free(repr(config) + str(config))
    async with PostgresSessionService(secured.dsn("adk", ROLE, SECRET)) as service:
        await service.create_session(app_name=APP, user_id=USER)
        assert_secret_free(
            repr(service) + repr(service.store) + repr(service.store and service.store.pool)
        )


async def run_cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "adk_pg",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, **(env or {})},
    )
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode is not None
    return proc.returncode, out.decode()


async def test_the_cli_never_prints_a_password(secured: Cluster) -> None:
    wrong = secured.dsn("adk", ROLE, WRONG)
    right = secured.dsn("adk", ROLE, SECRET)
    runs = await asyncio.gather(
        run_cli("migrate", "--dsn", wrong),
        run_cli("migrate", "--check", "--dsn", wrong),
        run_cli("migrate", env={"ADK_PG_DSN": wrong}),
        run_cli("migrate", "--dsn", right),
    )
    for code, output in runs[:3]:
        assert code == 3, output
        assert "password authentication failed" in output
        assert_secret_free(output)
    code, output = runs[3]
    assert code == 0, output
    assert "schema is current" in output
    assert_secret_free(output)


# ---- TLS settings --------------------------------------------------------------------------


async def test_tls_settings_reach_the_driver(secured: Cluster) -> None:
    # This cluster has TLS off: a setting that demands TLS must fail, clearly, at connect.
    base = secured.dsn("adk", ROLE, SECRET)
    demands: list[tuple[str, dict[str, Any]]] = [
        (f"{base}?sslmode=require", {}),
        (f"{base}?ssl=require", {}),
        (base, {"ssl": "require"}),
        (base, {"connect_args": {"ssl": "require"}}),
    ]
    for dsn, options in demands:
        with pytest.raises(StorageError, match="SSL") as info:
            await SessionStore.connect(dsn, **options)
        assert_secret_free(everything_said(info.value))
    # verify-full first needs a root certificate: without one it is refused before connecting.
    with pytest.raises((StorageError, InvalidArgumentError), match=r"SSL|root certificate"):
        await SessionStore.connect(f"{base}?sslmode=verify-full")
    async with PostgresSessionService(f"{base}?sslmode=require") as service:
        with pytest.raises(StorageError, match="SSL"):
            await service.list_sessions(app_name=APP)
    # The controls: settings that allow plain TCP connect.
    for mode in ("disable", "prefer", "allow"):
        async with await SessionStore.connect(f"{base}?sslmode={mode}", max_size=1) as store:
            assert await store.get_app_state(app_name=APP) == {}
    with pytest.raises(InvalidArgumentError, match="sslmode"):
        await SessionStore.connect(f"{base}?sslmode=sometimes")


# ---- a least-privilege runtime role --------------------------------------------------------


DENIED = [
    "CREATE TABLE adk.extra (i int)",
    "CREATE INDEX ON adk.events (author)",
    "ALTER TABLE adk.sessions ADD COLUMN extra int",
    "DROP TABLE adk.events",
    "TRUNCATE adk.events",
    "CREATE SCHEMA extra",
    "INSERT INTO adk.schema_migrations (version, name, checksum) VALUES (99, 'x', repeat('0', 64))",
    "DELETE FROM adk.schema_migrations",
    "UPDATE adk.schema_migrations SET name = name",
]


async def test_a_runtime_role_with_row_rights_only_runs_the_store(server_dsn: str) -> None:
    role = random_name("adk_pg_runtime")
    async with throwaway_database(server_dsn) as owner_dsn:
        await migrate(owner_dsn)
        admin = await asyncpg.connect(owner_dsn)
        try:
            await admin.execute(
                f"CREATE ROLE {role} LOGIN PASSWORD 'runtime-pw' "
                "NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT"
            )
            for _ in range(2):  # running it again is harmless
                code, output = await run_grant_script(owner_dsn, f"runtime_role={role}")
                assert code == 0, output
            database = await admin.fetchval("SELECT current_database()")
            role_dsn = with_database(server_dsn, database, user=role, password="runtime-pw")

            # Every use case of the store and the ADK service, as the runtime role.
            assert await migrate(role_dsn) == []  # a current schema: read-only
            async with await SessionStore.connect(role_dsn, max_size=2) as store:
                s = await store.create_session(
                    app_name=APP, user_id=USER, state={"k": 1, "app:a": 1, "user:u": 1}
                )
                await store.append_event(
                    app_name=APP,
                    user_id=USER,
                    session_id=s.id,
                    event=Event(actions=EventActions(state_delta={"k": 2, "app:a": 2})),
                    expected_revision=0,
                )
                got = await store.get_session(app_name=APP, user_id=USER, session_id=s.id)
                assert got is not None
                assert got.state == {"k": 2, "app:a": 2, "user:u": 1}
                assert len((await store.list_sessions(app_name=APP)).sessions) == 1
                assert await store.get_user_state(app_name=APP, user_id=USER) == {"u": 1}
                await store.delete_session(app_name=APP, user_id=USER, session_id=s.id)
            async with PostgresSessionService(role_dsn) as service:  # migrate=True by default
                created = await service.create_session(app_name=APP, user_id=USER)
                assert await service.get_session(app_name=APP, user_id=USER, session_id=created.id)

            # And nothing else: no DDL, no ledger writes, views read-only.
            conn = await asyncpg.connect(role_dsn)
            try:
                for statement in DENIED:
                    with pytest.raises(asyncpg.InsufficientPrivilegeError):
                        await conn.execute(statement)
                rights = await conn.fetchrow(
                    "SELECT has_schema_privilege('adk', 'CREATE') AS schema_create, "
                    "has_database_privilege(current_database(), 'CREATE') AS db_create, "
                    "has_table_privilege('adk.session_overview', 'INSERT') AS view_insert, "
                    "has_table_privilege('adk.events', 'TRUNCATE') AS truncate"
                )
                assert rights is not None
                assert dict(rights) == {
                    "schema_create": False,
                    "db_create": False,
                    "view_insert": False,
                    "truncate": False,
                }
            finally:
                await conn.close()
        finally:
            await admin.close()
    conn = await asyncpg.connect(server_dsn)
    try:
        await conn.execute(f"DROP ROLE IF EXISTS {role}")
    finally:
        await conn.close()


async def test_the_grant_script_insists_on_a_role_name(dsn: str) -> None:
    code, output = await run_grant_script(dsn)
    assert code == 3
    assert "runtime_role" in output


# ---- sessions are walled off by app and user -----------------------------------------------


async def test_no_one_reaches_a_session_through_another_users_or_apps_ids(
    store: SessionStore, admin: asyncpg.Connection
) -> None:
    owners = [("app1", "u1"), ("app1", "u2"), ("app2", "u1")]
    # The same session id under three owners: three separate sessions.
    for app, user in owners:
        await store.create_session(
            app_name=app,
            user_id=user,
            session_id="same",
            state={"who": f"{app}/{user}", "user:me": f"{app}/{user}"},
        )
        await store.append_event(
            app_name=app,
            user_id=user,
            session_id="same",
            event=Event(id=f"{app}-{user}", actions=EventActions(state_delta={"n": 1})),
            expected_revision=0,
        )
    for app, user in owners:
        got = await store.get_session(app_name=app, user_id=user, session_id="same")
        assert got is not None
        assert got.state == {"who": f"{app}/{user}", "user:me": f"{app}/{user}", "n": 1}
        assert [e.id for e in got.events] == [f"{app}-{user}"]

    await store.create_session(app_name="app1", user_id="u1", session_id="private")
    before = {
        t: await admin.fetch(f"SELECT * FROM adk.{t} ORDER BY 1, 2, 3")
        for t in ("sessions", "events", "user_states")
    }
    outsiders = [("app1", "u2"), ("app2", "u1"), ("app2", "u2")]
    for app, user in outsiders:
        assert await store.get_session(app_name=app, user_id=user, session_id="private") is None
        with pytest.raises(SessionNotFoundError):
            await store.append_event(
                app_name=app,
                user_id=user,
                session_id="private",
                event=Event(actions=EventActions(state_delta={"stolen": True})),
                expected_revision=None,
            )
        await store.delete_session(app_name=app, user_id=user, session_id="private")  # no-op
        listed = await store.list_sessions(app_name=app, user_id=user)
        assert all((s.app_name, s.user_id) == (app, user) for s in listed.sessions)
        # A page token of the victim's listing, or a crafted one, is refused: it reveals nothing.
        victims = encode_session_token("app1", "u1", 0, "u1", "private")
        crafted = base64.urlsafe_b64encode(b'[0, "u1", "private"]').decode().rstrip("=")
        for token in (victims, crafted):
            with pytest.raises(InvalidArgumentError, match="page_token"):
                await store.list_sessions(
                    app_name=app, user_id=user, page_size=10, page_token=token
                )
    after = {
        t: await admin.fetch(f"SELECT * FROM adk.{t} ORDER BY 1, 2, 3")
        for t in ("sessions", "events", "user_states")
    }
    assert after == before
    listed_app2 = await store.list_sessions(app_name="app2")
    assert {(s.app_name, s.user_id, s.id) for s in listed_app2.sessions} == {("app2", "u1", "same")}
    assert await store.get_user_state(app_name="app1", user_id="u2") == {"me": "app1/u2"}


def fragments(secret: str) -> set[str]:
    """Every piece of ``secret`` four characters or longer: none may appear in a message."""
    return {secret[i:j] for i in range(len(secret)) for j in range(i + 4, len(secret) + 1)}


@pytest.mark.parametrize(
    "password",
    ["Xq7/Wz9#Vk3j", "Xq7#Wz9Vk3j", "Xq7@Wz9/Vk3?j", "Xq7]Wz9[Vk3j", "Xq7?Wz9/Vk3j", "Xq7/Wz9Vk3j"],
)
async def test_a_password_urls_cannot_hold_is_refused_without_a_piece_of_it(
    password: str,
) -> None:
    # Unescaped, these characters make URL parsers cut the DSN inside the password.
    dsn = f"postgresql://someone:{password}@127.0.0.1:5432/adk"
    said = []
    with pytest.raises(InvalidArgumentError, match="percent-encode") as refused:
        await SessionStore.connect(dsn)
    said.append(everything_said(refused.value))
    with pytest.raises(InvalidArgumentError, match="percent-encode") as refused:
        PostgresSessionService(dsn)
    said.append(everything_said(refused.value))
    said.append(repr(PostgresSessionService(quote_dsn_password(dsn))))
    cli = await run_main("status", "--dsn", dsn)
    assert cli.code == 2, cli
    said.append(cli.out + cli.err)
    for text in said:
        assert "someone:***@127.0.0.1:5432/adk" in text or "<pool>" in text, text
        leaked = [piece for piece in fragments(password) if piece in text.replace("://", "")]
        assert not leaked, (leaked, text)


def quote_dsn_password(dsn: str) -> str:
    """The same DSN with its password percent-encoded, as it should be written."""
    head, _, rest = dsn.partition("://someone:")
    password, _, tail = rest.rpartition("@")
    return f"{head}://someone:{quote(password, safe='')}@{tail}"


async def test_cli_errors_show_the_dsn_redacted_and_nothing_else_rewritten(
    server_dsn: str,
) -> None:
    # The README's DSN: password "postgres", like the user and the scheme's first letters.
    dsn = with_database(
        server_dsn, random_name("adk_missing"), user="postgres", password="postgres"
    )
    result = await run_main("status", "--dsn", dsn)
    assert result.code == 3, result
    assert "postgresql://postgres:***@" in result.err
    assert "unsupported" not in result.err
    assert "***ql" not in result.err
    bad_scheme = await run_main("status", "--dsn", "mysql://postgres:postgres@host/db")
    assert bad_scheme.code == 2, bad_scheme
    assert "unsupported DSN scheme 'mysql'" in bad_scheme.err
    assert "mysql://postgres:***@host/db" in bad_scheme.err
