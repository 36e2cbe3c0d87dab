"""One Runner turn of an agent whose tools save and load artifacts, stored in PostgreSQL.

Run as a script (``python tests/_artifact_agent.py DSN SESSION_ID MESSAGE``) it builds a
PostgresSessionService and a PostgresArtifactService on one shared pool, runs one turn and
prints a JSON summary. The model is a tiny deterministic stand-in: a message starting with
"save " calls ``save_report`` with the rest of the message, any other message calls
``read_report``; after the tool answers, it replies with the tool's result as JSON text.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncGenerator
from typing import Any

from google.adk.agents import LlmAgent
from google.adk.models import BaseLlm, LlmCapabilities
from google.adk.models.llm_request import LlmRequest
from google.adk.models.llm_response import LlmResponse
from google.adk.runners import Runner
from google.adk.tools.tool_context import ToolContext
from google.genai import types

from adk_pg import create_pool
from adk_pg.adk import PostgresArtifactService, PostgresSessionService

APP = "artifact_agent"
USER = "runner-user"
CHART = bytes(range(256))


async def save_report(text: str, tool_context: ToolContext) -> dict[str, Any]:
    """Save the report (this session) and the user's chart (every session of the user).

    Args:
        text: the report's text.
    """
    report = await tool_context.save_artifact("report.txt", types.Part(text=text))
    chart = await tool_context.save_artifact(
        "user:chart.bin",
        types.Part.from_bytes(data=CHART, mime_type="application/octet-stream"),
        custom_metadata={"made_by": "save_report"},
    )
    return {"report_version": report, "chart_version": chart}


async def read_report(tool_context: ToolContext) -> dict[str, Any]:
    """Read back the report and the chart, and list the session's artifacts."""
    report = await tool_context.load_artifact("report.txt")
    chart = await tool_context.load_artifact("user:chart.bin")
    return {
        "report": report.text if report is not None else None,
        "chart_intact": bool(chart and chart.inline_data and chart.inline_data.data == CHART),
        "keys": await tool_context.list_artifacts(),
    }


class ToolCallingModel(BaseLlm):
    """Deterministic: one tool call per user message, then the tool's result as text."""

    model: str = "artifact-test-model"

    @property
    def capabilities(self) -> LlmCapabilities:
        """Declared outright, so ADK skips its name-based detection."""
        return LlmCapabilities(output_schema_and_tools=False)

    async def generate_content_async(
        self, llm_request: LlmRequest, stream: bool = False
    ) -> AsyncGenerator[LlmResponse, None]:
        """A tool call for a user message; the tool's result as text after it."""
        last = llm_request.contents[-1]
        parts = list(last.parts or [])
        results = [p.function_response for p in parts if p.function_response is not None]
        if results:
            text = json.dumps(results[0].response, sort_keys=True)
            yield LlmResponse(content=types.Content(role="model", parts=[types.Part(text=text)]))
            return
        message = " ".join(p.text for p in parts if p.text)
        call = (
            types.FunctionCall(name="save_report", args={"text": message[len("save ") :]})
            if message.startswith("save ")
            else types.FunctionCall(name="read_report", args={})
        )
        yield LlmResponse(
            content=types.Content(role="model", parts=[types.Part(function_call=call)])
        )


async def run_turn(dsn: str, session_id: str, message: str) -> dict[str, Any]:
    """One turn on a session created when missing; the reply and what was recorded."""
    pool = await create_pool(dsn)
    try:
        sessions = PostgresSessionService(pool=pool)
        artifacts = PostgresArtifactService(pool=pool)
        session = await sessions.get_session(app_name=APP, user_id=USER, session_id=session_id)
        if session is None:
            await sessions.create_session(app_name=APP, user_id=USER, session_id=session_id)
        agent = LlmAgent(name=APP, model=ToolCallingModel(), tools=[save_report, read_report])
        runner = Runner(
            app_name=APP, agent=agent, session_service=sessions, artifact_service=artifacts
        )
        replies: list[str] = []
        async for event in runner.run_async(
            user_id=USER,
            session_id=session_id,
            new_message=types.Content(role="user", parts=[types.Part(text=message)]),
        ):
            if event.is_final_response() and event.content and event.content.parts:
                replies.extend(p.text for p in event.content.parts if p.text)
        after = await sessions.get_session(app_name=APP, user_id=USER, session_id=session_id)
        assert after is not None
        return {
            "reply": json.loads(replies[-1]),
            "artifact_deltas": [
                e.actions.artifact_delta for e in after.events if e.actions.artifact_delta
            ],
        }
    finally:
        await pool.close()


if __name__ == "__main__":
    _, dsn_arg, session_arg, message_arg = sys.argv
    print(json.dumps(asyncio.run(run_turn(dsn_arg, session_arg, message_arg))))
