"""One Runner turn with the OpenTelemetry SDK recording in memory: spans, metrics and logs.

Run as ``python tests/_otel_turn.py DSN MESSAGE [--tree]``. A process of its own, because the
global tracer provider that ADK's spans go to can be set only once per process. The turn is
the demo agent on the offline ``LocalDemoModel`` (it calls the ``remember`` tool, which puts
the user's words into the session state), with ``PreloadMemoryTool`` searching a
``PostgresMemoryService`` on the same pool. Prints JSON: every finished span (name, ids,
parent, kind, scope, attributes, status), every metric point, and every ``adk_pg`` log
record at DEBUG; with ``--tree``, the span tree as indented text instead.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from typing import Any

import asyncpg
from _adk_helpers import EXAMPLES_DIR, RUNNER_APP, RUNNER_USER
from google.adk.sessions.session import Session
from google.genai import types
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


class Records(logging.Handler):
    """Keeps every log record's final text."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[dict[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append({"level": record.levelname, "message": record.getMessage()})


def span_json(span: ReadableSpan) -> dict[str, Any]:
    context = span.get_span_context()
    assert context is not None
    return {
        "name": span.name,
        "span_id": f"{context.span_id:016x}",
        "trace_id": f"{context.trace_id:032x}",
        "parent_id": None if span.parent is None else f"{span.parent.span_id:016x}",
        "kind": span.kind.name,
        "scope": span.instrumentation_scope.name if span.instrumentation_scope else None,
        "attributes": dict(span.attributes or {}),
        "status": span.status.status_code.name,
        "events": [event.name for event in span.events],
        "start": span.start_time,
    }


def metric_points(reader: InMemoryMetricReader) -> list[dict[str, Any]]:
    data = reader.get_metrics_data()
    points: list[dict[str, Any]] = []
    for resource in data.resource_metrics if data else []:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    value = getattr(point, "value", None)
                    count = getattr(point, "count", None)
                    points.append(
                        {
                            "scope": scope.scope.name,
                            "name": metric.name,
                            "attributes": dict(point.attributes or {}),
                            "value": value,
                            "count": count,
                        }
                    )
    return points


def tree(spans: list[dict[str, Any]]) -> str:
    """The spans as an indented tree, children in start order, with the adk-pg attributes."""
    children: dict[str | None, list[dict[str, Any]]] = {}
    known = {s["span_id"] for s in spans}
    for span in sorted(spans, key=lambda s: s["start"]):
        parent = span["parent_id"] if span["parent_id"] in known else None
        children.setdefault(parent, []).append(span)
    lines: list[str] = []

    def walk(parent: str | None, depth: int) -> None:
        for span in children.get(parent, []):
            shown = ""
            if span["scope"] == "adk_pg":
                attrs = span["attributes"]
                keys = ("db.collection.name", "gen_ai.conversation.id", "error.type")
                shown = "  [" + ", ".join(f"{k}={attrs[k]}" for k in keys if k in attrs) + "]"
            lines.append(f"{'  ' * depth}{span['name']} ({span['scope']}){shown}")
            walk(span["span_id"], depth + 1)

    walk(None, 0)
    return "\n".join(lines)


async def run(dsn: str, message: str) -> dict[str, Any]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    reader = InMemoryMetricReader()
    metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
    records = Records()
    logger = logging.getLogger("adk_pg")
    logger.addHandler(records)
    logger.setLevel(logging.DEBUG)

    from adk_pg import create_pool

    pool = await create_pool(dsn, pool_size=3, max_overflow=0)
    # The application's own span around the request, as a web framework's would be.
    with trace.get_tracer("app").start_as_current_span("POST /chat"):
        try:
            session, stored = await turn(pool, message)
        finally:
            await pool.close()
    provider.force_flush()
    return {
        "session_id": session.id,
        "state": stored.state,
        "spans": [span_json(span) for span in exporter.get_finished_spans()],
        "metrics": metric_points(reader),
        "logs": records.lines,
    }


async def turn(pool: asyncpg.Pool, message: str) -> tuple[Session, Session]:
    """One turn of the demo agent (with PreloadMemoryTool) on services sharing ``pool``."""
    sys.path.insert(0, str(EXAMPLES_DIR))
    from demo_agent.agent import build_agent
    from google.adk.runners import Runner
    from google.adk.tools.preload_memory_tool import PreloadMemoryTool
    from local_model import LocalDemoModel

    from adk_pg.adk import PostgresMemoryService, PostgresSessionService

    sessions = PostgresSessionService(pool=pool)
    memory = PostgresMemoryService(pool=pool)
    agent = build_agent(LocalDemoModel())
    agent.tools.append(PreloadMemoryTool())
    runner = Runner(
        app_name=RUNNER_APP, agent=agent, session_service=sessions, memory_service=memory
    )
    session = await sessions.create_session(app_name=RUNNER_APP, user_id=RUNNER_USER)
    content = types.Content(role="user", parts=[types.Part(text=message)])
    async for _ in runner.run_async(
        user_id=RUNNER_USER, session_id=session.id, new_message=content
    ):
        pass
    stored = await sessions.get_session(
        app_name=RUNNER_APP, user_id=RUNNER_USER, session_id=session.id
    )
    assert stored is not None
    return session, stored


if __name__ == "__main__":
    dsn_arg, message_arg = sys.argv[1], sys.argv[2]
    result = asyncio.run(run(dsn_arg, message_arg))
    if "--tree" in sys.argv[3:]:
        print(tree(result["spans"]))
    else:
        print(json.dumps(result, default=str))
