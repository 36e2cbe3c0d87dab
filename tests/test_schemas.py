"""Choosing the schema: two adk-pg stores in two schemas of one database never see each other.

Each test works in a throwaway database of its own, migrated into schemas ``tenant_a`` and
``tenant_b`` (and ``adk`` where said), with the store APIs, the ADK services, ``adk-pg`` and
``adk_pg.migrate``.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from _cli import adk_pg, fill, run_main
from google.adk.events.event import Event as AdkEvent
from google.genai import types

from adk_pg import InvalidArgumentError, SessionStore, migrate
from adk_pg.adk import PostgresArtifactService, PostgresMemoryService, PostgresSessionService
from adk_pg.artifacts import ArtifactStore
from adk_pg.artifacts.queries import QUERIES as ARTIFACT_QUERIES
from adk_pg.db.pool import create_pool
from adk_pg.db.queries import for_schema
from adk_pg.db.schema_name import check_schema, in_schema
from adk_pg.memory.models import NewMemory
from adk_pg.memory.queries import QUERIES as MEMORY_QUERIES
from adk_pg.memory.store import MemoryStore
from adk_pg.ops.queries import DOCTOR_QUERIES
from adk_pg.ops.queries import QUERIES as OPS_QUERIES
from adk_pg.schema.admin import throwaway_database
from adk_pg.schema.files import load_migrations
from adk_pg.schema.ledger import SQL_CREATE_LEDGER, SQL_CREATE_SCHEMA, SQL_INSERT_LEDGER
from adk_pg.sessions.queries import QUERIES as SESSION_QUERIES

A, B = "tenant_a", "tenant_b"
REGISTRIES = (SESSION_QUERIES, MEMORY_QUERIES, ARTIFACT_QUERIES, OPS_QUERIES, DOCTOR_QUERIES)
# What would still name schema adk after the rewrite: a qualifier, a literal, DDL.
LEFT_OVER = re.compile(r"(?<![\w.\"$])adk\.[a-z_]|'adk'|SCHEMA (IF NOT EXISTS )?adk\b")


@pytest.fixture
async def two(server_dsn: str) -> AsyncIterator[str]:
    """A database with schemas tenant_a and tenant_b, each migrated; no schema adk."""
    async with throwaway_database(server_dsn, "adk_pg_schemas") as dsn:
        assert [m.label for m in await migrate(dsn, schema=A)] == [
            m.label for m in load_migrations()
        ]
        await migrate(dsn, schema=B)
        yield dsn


@pytest.mark.parametrize(
    "name",
    ["", "Adk", "a-b", "1abc", "pg_temp", "a" * 64, "adk; DROP TABLE x", "sélect", "select",
     "user", " adk", "adk.events"],
)  # fmt: skip
async def test_a_bad_schema_name_is_refused_everywhere_before_anything_runs(
    name: str, pool: asyncpg.Pool, db: str
) -> None:
    for build in (
        lambda: SessionStore(pool, schema=name),
        lambda: MemoryStore(pool, schema=name),
        lambda: ArtifactStore(pool, schema=name),
        lambda: PostgresSessionService(pool=pool, schema=name),
        lambda: PostgresMemoryService(db, schema=name),
        lambda: PostgresArtifactService(f"{db}?schema={name}"),
    ):
        with pytest.raises(InvalidArgumentError, match="schema"):
            build()
    with pytest.raises(InvalidArgumentError, match="schema"):
        await migrate(db, schema=name)
    with pytest.raises(InvalidArgumentError, match="schema"):
        await SessionStore.connect(db, schema=name)
    result = await run_main("status", "--dsn", db, "--schema", name)
    assert result.code == 2, result
    assert "schema" in result.err


def test_every_query_and_migration_is_rewritten_whole() -> None:
    for registry in REGISTRIES:
        assert for_schema(registry, "adk") is registry
        moved = for_schema(registry, A)
        assert for_schema(registry, A) is moved  # rewritten once, then shared
        for field in dataclasses.fields(registry):
            original, rewritten = getattr(registry, field.name), getattr(moved, field.name)
            assert not LEFT_OVER.search(rewritten.sql), field.name
            # Nothing else changes: schema adk again gives the file's text back.
            assert rewritten.sql.replace(A, "adk") == original.sql
    for migration in load_migrations():
        assert not LEFT_OVER.search(in_schema(migration.sql, A)), migration.label
    for statement in (SQL_CREATE_SCHEMA, SQL_CREATE_LEDGER, SQL_INSERT_LEDGER):
        assert not LEFT_OVER.search(in_schema(statement, A))
    assert check_schema("tenant_7") == "tenant_7"


async def test_two_schemas_keep_their_own_sessions_memories_and_artifacts(two: str) -> None:
    pool = await create_pool(two)
    try:
        stores = {s: SessionStore(pool, schema=s) for s in (A, B)}
        for schema, store in stores.items():
            # The same keys in both: each schema holds its own.
            await store.create_session(
                app_name="app", user_id="u", session_id="s1",
                state={"who": schema, "app:who": schema, "user:who": schema},
            )  # fmt: skip
            memory = MemoryStore(pool, schema=schema)
            content = types.Content(role="user", parts=[types.Part(text=f"tea in {schema}")])
            await memory.add(
                app_name="app", user_id="u", memories=[NewMemory(id="m1", content=content)]
            )
            await ArtifactStore(pool, schema=schema).save_artifact(
                app_name="app", user_id="u", session_id="s1", filename="f.txt",
                artifact=types.Part(text=schema),
            )  # fmt: skip
        for schema, store in stores.items():
            session = await store.get_session(app_name="app", user_id="u", session_id="s1")
            assert session is not None
            assert session.state == {"who": schema, "app:who": schema, "user:who": schema}
            found = await MemoryStore(pool, schema=schema).search(
                app_name="app", user_id="u", query="tea"
            )
            assert [m.content.parts[0].text for m in found] == [f"tea in {schema}"]  # type: ignore[index]
            loaded = await ArtifactStore(pool, schema=schema).load_artifact(
                app_name="app", user_id="u", session_id="s1", filename="f.txt"
            )
            assert loaded is not None
            assert loaded.part.text == schema
        await stores[A].delete_session(app_name="app", user_id="u", session_id="s1")
        assert await stores[A].get_session(app_name="app", user_id="u", session_id="s1") is None
        assert await stores[B].get_session(app_name="app", user_id="u", session_id="s1")
    finally:
        await pool.close()
    conn = await asyncpg.connect(two)
    try:
        for schema in (A, B):
            tables = await conn.fetch(
                "SELECT tablename FROM pg_catalog.pg_tables WHERE schemaname = $1", schema
            )
            views = await conn.fetch(
                "SELECT viewname FROM pg_catalog.pg_views WHERE schemaname = $1", schema
            )
            ledger = await conn.fetch(f"SELECT version, checksum FROM {schema}.schema_migrations")
            assert {"sessions", "events", "memories", "artifacts", "schema_migrations"} <= {
                r["tablename"] for r in tables
            }
            assert {"event_log", "memory_log", "artifact_overview"} <= {
                r["viewname"] for r in views
            }
            # Each schema's ledger holds the checksums of the files as shipped.
            assert {(r["version"], r["checksum"]) for r in ledger} == {
                (m.version, m.checksum) for m in load_migrations()
            }
        assert not await conn.fetchval(
            "SELECT EXISTS (SELECT FROM pg_catalog.pg_namespace WHERE nspname = 'adk')"
        )
    finally:
        await conn.close()


async def test_the_adk_services_take_the_schema_from_an_argument_or_the_dsn(two: str) -> None:
    by_argument = PostgresSessionService(two, schema=A)
    by_dsn = PostgresSessionService(f"{two}?schema={B}")
    new = PostgresSessionService(f"{two}?schema=tenant_c&pool_size=2")  # migrated on first use
    try:
        for service, name in ((by_argument, A), (by_dsn, B), (new, "tenant_c")):
            session = await service.create_session(app_name="app", user_id="u", state={"k": name})
            event = AdkEvent(author="user", invocation_id="i", actions={"state_delta": {"n": 1}})
            await service.append_event(session, event)
            again = await service.get_session(app_name="app", user_id="u", session_id=session.id)
            assert again is not None
            assert again.state == {"k": name, "n": 1}
            listed = await service.list_sessions(app_name="app", user_id="u")
            assert [s.id for s in listed.sessions] == [session.id]  # only its own schema's
    finally:
        for service in (by_argument, by_dsn, new):
            await service.close()
    status = json.loads(
        (await run_main("status", "--dsn", two, "--schema", "tenant_c", "--json")).out
    )
    assert (status["schema"], status["schema_current"], status["sessions"]) == ("tenant_c", True, 1)


async def test_the_command_line_works_on_the_schema_it_is_given(two: str, tmp_path: Path) -> None:
    await migrate(two)  # schema adk too, empty
    pool = await create_pool(two)
    try:
        await fill(SessionStore(pool, schema=A))
    finally:
        await pool.close()

    def counts(result: Any) -> tuple[str, int]:
        report = json.loads(result.out)
        return report["schema"], report["sessions"]

    assert counts(await run_main("status", "--dsn", two, "--schema", A, "--json")) == (A, 3)
    assert counts(await run_main("status", "--dsn", two, "--json")) == ("adk", 0)
    by_env = await adk_pg("status", "--dsn", two, "--json", env={"ADK_PG_SCHEMA": B})
    assert counts(by_env) == (B, 0)
    by_dsn = await run_main("status", "--dsn", f"{two}?schema={A}", "--json")
    assert counts(by_dsn) == (A, 3)

    path = tmp_path / "a.jsonl"
    exported = await run_main("export", "--dsn", two, "--schema", A, "-o", str(path))
    assert exported.code == 0, exported
    imported = await run_main("import", str(path), "--dsn", two, "--schema", B)
    assert imported.code == 0, imported
    assert counts(await run_main("status", "--dsn", two, "--schema", B, "--json")) == (B, 3)
    listed = await run_main("sessions", "list", "--dsn", two, "--schema", B, "--json")
    assert len(json.loads(listed.out)) == 3

    missing = await run_main("status", "--dsn", two, "--schema", "tenant_x")
    assert missing.code == 1, missing  # pending migrations
    assert "tenant_x: version 0" in missing.out
    assert "adk-pg migrate --schema tenant_x" in missing.out
    refused = await run_main("sessions", "list", "--dsn", two, "--schema", "tenant_x")
    assert refused.code == 3
    assert "adk-pg migrate --schema tenant_x" in refused.err
    sick = await run_main("doctor", "--dsn", two, "--schema", "tenant_x")
    assert "schema tenant_x" in sick.out
    assert "adk-pg migrate --schema tenant_x" in sick.out
    applied = await run_main("migrate", "--dsn", two, "--schema", "tenant_x")
    assert applied.code == 0, applied
    assert "to tenant_x" in applied.out
    doctor = await run_main("doctor", "--dsn", two, "--schema", "tenant_x", "--json")
    assert "schema tenant_x" not in doctor.out  # no finding about the schema


async def test_spans_name_the_schemas_tables(two: str) -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from adk_pg import Telemetry

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    pool = await create_pool(two)
    try:
        store = SessionStore(pool, schema=A, telemetry=Telemetry(tracer_provider=provider))
        await store.create_session(app_name="app", user_id="u", session_id="s")
    finally:
        await pool.close()
    (span,) = exporter.get_finished_spans()
    assert span.name == f"create_session {A}.sessions"
