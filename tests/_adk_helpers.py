"""Helpers for the ADK tests: a reference database, rich events, and a one-turn Runner script.

Run as a script (``python tests/_adk_helpers.py DSN SESSION_ID MESSAGE``) it drives one turn
of ``examples/demo_agent`` on the offline ``LocalDemoModel`` through a real ``Runner`` whose
sessions live in PostgreSQL (its own ``PostgresSessionService``), and prints a JSON summary.
The Runner test starts it twice, as two processes that continue the same session.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
from pathlib import Path
from typing import Any

from google.adk.events.event import Event
from google.adk.events.event_actions import EventActions
from google.adk.tools.tool_confirmation import ToolConfirmation
from google.genai import types

REPO_ROOT = Path(__file__).resolve().parents[1]
EXAMPLES_DIR = REPO_ROOT / "examples"
RUNNER_APP = "demo_agent"
RUNNER_USER = "runner-user"


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def rich_event(timestamp: float) -> Event:
    """An ADK event exercising the awkward fields: bytes, grounding, confirmations, ...

    No ``requested_auth_configs``: ADK's AuthConfig does not survive its own JSON round trip
    with ``==`` (``HTTPBase`` gains an extra ``type_`` key), in every service alike.
    """
    return Event(
        id="e-rich",
        invocation_id="inv-rich",
        author="agent",
        branch="root.child",
        timestamp=timestamp,
        content=types.Content(
            role="model",
            parts=[
                types.Part(text="hello ☃ \u2028 \U0001f600"),
                types.Part(inline_data=types.Blob(mime_type="image/png", data=bytes(range(256)))),
                types.Part(function_call=types.FunctionCall(id="fc1", name="tool", args={"a": 1})),
            ],
        ),
        actions=EventActions(
            state_delta={"k": {"nested": [1, None]}, "app:a": 1, "user:u": None},
            artifact_delta={"file.txt": 3},
            requested_tool_confirmations={
                "fc1": ToolConfirmation(hint="sure?", confirmed=False, payload={"x": 1})
            },
        ),
        long_running_tool_ids={"b", "a"},
        grounding_metadata=types.GroundingMetadata(
            web_search_queries=["q"],
            grounding_chunks=[
                types.GroundingChunk(web=types.GroundingChunkWeb(uri="https://e.x", title="t"))
            ],
        ),
        input_transcription=types.Transcription(text="heard", finished=True),
        output_transcription=types.Transcription(text="said", finished=False),
        custom_metadata={"trace": [1, 2.5, "x"], "__adk_internal_mark_restored": True},
        usage_metadata=types.GenerateContentResponseUsageMetadata(
            prompt_token_count=3, candidates_token_count=4, total_token_count=7
        ),
        finish_reason=types.FinishReason.STOP,
        turn_complete=True,
    )


async def run_turn(dsn: str, session_id: str, message: str) -> dict[str, Any]:
    """One Runner turn of the demo agent on a session stored by its own service.

    The session is created when missing and resumed otherwise. Returns the number of events
    the session held before the turn, the final reply, and the state after it.
    """
    # examples/ is a folder of scripts, not a package: put it on the path as `adk web` does.
    sys.path.insert(0, str(EXAMPLES_DIR))
    from demo_agent.agent import build_agent
    from google.adk.runners import Runner
    from local_model import LocalDemoModel

    from adk_pg.adk import PostgresSessionService

    async with PostgresSessionService(dsn) as service:
        session = await service.get_session(
            app_name=RUNNER_APP, user_id=RUNNER_USER, session_id=session_id
        )
        if session is None:
            session = await service.create_session(
                app_name=RUNNER_APP, user_id=RUNNER_USER, session_id=session_id
            )
        runner = Runner(
            app_name=RUNNER_APP,
            agent=build_agent(LocalDemoModel()),
            session_service=service,
        )
        replies: list[str] = []
        async for event in runner.run_async(
            user_id=RUNNER_USER,
            session_id=session_id,
            new_message=types.Content(role="user", parts=[types.Part(text=message)]),
        ):
            if event.is_final_response() and event.content and event.content.parts:
                replies.extend(p.text for p in event.content.parts if p.text)
        after = await service.get_session(
            app_name=RUNNER_APP, user_id=RUNNER_USER, session_id=session_id
        )
        assert after is not None
        return {
            "events_before": len(session.events),
            "events_after": len(after.events),
            "reply": " ".join(replies),
            "state": after.state,
            "service": type(service).__name__,
        }


if __name__ == "__main__":
    _, dsn_arg, session_arg, message_arg = sys.argv
    print(json.dumps(asyncio.run(run_turn(dsn_arg, session_arg, message_arg))))
