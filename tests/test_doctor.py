"""``adk-pg doctor`` against a throwaway cluster that loads pg_stat_statements.

The shared server is never reconfigured: the cluster of this module preloads the extension,
and each test makes its own database on it (migrated by the real runner) with a known state:
healthy with hot statements, bloated with autovacuum off on one table, a session idle in a
transaction, and the least-privilege runtime role.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest
from _cli import adk_pg, run_main
from _cluster import Cluster, temp_cluster, temp_standby
from _dbutil import random_name
from _roles import run_grant_script
from google.genai import types

from adk_pg import Event, EventActions, SessionStore, migrate
from adk_pg.db.dsn import with_database
from adk_pg.memory.models import NewMemory
from adk_pg.memory.store import MemoryStore

APP, USER = "doc_app", "doc_user"
APPENDS = 20


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with temp_cluster(settings={"shared_preload_libraries": "'pg_stat_statements'"}) as c:
        yield c


async def new_database(cluster: Cluster, *, statements: bool = True) -> str:
    """A migrated database on the cluster (with the extension when ``statements``)."""
    name = random_name("adk_pg_doctor")
    admin = await asyncpg.connect(cluster.dsn())
    try:
        await admin.execute(f"CREATE DATABASE {name}")
    finally:
        await admin.close()
    dsn = cluster.dsn(name)
    await migrate(dsn)
    if statements:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute("CREATE EXTENSION pg_stat_statements")
        finally:
            await conn.close()
    return dsn


async def workload(dsn: str, *, appends: int = APPENDS) -> None:
    """What an agent does: sessions, appends, reads, memories."""
    async with await SessionStore.connect(dsn) as store:
        s = await store.create_session(app_name=APP, user_id=USER, state={"k": 0})
        for i in range(appends):
            event = Event(
                author="user",
                content=types.Content(role="user", parts=[types.Part(text=f"message {i}")]),
                actions=EventActions(state_delta={"k": i}),
            )
            await store.append_event(
                app_name=APP, user_id=USER, session_id=s.id, event=event, expected_revision=i
            )
            await store.get_session(app_name=APP, user_id=USER, session_id=s.id)
        async with await MemoryStore.connect(dsn) as memory:
            content = types.Content(role="user", parts=[types.Part(text="green tea")])
            await memory.add(
                app_name=APP, user_id=USER, memories=[NewMemory(id="m1", content=content)]
            )
            await memory.search(app_name=APP, user_id=USER, query="tea")


async def doctor_json(dsn: str, *args: str) -> tuple[int, dict[str, Any]]:
    result = await run_main("doctor", "--dsn", dsn, "--json", *args)
    assert result.code in (0, 1), result
    report: dict[str, Any] = json.loads(result.out)
    return result.code, report


@pytest.fixture(scope="module")
async def healthy(cluster: Cluster) -> str:
    dsn = await new_database(cluster)
    await workload(dsn)
    return dsn


async def test_a_healthy_database_passes_and_shows_its_hot_statements(healthy: str) -> None:
    human = await adk_pg("doctor", "--dsn", healthy)
    assert human.code == 0, human
    assert "healthy: no warnings" in human.out
    for line in ("server     PostgreSQL ", "schema     version ", "adk.events", "append_event"):
        assert line in human.out, human.out
    code, report = await doctor_json(healthy)
    assert code == 0
    assert report["healthy"] is True
    assert report["warnings"] == []
    assert report["schema"]["current"] is True
    assert report["server"]["superuser"] is True
    assert report["hidden"] == []
    calls = {s["name"]: s["calls"] for s in report["statements"] if s["name"]}
    assert calls["append_event"] == APPENDS
    assert calls["get_session"] == APPENDS
    assert calls["create_session"] == 1
    assert calls["search_memories"] == 1
    tables = {t["table_name"]: t for t in report["tables"]}
    assert set(tables) >= {"sessions", "events", "memories", "schema_migrations"}
    assert tables["events"]["total_bytes"] > 0
    indexes = {i["index_name"]: i for i in report["indexes"]}
    assert indexes["sessions_pkey"]["scans"] >= APPENDS  # every append and get reads it
    apps = {c["application_name"] for c in report["connections"]}
    assert "adk-pg cli" in apps  # doctor's own connection
    assert report["standbys"] == []


async def test_without_pg_stat_statements_a_hint_says_how_to_enable_it(
    cluster: Cluster,
) -> None:
    dsn = await new_database(cluster, statements=False)
    code, report = await doctor_json(dsn)
    assert code == 0
    assert report["statements"] is None
    assert "CREATE EXTENSION pg_stat_statements" in report["statements_hint"]
    human = await run_main("doctor", "--dsn", dsn)
    assert "hint: pg_stat_statements is not installed" in human.out


async def wait_for_dead_tuples(dsn: str, table: str, at_least: int) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            dead = await conn.fetchval(
                "SELECT n_dead_tup FROM pg_stat_user_tables "
                "WHERE schemaname = 'adk' AND relname = $1",
                table,
            )
            if dead >= at_least:
                return
            await asyncio.sleep(0.2)
    finally:
        await conn.close()
    pytest.fail(f"the statistics never showed {at_least} dead tuples in adk.{table}")


async def test_known_bloat_is_a_warning_with_advice(cluster: Cluster) -> None:
    dsn = await new_database(cluster)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("ALTER TABLE adk.sessions SET (autovacuum_enabled = false)")
        await conn.execute(
            "INSERT INTO adk.sessions (app_name, user_id, id) "
            "SELECT 'bloat', 'u' || (i % 10), 's' || i FROM generate_series(1, 5000) AS i"
        )
        for _ in range(2):  # an indexed column: no HOT update, no pruning on the next read
            await conn.execute("UPDATE adk.sessions SET update_time = update_time + interval '1 s'")
    finally:
        await conn.close()  # a backend that exits sends its statistics
    await wait_for_dead_tuples(dsn, "sessions", 10_000)
    code, report = await doctor_json(dsn)
    assert code == 1
    (bloat,) = [w for w in report["warnings"] if "dead tuples" in w["problem"]]
    assert bloat["subject"] == "adk.sessions"
    assert bloat["problem"].startswith("67% dead tuples (10,000), last autovacuum never")
    assert "autovacuum is off for this table" in bloat["problem"]
    assert "ALTER TABLE adk.sessions RESET (autovacuum_enabled)" in bloat["advice"]
    sessions = next(t for t in report["tables"] if t["table_name"] == "sessions")
    assert sessions["autovacuum_enabled"] is False
    assert sessions["dead_share"] == pytest.approx(2 / 3, abs=0.01)
    human = await run_main("doctor", "--dsn", dsn)
    assert human.code == 1
    assert "! adk.sessions: 67% dead tuples (10,000), last autovacuum never" in human.out
    assert "  -> ALTER TABLE adk.sessions RESET (autovacuum_enabled)" in human.out


async def test_a_session_idle_in_a_transaction_on_adk_tables_is_a_warning(
    cluster: Cluster,
) -> None:
    dsn = await new_database(cluster)
    holder = await asyncpg.connect(dsn, server_settings={"application_name": "forgetful"})
    try:
        await holder.execute("BEGIN")
        await holder.fetch("SELECT id FROM adk.sessions LIMIT 1")
        await asyncio.sleep(1.2)
        code, report = await doctor_json(dsn, "--long", "1")
        pid = await holder.fetchval("SELECT pg_backend_pid()")
    finally:
        await holder.close()
    assert code == 1
    (found,) = report["long_sessions"]
    assert found["pid"] == pid
    assert found["state"] == "idle in transaction"
    assert found["tables"] == ["adk.sessions"]
    assert found["seconds"] >= 1
    (warning,) = report["warnings"]
    assert warning["subject"] == f"pid {pid} (postgres, forgetful)"
    assert warning["problem"].startswith("idle in transaction for ")
    assert "idle_in_transaction_session_timeout" in warning["advice"]


async def test_the_runtime_role_runs_it_and_is_told_what_it_cannot_see(
    cluster: Cluster, healthy: str
) -> None:
    role = random_name("adk_pg_doctor_app")
    admin = await asyncpg.connect(healthy)
    try:
        await admin.execute(f"CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE")
        code, output = await run_grant_script(healthy, f"runtime_role={role}")
        assert code == 0, output
        database = await admin.fetchval("SELECT current_database()")
        role_dsn = with_database(cluster.dsn(), database, user=role)
        async with await SessionStore.connect(role_dsn) as store:
            for _ in range(3):
                await store.get_session(app_name=APP, user_id=USER, session_id="none")
        # A superuser's session idle in a transaction on an adk table: hidden from the role.
        await admin.execute("BEGIN")
        await admin.fetch("SELECT id FROM adk.sessions LIMIT 1")
        await asyncio.sleep(1.2)
        code, report = await doctor_json(role_dsn, "--long", "1")
        human = await run_main("doctor", "--dsn", role_dsn, "--long", "1")
        await admin.execute("ROLLBACK")
    finally:
        await admin.close()
    assert code == 0, report["warnings"]
    assert report["server"]["superuser"] is False
    assert report["server"]["reads_all_stats"] is False
    assert "the state of other roles' connections" in report["hidden"]
    assert report["long_sessions"] == []  # the superuser's session is not visible
    states = {c["state"] for c in report["connections"]}
    assert None in states  # the superuser's connection, state hidden
    calls = {s["name"]: s["calls"] for s in report["statements"] if s["name"]}
    assert calls == {"get_session": 3}  # only its own statements
    assert {t["table_name"] for t in report["tables"]} >= {"sessions", "events"}
    assert f"not visible to role {role} (GRANT pg_monitor TO {role} shows them)" in human.out
    assert "(hidden)" in human.out


async def test_a_database_without_the_schema_is_told_to_migrate(cluster: Cluster) -> None:
    name = random_name("adk_pg_doctor_empty")
    admin = await asyncpg.connect(cluster.dsn())
    try:
        await admin.execute(f"CREATE DATABASE {name}")
    finally:
        await admin.close()
    code, report = await doctor_json(cluster.dsn(name))
    assert code == 1
    assert report["warnings"][0] == {
        "subject": "schema adk",
        "problem": "does not exist",
        "advice": "run `adk-pg migrate`",
    }
    assert report["tables"] == []


async def test_an_unreachable_server_is_a_database_error() -> None:
    result = await run_main(
        "doctor", "--dsn", "postgresql://nobody@127.0.0.1:1/none", "--timeout", "2"
    )
    assert result.code == 3
    assert result.err.startswith("adk-pg doctor: error: ")


async def test_standbys_and_their_lag_are_shown_on_the_primary_and_the_standby() -> None:
    replication = ("host all all 127.0.0.1/32 trust", "host replication all 127.0.0.1/32 trust")
    with temp_cluster(hba=replication) as primary, temp_standby(primary) as standby:
        dsn = await new_database(primary, statements=False)
        name = dsn.rpartition("/")[2]
        replica = await asyncpg.connect(standby.dsn())
        try:
            # Wait until the standby streams and has the database, then hold its replay back.
            for _ in range(150):
                if await replica.fetchval(
                    "SELECT count(*) FROM pg_database WHERE datname = $1", name
                ):
                    break
                await asyncio.sleep(0.1)
            await replica.execute("SELECT pg_wal_replay_pause()")
            await workload(dsn, appends=50)
            code, report = await doctor_json(dsn)
            on_standby = await run_main("doctor", "--dsn", standby.dsn(name), "--json")
        finally:
            await replica.execute("SELECT pg_wal_replay_resume()")
            await replica.close()
    assert code == 0, report["warnings"]
    (found,) = report["standbys"]
    assert found["state"] == "streaming"
    assert found["sync_state"] == "async"
    assert found["client_addr"] == "127.0.0.1"
    assert found["replay_lag_bytes"] > 0  # its replay is paused while the primary writes
    assert on_standby.code in (0, 1), on_standby
    as_standby = json.loads(on_standby.out)
    assert as_standby["server"]["in_recovery"] is True
    assert as_standby["standbys"] == []
