"""``adk-pg distribute`` and what it lays out on a Citus cluster.

The tests marked ``citus`` need a coordinator (``make test-citus``, ADK_PG_CITUS_DSN); there
the whole suite runs on the distributed database too. The first test runs everywhere.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from _cli import adk_pg
from _plans import plan_nodes

from adk_pg import SessionStore
from adk_pg.db.paths import resource_dir
from adk_pg.errors import SchemaError
from adk_pg.schema.admin import throwaway_database
from adk_pg.schema.citus import DISTRIBUTED_TABLES, ROUTED_FUNCTIONS, distribute, layout
from adk_pg.schema.runner import migrate
from adk_pg.sessions.models import Event, EventActions
from adk_pg.sessions.queries import QUERIES

citus = pytest.mark.citus


async def test_without_citus_distribute_is_a_clear_error(server_dsn: str) -> None:
    # A database of its own, migrated, without the extension (on a Citus cluster too: a new
    # database has no citus until CREATE EXTENSION).
    async with throwaway_database(server_dsn, "adk_pg_no_citus") as plain:
        await migrate(plain)
        with pytest.raises(SchemaError, match="no citus extension"):
            await distribute(plain)
        assert await layout(plain) is None
        done = await adk_pg("distribute", "--dsn", plain)
    assert done.code == 3, done
    assert "no citus extension" in done.err


@citus
async def test_distribute_lays_out_every_table_once(db: str) -> None:
    # The run's database was distributed by the test harness: a second run changes nothing.
    assert await distribute(db) == []
    cluster = await layout(db)
    assert cluster is not None
    assert cluster.distributed
    kinds = {t.name: (t.kind, t.distribution_column) for t in cluster.tables}
    assert kinds == {
        "app_states": ("reference", None),
        **{name: ("distributed", "user_id") for name in DISTRIBUTED_TABLES},
    }
    # Colocated: one shard of each table per user, on the same node.
    assert len({t.colocation_id for t in cluster.tables if t.kind == "distributed"}) == 1
    assert sum(not n.is_coordinator for n in cluster.nodes) >= 2
    done = await adk_pg("distribute", "--dsn", db)
    assert done.code == 0, done
    assert "nothing to do" in done.out


async def remote_commands(conn: asyncpg.Connection, sql: str, *args: Any) -> list[str]:
    """The commands the coordinator sends to the workers to run ``sql``."""
    sent: list[str] = []

    def collect(_: Any, message: asyncpg.PostgresLogMessage) -> None:
        if message.message.startswith("issuing "):
            sent.append(message.message)

    conn.add_log_listener(collect)
    try:
        await conn.execute("SET citus.log_remote_commands = on; SET client_min_messages = log")
        await conn.fetch(sql, *args)
    finally:
        await conn.execute("RESET citus.log_remote_commands; RESET client_min_messages")
        conn.remove_log_listener(collect)
    return [c for c in sent if not c.startswith(("issuing BEGIN", "issuing COMMIT"))]


@citus
async def test_the_hot_calls_of_a_session_reach_one_shard(
    store: SessionStore, admin: asyncpg.Connection
) -> None:
    await store.create_session(app_name="app", user_id="ada", session_id="s", state={"k": 1})
    for i in range(3):
        await store.append_event(
            app_name="app",
            user_id="ada",
            session_id="s",
            event=Event(author="user", actions=EventActions(state_delta={"k": i})),
            expected_revision=i,
        )
    # The writes and get_session: one command each, the whole routed function on the user's
    # node.
    doc = '{"author": "user"}'
    routed: dict[str, tuple[str, tuple[Any, ...]]] = {
        "create_session_citus": (
            QUERIES.create_session_citus.sql, ("app", "ada", "t", "{}", None, None),
        ),
        "append_event_citus": (
            QUERIES.append_event_citus.sql,
            ("app", "ada", "s", 3, doc, "{}", None, None, "e", "9.0"),
        ),
        "get_session_citus": (QUERIES.get_session_citus.sql, ("app", "ada", "s", 10, None)),
    }  # fmt: skip
    for name, (sql, args) in routed.items():
        sent = await remote_commands(admin, sql, *args)
        assert len(sent) == 1, (name, sent)
        assert "_routed(" in sent[0], (name, sent)
    # The reads: one task, on one shard.
    reads: dict[str, tuple[str, tuple[Any, ...]]] = {
        "list_user_sessions": (QUERIES.list_user_sessions.sql, ("app", "ada", None, "", 100)),
        "get_user_state": (QUERIES.get_user_state.sql, ("app", "ada")),
        "delete_session": (QUERIES.delete_session.sql, ("app", "ada", "t")),
    }
    for name, (sql, args) in reads.items():
        plan = await admin.fetchval("EXPLAIN (FORMAT JSON) " + sql, *args)
        top = plan[0]["Plan"]
        job = top["Distributed Query"]["Job"]
        assert job["Task Count"] == 1, (name, job)
        assert "Distributed Subplans" not in json.dumps(top), name
        assert any(n.get("Index Name") for n in plan_nodes(top)), name


@citus
async def test_migrations_keep_working_on_a_distributed_schema(db: str, tmp_path: Path) -> None:
    # Another schema, distributed, then a later migration: plain DDL that Citus propagates.
    shutil.copytree(resource_dir("migrations"), tmp_path / "migrations")
    number = len(list(resource_dir("migrations").glob("*.sql"))) + 1
    later = tmp_path / "migrations" / f"{number:04d}_a_later_column.sql"
    later.write_text("ALTER TABLE adk.sessions ADD COLUMN note text;\n", encoding="utf-8")
    conn = await asyncpg.connect(db)
    try:
        await migrate(conn, schema="adk_later")
        assert await distribute(conn, schema="adk_later") == [
            "app_states", *DISTRIBUTED_TABLES, *ROUTED_FUNCTIONS,
        ]  # fmt: skip
        applied = await migrate(conn, schema="adk_later", directory=tmp_path / "migrations")
        assert [m.version for m in applied] == [number]
        # The column is on every shard: a row of any user takes it.
        await conn.execute(
            "INSERT INTO adk_later.sessions (app_name, user_id, id, note)"
            " SELECT 'app', 'u' || i, 's', 'n' FROM generate_series(1, 50) AS i"
        )
        assert await conn.fetchval("SELECT count(note) FROM adk_later.sessions") == 50
        # The ledger is a local table of the coordinator.
        ledger = await conn.fetchval(
            "SELECT count(*) FROM citus_tables"
            " WHERE table_name = 'adk_later.schema_migrations'::regclass"
        )
        assert ledger == 0
    finally:
        await conn.execute("DROP SCHEMA IF EXISTS adk_later CASCADE")
        await conn.close()


@citus
async def test_status_and_doctor_show_the_shards_sizes_and_the_layout(
    store: SessionStore, db: str
) -> None:
    for n in range(20):
        await store.create_session(app_name="app", user_id=f"u{n}", state={"x": "y" * 2000})
    done = await adk_pg("status", "--dsn", db, "--json")
    assert done.code == 0, done
    report = json.loads(done.out)
    tables = {t["name"]: t for t in report["citus"]["tables"]}
    assert tables["sessions"]["kind"] == "distributed"
    # The sizes are the shards' (32 of them at least 8 kB each), not the coordinator's shell.
    assert report["table_bytes"]["sessions"] == tables["sessions"]["total_bytes"]
    assert report["table_bytes"]["sessions"] >= 32 * 8192
    human = await adk_pg("status", "--dsn", db)
    assert "sessions: distributed (by user_id" in human.out
    # doctor too: the layout, and the shards' sizes in its table list.
    doctor = await adk_pg("doctor", "--dsn", db, "--json")
    assert doctor.code in (0, 1), doctor
    checked = json.loads(doctor.out)
    assert {t["name"] for t in checked["citus"]["tables"]} == set(tables)
    sizes = {t["table_name"]: t["total_bytes"] for t in checked["tables"]}
    # The shards' sizes again (not equal to status's: autovacuum on the workers may add a free
    # space or visibility map to a shard between the two commands).
    assert sizes["sessions"] >= 32 * 8192
