"""The demo agent on LocalDemoModel, driven through a real ADK Runner (no network, no database).

Pins the exact replies `make demo` prints, the tool calls the model makes, and the state the
tools write in each scope (session, user:, app:).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from google.adk.events import Event
from google.adk.models.llm_request import LlmRequest
from google.adk.models.llm_response import LlmResponse
from google.adk.runners import Runner
from google.adk.sessions import InMemorySessionService
from google.genai import types

# The examples are scripts, not an installed package: `adk web examples/` and
# `python examples/demo.py` both put examples/ on sys.path, so do the same here.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))

from demo_agent.agent import build_agent, choose_model
from local_model import LocalDemoModel

APP = "demo_agent"
USER = "demo-user"
FIRST = "my name is Ada, remember that I like tea"


def _message(text: str) -> types.Content:
    return types.Content(role="user", parts=[types.Part(text=text)])


async def _new_runner() -> tuple[Runner, InMemorySessionService]:
    service = InMemorySessionService()
    agent = build_agent(LocalDemoModel())  # explicit: never Gemini, whatever the environment
    return Runner(app_name=APP, agent=agent, session_service=service), service


async def _send(runner: Runner, session_id: str, text: str) -> list[Event]:
    return [
        event
        async for event in runner.run_async(
            user_id=USER, session_id=session_id, new_message=_message(text)
        )
    ]


def _final_text(events: list[Event]) -> str:
    finals = [e for e in events if e.is_final_response() and e.content and e.content.parts]
    assert len(finals) == 1
    content = finals[0].content
    assert content is not None
    return "".join(p.text or "" for p in content.parts or [])


async def test_first_message_calls_remember_and_writes_every_scope() -> None:
    runner, service = await _new_runner()
    await service.create_session(app_name=APP, user_id=USER, session_id="s1")

    events = await _send(runner, "s1", FIRST)

    calls = [c for e in events for c in e.get_function_calls()]
    assert [(c.name, c.args) for c in calls] == [("remember", {"note": FIRST})]
    results = [r for e in events for r in e.get_function_responses()]
    assert [r.name for r in results] == ["remember"]
    assert results[0].response == {
        "saved": FIRST,
        "notes": [FIRST],
        "user_name": "Ada",
        "learned_name": True,
        "visits": 1,
    }
    assert _final_text(events) == (
        "Nice to meet you, Ada! I saved your note. This session now holds 1 note,"
        " and this is your visit 1."
    )

    session = await service.get_session(app_name=APP, user_id=USER, session_id="s1")
    assert session is not None
    assert len(session.events) == 4  # user message, tool call, tool result, reply
    assert session.state == {
        "notes": [FIRST],
        "user:name": "Ada",
        "user:visits": 1,
        "app:notes_saved": 1,
    }
    # user: and app: keys belong to the user / app, so another session of Ada's sees them.
    other = await service.create_session(app_name=APP, user_id=USER, session_id="s2")
    assert other.state == {"user:name": "Ada", "user:visits": 1, "app:notes_saved": 1}


async def test_second_message_recalls_history_and_state() -> None:
    runner, service = await _new_runner()
    await service.create_session(app_name=APP, user_id=USER, session_id="s1")
    await _send(runner, "s1", FIRST)

    events = await _send(runner, "s1", "what do you remember?")

    calls = [c for e in events for c in e.get_function_calls()]
    assert [(c.name, c.args) for c in calls] == [("recall", {})]
    assert _final_text(events) == (
        'Welcome back, Ada! This is your visit 2. I remember 1 note: "my name is Ada, remember'
        " that I like tea\". I can see 1 earlier message of yours in this session's history."
    )
    session = await service.get_session(app_name=APP, user_id=USER, session_id="s1")
    assert session is not None
    assert len(session.events) == 8
    assert session.state["user:visits"] == 2
    assert session.state["notes"] == [FIRST]


async def test_a_new_session_knows_the_user_but_not_the_notes() -> None:
    runner, service = await _new_runner()
    await service.create_session(app_name=APP, user_id=USER, session_id="s1")
    await _send(runner, "s1", FIRST)
    await service.create_session(app_name=APP, user_id=USER, session_id="s2")

    events = await _send(runner, "s2", "who am I?")

    assert _final_text(events) == (
        "Welcome back, Ada! This is your visit 2. I don't remember anything from this session"
        " yet. I can see 0 earlier messages of yours in this session's history."
    )


async def test_a_note_without_a_name() -> None:
    runner, service = await _new_runner()
    await service.create_session(app_name=APP, user_id=USER, session_id="s1")

    events = await _send(runner, "s1", "buy milk")

    assert _final_text(events) == (
        "Thanks. I saved your note. This session now holds 1 note, and this is your visit 1."
    )
    session = await service.get_session(app_name=APP, user_id=USER, session_id="s1")
    assert session is not None
    assert "user:name" not in session.state


async def _generate(request: LlmRequest, *, stream: bool = False) -> list[LlmResponse]:
    return [r async for r in LocalDemoModel().generate_content_async(request, stream=stream)]


def _text(response: LlmResponse) -> str:
    assert response.content is not None
    return "".join(p.text or "" for p in response.content.parts or [])


async def test_model_without_the_tools_or_a_message_still_answers() -> None:
    no_tools = await _generate(LlmRequest(contents=[_message("hello")]))
    assert [_text(r) for r in no_tools] == [
        "I have no 'remember' tool, so I cannot help with that."
    ]

    empty = await _generate(LlmRequest())
    assert [_text(r) for r in empty] == ["Tell me something and I will remember it."]


async def test_model_streams_a_partial_chunk_then_the_same_final_reply() -> None:
    result = types.Content(
        role="user",
        parts=[
            types.Part(
                function_response=types.FunctionResponse(
                    name="recall", response={"notes": [], "user_name": None, "visits": 1}
                )
            )
        ],
    )
    request = LlmRequest(contents=[_message("recall"), result])

    streamed = await _generate(request, stream=True)
    (single,) = await _generate(request)

    assert [r.partial for r in streamed] == [True, None]
    assert _text(streamed[0]) == _text(streamed[1]) == _text(single)
    assert _text(single).startswith("Hello! This is your visit 1.")
    assert single.usage_metadata is not None  # keeps ADK's telemetry from warning


def test_gemini_only_when_credentials_are_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "ADK_PG_DEMO_MODEL",
        "GOOGLE_API_KEY",
        "GOOGLE_GENAI_USE_VERTEXAI",
        "GOOGLE_CLOUD_PROJECT",
    ):
        monkeypatch.delenv(name, raising=False)
    assert isinstance(choose_model(), LocalDemoModel)

    monkeypatch.setenv("GOOGLE_API_KEY", "not-a-real-key")
    assert choose_model() == "gemini-2.5-flash"

    monkeypatch.setenv("ADK_PG_DEMO_MODEL", "local")
    assert isinstance(choose_model(), LocalDemoModel)
