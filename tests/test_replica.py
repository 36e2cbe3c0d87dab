"""A streaming read replica serves what only reads: listing, export, status, doctor, and the
store's reads; writes there fail with a clear error."""

from __future__ import annotations

import asyncio
import json

import asyncpg
import pytest
from _cli import run_main
from _cluster import temp_cluster, temp_standby
from _dbutil import random_name

from adk_pg import Event, EventActions, SessionStore, StorageError, migrate

pytestmark = pytest.mark.single_server("a throwaway primary and standby of its own")


async def caught_up(primary: asyncpg.Connection, standby: asyncpg.Connection) -> None:
    """Wait until the standby has replayed everything the primary wrote so far."""
    target = await primary.fetchval("SELECT pg_current_wal_lsn()")
    for _ in range(300):
        if await standby.fetchval("SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn", target):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the standby did not catch up")


async def test_a_standby_serves_listing_export_status_and_reads() -> None:
    replication = ("host all all 127.0.0.1/32 trust", "host replication all 127.0.0.1/32 trust")
    with temp_cluster(hba=replication) as primary, temp_standby(primary) as standby:
        name = random_name("adk_pg_replica")
        admin = await asyncpg.connect(primary.dsn())
        try:
            await admin.execute(f"CREATE DATABASE {name}")
        finally:
            await admin.close()
        dsn, replica_dsn = primary.dsn(name), standby.dsn(name)
        await migrate(dsn)
        async with await SessionStore.connect(dsn) as store:
            for n in range(3):
                await store.create_session(
                    app_name="app", user_id="ada", session_id=f"s{n}", state={"user:u": n}
                )
                await store.append_event(
                    app_name="app",
                    user_id="ada",
                    session_id=f"s{n}",
                    event=Event(author="user", actions=EventActions(state_delta={"k": n})),
                    expected_revision=0,
                )
        writer = await asyncpg.connect(dsn)
        reader = await asyncpg.connect(standby.dsn())
        try:
            await caught_up(writer, reader)
        finally:
            await writer.close()
            await reader.close()

        for command in (("export",), ("sessions", "list", "--json"), ("status", "--json")):
            on_primary = await run_main(*command, "--dsn", dsn)
            on_replica = await run_main(*command, "--dsn", replica_dsn)
            assert on_replica.code == on_primary.code == 0, (command, on_replica)
            if command[0] == "status":
                counts = ("sessions", "events", "users", "apps")
                replica_report, primary_report = (
                    json.loads(on_replica.out),
                    json.loads(on_primary.out),
                )
                assert [replica_report[k] for k in counts] == [primary_report[k] for k in counts]
            elif command[0] == "export":
                # The first line says when it was exported; every other line is the same.
                assert on_replica.out.splitlines()[1:] == on_primary.out.splitlines()[1:]
            else:
                assert on_replica.out == on_primary.out, command
        doctor = await run_main("doctor", "--dsn", replica_dsn, "--json")
        assert doctor.code in (0, 1), doctor
        assert json.loads(doctor.out)["server"]["in_recovery"] is True

        # The store's reads work on the replica (a pool that checks the schema, no migration);
        # a write is refused by the server, and says so.
        async with await SessionStore.connect(replica_dsn) as replica:
            session = await replica.get_session(app_name="app", user_id="ada", session_id="s1")
            assert session is not None
            assert session.state == {"k": 1, "user:u": 2}  # user state: the last written
            page = await replica.list_sessions(app_name="app", user_id="ada")
            assert [s.id for s in page.sessions] == ["s0", "s1", "s2"]
            with pytest.raises(StorageError, match="25006"):
                await replica.create_session(app_name="app", user_id="ada")
