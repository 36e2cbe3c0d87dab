"""OpenTelemetry spans and metrics, and log lines, of every store call, read back from the SDK.

Each test gives the stores its own SDK providers (``Telemetry(tracer_provider=...,
meter_provider=...)``) with the in-memory span exporter and metric reader. The Runner turn
runs in a process of its own (``tests/_otel_turn.py``): ADK's spans go to the global
provider, which can be set once per process.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import pytest
from _adk_helpers import REPO_ROOT
from google.genai import types
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from adk_pg import (
    AlreadyExistsError,
    Event,
    EventActions,
    InvalidArgumentError,
    SessionNotFoundError,
    SessionStore,
    StaleSessionError,
    StorageError,
    Telemetry,
)
from adk_pg.adk import PostgresArtifactService, PostgresMemoryService, PostgresSessionService
from adk_pg.artifacts import ArtifactStore
from adk_pg.db.pool import create_pool
from adk_pg.memory.models import NewMemory
from adk_pg.memory.store import MemoryStore

APP, USER = "tel_app", "tel_user"
SECRET = "s3cr3t-planted-7f1c"  # goes into state and event text; must never be reported


@dataclass
class Recorder:
    """An SDK tracer and meter provider recording in memory, and the Telemetry using them."""

    spans: InMemorySpanExporter
    reader: InMemoryMetricReader
    tracer_provider: TracerProvider
    telemetry: Telemetry

    def ours(self) -> list[ReadableSpan]:
        return [
            s
            for s in self.spans.get_finished_spans()
            if s.instrumentation_scope is not None and s.instrumentation_scope.name == "adk_pg"
        ]

    def points(self, name: str) -> list[Any]:
        data = self.reader.get_metrics_data()
        return [
            point
            for resource in (data.resource_metrics if data else [])
            for scope in resource.scope_metrics
            for metric in scope.metrics
            if metric.name == name
            for point in metric.data.data_points
        ]


def recorder(**options: Any) -> Recorder:
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    telemetry = Telemetry(tracer_provider=tracer_provider, meter_provider=meter_provider, **options)
    return Recorder(spans, reader, tracer_provider, telemetry)


@pytest.fixture
def rec() -> Recorder:
    return recorder()


def attrs(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def database_of(dsn: str) -> str:
    return urlsplit(dsn).path.lstrip("/")


def text_event(text: str, delta: dict[str, Any] | None = None) -> Event:
    return Event(
        author="user",
        content=types.Content(role="user", parts=[types.Part(text=text)]),
        actions=EventActions(state_delta=delta or {}),
    )


async def test_each_call_is_one_client_span_under_the_current_span(
    pool: asyncpg.Pool, db: str, rec: Recorder
) -> None:
    store = SessionStore(pool, telemetry=rec.telemetry)
    outer = rec.tracer_provider.get_tracer("app")
    with outer.start_as_current_span("request") as request:
        s = await store.create_session(app_name=APP, user_id=USER, session_id="s1")
        await store.append_event(
            app_name=APP, user_id=USER, session_id="s1", event=text_event("hi"), expected_revision=0
        )
        await store.get_session(app_name=APP, user_id=USER, session_id=s.id)
        await store.list_sessions(app_name=APP, user_id=USER)
        await store.list_events(app_name=APP, user_id=USER, session_id=s.id)
        await store.get_user_state(app_name=APP, user_id=USER)
        await store.get_app_state(app_name=APP)
        await store.delete_session(app_name=APP, user_id=USER, session_id=s.id)
    spans = rec.ours()
    assert [s.name for s in spans] == [
        "create_session adk.sessions",
        "append_event adk.events",
        "get_session adk.sessions",
        "list_sessions adk.sessions",
        "list_events adk.events",
        "get_user_state adk.user_states",
        "get_app_state adk.app_states",
        "delete_session adk.sessions",
    ]
    host = urlsplit(db)
    for span in spans:
        assert span.kind is SpanKind.CLIENT
        assert span.parent is not None
        assert span.parent.span_id == request.get_span_context().span_id
        assert span.status.status_code is StatusCode.UNSET
        a = attrs(span)
        operation, collection = span.name.split(" ")
        assert a["db.system.name"] == "postgresql"
        assert a["db.operation.name"] == operation
        assert a["db.collection.name"] == collection
        assert a["db.namespace"] == database_of(db)
        assert a["server.address"] == host.hostname
        assert a["server.port"] == (host.port or 5432)
        assert a["adk_pg.app_name"] == APP
        assert "error.type" not in a
    by_name = {s.name: attrs(s) for s in spans}
    assert by_name["append_event adk.events"]["gen_ai.conversation.id"] == "s1"
    assert by_name["append_event adk.events"]["user.id"] == USER
    assert "gen_ai.conversation.id" not in by_name["list_sessions adk.sessions"]
    # One duration per call, by operation.
    durations = {
        p.attributes["db.operation.name"]: p.count
        for p in rec.points("db.client.operation.duration")
    }
    assert durations == {s.name.split(" ")[0]: 1 for s in spans}


async def test_memory_calls_are_spans_too(pool: asyncpg.Pool, db: str, rec: Recorder) -> None:
    store = MemoryStore(pool, telemetry=rec.telemetry)
    content = types.Content(role="user", parts=[types.Part(text="green tea")])
    await store.add(app_name=APP, user_id=USER, memories=[NewMemory(id="m1", content=content)])
    assert await store.search(app_name=APP, user_id=USER, query="tea")
    await store.recent(app_name=APP, user_id=USER)
    await store.delete(app_name=APP, user_id=USER, memory_id="m1")
    await store.delete_user(app_name=APP, user_id=USER)
    assert [s.name for s in rec.ours()] == [
        "add_memories adk.memories",
        "search_memories adk.memories",
        "list_memories adk.memories",
        "delete_memory adk.memories",
        "delete_user_memories adk.memories",
    ]
    assert all(attrs(s)["user.id"] == USER for s in rec.ours())


async def test_artifact_calls_are_spans_too(pool: asyncpg.Pool, db: str, rec: Recorder) -> None:
    store = ArtifactStore(pool, telemetry=rec.telemetry)
    key: dict[str, Any] = {
        "app_name": APP,
        "user_id": USER,
        "session_id": "s9",
        "filename": "a.txt",
    }
    await store.save_artifact(**key, artifact=types.Part(text="tea"))
    await store.save_artifact(
        app_name=APP, user_id=USER, filename="user:b.txt", artifact=types.Part(text="b")
    )
    assert await store.load_artifact(**key) is not None
    await store.list_artifact_versions(**key)
    await store.list_artifact_keys(app_name=APP, user_id=USER, session_id="s9")
    await store.delete_artifact(**key)
    operations = [s.name for s in rec.ours()]
    assert operations == [
        "save_artifact adk.artifact_versions",
        "save_artifact adk.artifact_versions",
        "load_artifact adk.artifact_versions",
        "list_artifact_versions adk.artifact_versions",
        "list_artifact_keys adk.artifact_versions",
        "delete_artifact adk.artifact_versions",
    ]
    sessions = [attrs(s).get("gen_ai.conversation.id") for s in rec.ours()]
    assert sessions == ["s9", None, "s9", "s9", "s9", "s9"]  # a user: artifact has none
    assert all(attrs(s)["user.id"] == USER for s in rec.ours())
    durations = {
        p.attributes["db.operation.name"]: p.count
        for p in rec.points("db.client.operation.duration")
    }
    assert durations == {
        "save_artifact": 2,
        "load_artifact": 1,
        "list_artifact_versions": 1,
        "list_artifact_keys": 1,
        "delete_artifact": 1,
    }


async def test_app_and_user_ids_can_be_left_out(
    pool: asyncpg.Pool, rec: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    quiet = recorder(record_ids=False)
    store = SessionStore(pool, telemetry=quiet.telemetry)
    with caplog.at_level(logging.DEBUG, logger="adk_pg"):
        await store.create_session(app_name=APP, user_id=USER, session_id="s2")
    (span,) = quiet.ours()
    assert attrs(span)["gen_ai.conversation.id"] == "s2"
    assert "user.id" not in attrs(span)
    assert "adk_pg.app_name" not in attrs(span)
    (line,) = [r.getMessage() for r in caplog.records if r.name == "adk_pg"]
    assert "'s2'" in line
    assert USER not in line
    assert APP not in line


async def test_failed_calls_record_error_type_and_sqlstate(
    pool: asyncpg.Pool, db: str, rec: Recorder
) -> None:
    store = SessionStore(pool, telemetry=rec.telemetry)
    await store.create_session(app_name=APP, user_id=USER, session_id="s3")
    with pytest.raises(AlreadyExistsError):
        await store.create_session(app_name=APP, user_id=USER, session_id="s3")
    await store.append_event(
        app_name=APP, user_id=USER, session_id="s3", event=text_event("a"), expected_revision=0
    )
    with pytest.raises(StaleSessionError):
        await store.append_event(
            app_name=APP, user_id=USER, session_id="s3", event=text_event("b"), expected_revision=0
        )
    with pytest.raises(SessionNotFoundError):
        await store.append_event(
            app_name=APP,
            user_id=USER,
            session_id="nope",
            event=text_event("c"),
            expected_revision=0,
        )
    failed = [s for s in rec.ours() if s.status.status_code is StatusCode.ERROR]
    assert [(s.name, attrs(s)["error.type"]) for s in failed] == [
        ("create_session adk.sessions", "AlreadyExistsError"),
        ("append_event adk.events", "StaleSessionError"),
        ("append_event adk.events", "SessionNotFoundError"),
    ]
    # The duration metric keeps failures apart, by error type.
    outcomes = {
        (p.attributes["db.operation.name"], p.attributes.get("error.type"))
        for p in rec.points("db.client.operation.duration")
    }
    assert ("append_event", None) in outcomes
    assert ("append_event", "StaleSessionError") in outcomes


async def test_a_killed_connection_records_the_sqlstate(db: str, rec: Recorder) -> None:
    name = f"adk_pg_tel_{uuid.uuid4().hex[:8]}"
    pool = await create_pool(db, max_size=1, server_settings={"application_name": name})
    blocker = await asyncpg.connect(db)
    try:
        store = SessionStore(pool, telemetry=rec.telemetry)
        await store.create_session(app_name=APP, user_id=USER, session_id="s4")
        # Hold the session row, so that the append waits inside the server until it is killed.
        lock = blocker.transaction()
        await lock.start()
        await blocker.execute(
            "SELECT 1 FROM adk.sessions WHERE app_name = $1 AND user_id = $2 AND id = 's4' "
            "FOR UPDATE",
            APP,
            USER,
        )
        append = asyncio.create_task(
            store.append_event(
                app_name=APP,
                user_id=USER,
                session_id="s4",
                event=text_event("x"),
                expected_revision=0,
            )
        )
        for _ in range(100):
            waiting = await blocker.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 "
                "AND wait_event_type = 'Lock'",
                name,
            )
            if waiting:
                break
            await asyncio.sleep(0.05)
        await blocker.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
            name,
        )
        with pytest.raises(StorageError) as raised:
            await append
        await lock.rollback()
    finally:
        await blocker.close()
        await pool.close()
    # admin_shutdown when the driver read the server's goodbye; else the connection is gone.
    sqlstate = raised.value.sqlstate
    assert sqlstate in {"57P01", "08003", "08006"}
    span = rec.ours()[-1]
    assert span.name == "append_event adk.events"
    assert span.status.status_code is StatusCode.ERROR
    assert attrs(span)["error.type"] == sqlstate
    assert attrs(span)["db.response.status_code"] == sqlstate


async def test_pool_metrics_match_what_is_held(db: str, rec: Recorder) -> None:
    pool = await create_pool(db, min_size=1, max_size=3)
    try:
        store = SessionStore(pool, telemetry=rec.telemetry)
        await store.get_app_state(app_name=APP)  # the first call learns the pool's address
        held = [await pool.acquire() for _ in range(3)]

        def counts() -> dict[str, int]:
            return {
                p.attributes["db.client.connection.state"]: p.value
                for p in rec.points("db.client.connection.count")
            }

        assert counts() == {"used": 3, "idle": 0}
        (maximum,) = rec.points("db.client.connection.max")
        assert maximum.value == 3
        waiting = asyncio.create_task(store.get_app_state(app_name=APP))
        await asyncio.sleep(0.2)
        (pending,) = rec.points("db.client.connection.pending_requests")
        assert pending.value == 1
        await pool.release(held.pop())
        await waiting
        (pending,) = rec.points("db.client.connection.pending_requests")
        assert pending.value == 0
        assert counts() == {"used": 2, "idle": 1}
        for conn in held:
            await pool.release(conn)
        assert counts() == {"used": 0, "idle": 3}
        (waits,) = rec.points("db.client.connection.wait_time")
        assert waits.count == 2
        assert waits.max >= 0.15  # the second call waited for the released connection
        name = waits.attributes["db.client.connection.pool.name"]
        assert name.startswith(f"{urlsplit(db).hostname}:")
    finally:
        await pool.close()


async def test_a_pool_passed_in_by_the_caller_is_observed(db: str, rec: Recorder) -> None:
    pool = await asyncpg.create_pool(db, min_size=2, max_size=4)  # not adk-pg's own
    try:
        service = PostgresSessionService(pool=pool, telemetry=rec.telemetry)
        await service.get_user_state(app_name=APP, user_id=USER)
        async with pool.acquire():
            counts = {
                p.attributes["db.client.connection.state"]: p.value
                for p in rec.points("db.client.connection.count")
            }
        assert counts["used"] == 1
        assert counts["used"] + counts["idle"] == pool.get_size()
        (maximum,) = rec.points("db.client.connection.max")
        assert maximum.value == 4
    finally:
        await pool.close()


async def test_slow_calls_log_a_warning_and_every_call_logs_at_debug(
    pool: asyncpg.Pool, caplog: pytest.LogCaptureFixture
) -> None:
    fast = SessionStore(pool, telemetry=Telemetry(slow_call_ms=10_000))
    slow = SessionStore(pool, telemetry=Telemetry(slow_call_ms=0))
    with caplog.at_level(logging.DEBUG, logger="adk_pg"):
        await fast.create_session(app_name=APP, user_id=USER, session_id="s5")
        await slow.get_session(app_name=APP, user_id=USER, session_id="s5")
    lines = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "adk_pg"]
    assert len(lines) == 2
    (debug, created), (warning, got) = lines
    assert debug == logging.DEBUG
    assert created.startswith("create_session adk.sessions took ")
    assert warning == logging.WARNING
    assert got.startswith("slow call: get_session adk.sessions took ")
    assert "session_id='s5'" in got
    assert f"user_id='{USER}'" in got
    with caplog.at_level(logging.INFO, logger="adk_pg"):
        caplog.clear()
        await fast.get_session(app_name=APP, user_id=USER, session_id="s5")
    assert not [r for r in caplog.records if r.name == "adk_pg"]


async def test_an_exhausted_pool_is_logged_once_per_interval(
    db: str, caplog: pytest.LogCaptureFixture
) -> None:
    pool = await create_pool(db, min_size=1, max_size=1)
    try:
        telemetry = Telemetry(pool_wait_ms=50, pool_wait_log_interval_s=3600)
        store = SessionStore(pool, telemetry=telemetry)
        await store.get_app_state(app_name=APP)
        with caplog.at_level(logging.WARNING, logger="adk_pg"):
            async with pool.acquire():
                waiting = [asyncio.create_task(store.get_app_state(app_name=APP)) for _ in range(5)]
                await asyncio.sleep(0.2)
            await asyncio.gather(*waiting)
    finally:
        await pool.close()
    lines = [r.getMessage() for r in caplog.records if r.name == "adk_pg"]
    assert len(lines) == 1, lines
    assert lines[0].startswith("slow connection from pool ")
    assert "1 of 1 connections in use" in lines[0]


async def test_telemetry_off_reports_nothing(
    pool: asyncpg.Pool, caplog: pytest.LogCaptureFixture
) -> None:
    off = recorder(enabled=False, slow_call_ms=0)
    store = SessionStore(pool, telemetry=off.telemetry)
    with caplog.at_level(logging.DEBUG, logger="adk_pg"):
        await store.create_session(app_name=APP, user_id=USER, session_id="s6")
    assert off.spans.get_finished_spans() == ()
    assert off.points("db.client.operation.duration") == []
    assert off.points("db.client.connection.count") == []
    assert not [r for r in caplog.records if r.name == "adk_pg"]


@pytest.mark.parametrize(
    "options",
    [
        {"slow_call_ms": -1},
        {"slow_call_ms": float("nan")},
        {"pool_wait_ms": "100"},
        {"enabled": 1},
        {"record_ids": None},
        {"tracer_provider": object()},
        {"meter_provider": "global"},
    ],
)
def test_bad_telemetry_settings_are_invalid_arguments(options: dict[str, Any]) -> None:
    with pytest.raises(InvalidArgumentError, match="Telemetry"):
        Telemetry(**options)


async def test_a_telemetry_that_is_not_one_is_refused_everywhere(pool: asyncpg.Pool) -> None:
    for build in (
        lambda: SessionStore(pool, telemetry="on"),  # type: ignore[arg-type]
        lambda: MemoryStore(pool, telemetry={}),  # type: ignore[arg-type]
        lambda: PostgresSessionService(pool=pool, telemetry=True),  # type: ignore[arg-type]
        lambda: PostgresMemoryService(pool=pool, telemetry=1),  # type: ignore[arg-type]
        lambda: ArtifactStore(pool, telemetry="on"),  # type: ignore[arg-type]
        lambda: PostgresArtifactService(pool=pool, telemetry=[]),  # type: ignore[arg-type]
    ):
        with pytest.raises(InvalidArgumentError, match=r"telemetry must be an adk_pg\.Telemetry"):
            build()
    with pytest.raises(InvalidArgumentError, match="telemetry"):
        await SessionStore.connect("postgresql://nowhere.invalid/x", telemetry="on")  # type: ignore[arg-type]


async def plant(pool: asyncpg.Pool, telemetry: Telemetry) -> None:
    """Every kind of store call, with the secret in state, event text and memory text."""
    store = SessionStore(pool, telemetry=telemetry)
    state = {"k": SECRET, "app:k": SECRET, "user:k": SECRET}
    s = await store.create_session(app_name=APP, user_id=USER, session_id="s7", state=state)
    await store.append_event(
        app_name=APP,
        user_id=USER,
        session_id=s.id,
        event=text_event(f"my secret is {SECRET}", {"k2": SECRET}),
        expected_revision=0,
    )
    with pytest.raises(StaleSessionError):
        await store.append_event(
            app_name=APP,
            user_id=USER,
            session_id=s.id,
            event=text_event(SECRET),
            expected_revision=0,
        )
    await store.get_session(app_name=APP, user_id=USER, session_id=s.id)
    await store.list_sessions(app_name=APP)
    memory = MemoryStore(pool, telemetry=telemetry)
    content = types.Content(role="user", parts=[types.Part(text=SECRET)])
    await memory.add(app_name=APP, user_id=USER, memories=[NewMemory(id="m", content=content)])
    assert await memory.search(app_name=APP, user_id=USER, query=SECRET)
    artifacts = ArtifactStore(pool, telemetry=telemetry)
    await artifacts.save_artifact(
        app_name=APP, user_id=USER, session_id=s.id, filename="f", artifact=types.Part(text=SECRET),
        custom_metadata={"k": SECRET},
    )  # fmt: skip


async def test_no_span_metric_or_log_line_holds_a_stored_value(
    pool: asyncpg.Pool, caplog: pytest.LogCaptureFixture
) -> None:
    rec = recorder(slow_call_ms=0)  # every call also logs its WARNING line
    with caplog.at_level(logging.DEBUG, logger="adk_pg"):
        await plant(pool, rec.telemetry)
    assert len(rec.ours()) == 8  # every call was reported...
    reported = [span.to_json() for span in rec.spans.get_finished_spans()]
    data = rec.reader.get_metrics_data()
    assert data is not None
    reported.append(data.to_json())
    logged = [r.getMessage() for r in caplog.records if r.name == "adk_pg"]
    assert len(logged) == 8
    # ...and none of it holds what was stored.
    assert not [text for text in reported + logged if SECRET in text]


async def test_a_runner_turn_nests_adk_pg_spans_under_adk_spans(db: str) -> None:
    message = f"remember that my code is {SECRET}"
    env = {**os.environ, "ADK_PG_DEMO_MODEL": "local"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(REPO_ROOT / "tests" / "_otel_turn.py"),
        db,
        message,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=REPO_ROOT,
        env=env,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 90)
    assert proc.returncode == 0, err.decode(errors="replace")
    result = json.loads(out)
    assert SECRET in json.dumps(result["state"])  # the tool did store the secret
    spans = {s["span_id"]: s for s in result["spans"]}
    ours = [s for s in result["spans"] if s["scope"] == "adk_pg"]
    by_name: dict[str, list[dict[str, Any]]] = {}
    for span in ours:
        by_name.setdefault(span["name"], []).append(span)
    assert set(by_name) >= {
        "create_session adk.sessions",
        "get_session adk.sessions",
        "append_event adk.events",
        "search_memories adk.memories",
    }

    def parent_names(span: dict[str, Any]) -> list[str]:
        names = []
        while span["parent_id"] in spans:
            span = spans[span["parent_id"]]
            names.append(span["name"])
        return names

    # Appends run inside ADK's invocation; the memory search inside the agent's span.
    for append in by_name["append_event adk.events"]:
        assert parent_names(append)[0].startswith("invoke_")
        assert parent_names(append)[-1] == "POST /chat"
    for search in by_name["search_memories adk.memories"]:
        assert parent_names(search)[0] == "invoke_agent demo_agent"
    for span in ours:
        assert span["kind"] == "CLIENT"
        assert span["attributes"]["db.system.name"] == "postgresql"
        assert span["attributes"]["db.namespace"] == database_of(db)
        assert span["attributes"]["user.id"]
    for append in by_name["append_event adk.events"]:
        assert append["attributes"]["gen_ai.conversation.id"] == result["session_id"]
    # Nothing the user said or the tool stored reached a span of ours, a metric or a log line.
    assert SECRET not in json.dumps(ours)
    assert SECRET not in json.dumps(result["metrics"])
    assert result["logs"]
    assert SECRET not in json.dumps(result["logs"])
    durations = [p for p in result["metrics"] if p["name"] == "db.client.operation.duration"]
    assert {p["attributes"]["db.operation.name"] for p in durations} >= {"append_event"}


async def test_a_recording_sdk_adds_no_statement_to_any_call(db: str, rec: Recorder) -> None:
    sent: list[str] = []

    def log(record: Any) -> None:
        sent.append(record.query)

    async def log_queries(conn: asyncpg.Connection) -> None:
        conn.add_query_logger(log)  # a set of loggers: one, however often setup runs

    pool = await create_pool(db, min_size=1, max_size=1, setup=log_queries)
    try:
        store = SessionStore(pool, telemetry=rec.telemetry)
        memory = MemoryStore(pool, telemetry=rec.telemetry)
        artifacts = ArtifactStore(pool, telemetry=rec.telemetry)
        content = types.Content(role="user", parts=[types.Part(text="tea")])
        calls: list[Callable[[], Awaitable[object]]] = [
            lambda: store.create_session(app_name=APP, user_id=USER, session_id="s8"),
            lambda: store.append_event(
                app_name=APP,
                user_id=USER,
                session_id="s8",
                event=text_event("a"),
                expected_revision=0,
            ),
            lambda: store.get_session(app_name=APP, user_id=USER, session_id="s8"),
            lambda: store.list_sessions(app_name=APP, user_id=USER),
            lambda: store.delete_session(app_name=APP, user_id=USER, session_id="s8"),
            lambda: memory.add(
                app_name=APP, user_id=USER, memories=[NewMemory(id="m8", content=content)]
            ),
            lambda: memory.search(app_name=APP, user_id=USER, query="tea"),
            lambda: artifacts.save_artifact(
                app_name=APP,
                user_id=USER,
                session_id="s8",
                filename="f",
                artifact=types.Part(text="tea"),
            ),
            lambda: artifacts.load_artifact(
                app_name=APP, user_id=USER, session_id="s8", filename="f"
            ),
        ]
        for call in calls:
            sent.clear()
            await call()
            assert len(sent) == 1, sent
    finally:
        await pool.close()
    assert len(rec.ours()) == len(calls)
