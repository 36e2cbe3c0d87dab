"""Every field of ADK 2.13's Event survives the store, bit for bit."""

from __future__ import annotations

import math
import time
from typing import Any

import asyncpg
import pytest
from google.adk.auth.auth_credential import AuthCredential, AuthCredentialTypes, OAuth2Auth
from google.adk.auth.auth_tool import AuthConfig
from google.adk.events.event import Event as AdkEvent
from google.adk.events.event import NodeInfo
from google.adk.events.event_actions import EventActions as AdkEventActions
from google.adk.events.event_actions import EventCompaction
from google.adk.tools.tool_confirmation import ToolConfirmation
from google.genai import types

from adk_pg import Event, SessionStore
from adk_pg.db.pool import create_pool


def full_adk_event() -> AdkEvent:
    """An ADK event with every field set, including the awkward ones."""
    content = types.Content(
        role="model",
        parts=[
            types.Part(text="hello ☃ \u2028 \U0001f600"),
            types.Part(inline_data=types.Blob(mime_type="image/png", data=bytes(range(256)))),
            types.Part(function_call=types.FunctionCall(id="fc1", name="tool", args={"a": 1})),
            types.Part(
                function_response=types.FunctionResponse(id="fc1", name="tool", response={"r": 2})
            ),
        ],
    )
    return AdkEvent(
        id="e-full",
        invocation_id="inv-1",
        author="agent",
        branch="root.child",
        timestamp=time.time(),
        content=content,
        actions=AdkEventActions(
            skip_summarization=True,
            state_delta={"k": {"nested": [1, None]}, "app:a": 1, "user:u": None},
            artifact_delta={"file.txt": 3},
            transfer_to_agent="other",
            transfer_reason="because",
            escalate=False,
            requested_auth_configs={
                "fc1": AuthConfig(
                    auth_scheme={"type": "http", "scheme": "bearer"},
                    raw_auth_credential=AuthCredential(
                        auth_type=AuthCredentialTypes.OAUTH2,
                        oauth2=OAuth2Auth(client_id="id", client_secret="secret"),
                    ),
                )
            },
            requested_tool_confirmations={
                "fc1": ToolConfirmation(hint="sure?", confirmed=False, payload={"x": 1})
            },
            compaction=EventCompaction(
                start_timestamp=1.5,
                end_timestamp=2.25,
                compacted_content=types.Content(role="model", parts=[types.Part(text="sum")]),
            ),
            end_of_agent=True,
            agent_state={"step": 3},
            rewind_before_invocation_id="inv-0",
            route=["a", 1, True],
        ),
        output={"result": [1, 2]},
        node_info=NodeInfo(path="root/child", output_for=["x"], message_as_output=True),
        long_running_tool_ids={"b", "a"},
        isolation_scope="scope",
        model_version="gemini-x",
        grounding_metadata=types.GroundingMetadata(
            web_search_queries=["q"],
            grounding_chunks=[
                types.GroundingChunk(web=types.GroundingChunkWeb(uri="https://e.x", title="t"))
            ],
        ),
        turn_complete=True,
        finish_reason=types.FinishReason.STOP,
        error_code="E",
        error_message="x" * 5000,
        interrupted=False,
        custom_metadata={"__adk_internal_mark_restored": True, "k": [1, "2"]},
        usage_metadata=types.GenerateContentResponseUsageMetadata(
            prompt_token_count=10, candidates_token_count=5, total_token_count=15
        ),
        live_session_id="live-1",
        input_transcription=types.Transcription(text="in", finished=True),
        output_transcription=types.Transcription(text="out", finished=False),
        avg_logprobs=-0.123456789012345,
        citation_metadata=types.CitationMetadata(
            citations=[types.Citation(start_index=1, end_index=5, uri="https://c.x")]
        ),
        interaction_id="int-1",
        environment_id="env-1",
    )


def dump(model: Any) -> Any:
    return model.model_dump(mode="json", exclude_none=True)


# ADK's own AuthConfig calls one of its deprecated methods while validating.
@pytest.mark.filterwarnings("ignore:This method is deprecated:DeprecationWarning")
async def test_every_adk_event_field_round_trips(
    store: SessionStore, admin: asyncpg.Connection
) -> None:
    adk_event = full_adk_event()
    ours = Event.model_validate_json(adk_event.model_dump_json(exclude_none=True))
    session = await store.create_session(app_name="app", user_id="u")
    await store.append_event(
        app_name="app", user_id="u", session_id=session.id, event=ours, expected_revision=0
    )
    got = await store.get_session(app_name="app", user_id="u", session_id=session.id)
    assert got is not None
    (back,) = got.events
    assert back == ours
    assert back.timestamp == adk_event.timestamp  # bit for bit, not approximately
    assert back.content is not None
    assert back.content.parts is not None
    assert back.content.parts[1].inline_data is not None
    assert back.content.parts[1].inline_data.data == bytes(range(256))
    # Read back as ADK's own Event, it equals the original, field for field. (Compared as
    # JSON: ADK's own auth-scheme model reads an enum back as its string value.)
    as_adk = AdkEvent.model_validate_json(back.model_dump_json(exclude_none=True))
    original, restored = dump(adk_event), dump(as_adk)
    for field in AdkEvent.model_fields:
        assert restored.get(field) == original.get(field), field
    assert as_adk.content == adk_event.content
    assert as_adk.long_running_tool_ids == adk_event.long_running_tool_ids
    # The stored row is readable JSON: bytes in base64, timestamp exact, no pickle.
    row = await admin.fetchrow("SELECT * FROM adk.events")
    assert row is not None
    assert row["timestamp"] == adk_event.timestamp
    assert row["content"]["parts"][0]["text"] == "hello ☃ \u2028 \U0001f600"
    assert row["extra"]["long_running_tool_ids"] == ["a", "b"]


async def test_fields_from_a_newer_adk_survive(store: SessionStore) -> None:
    raw = {
        "id": "future",
        "author": "agent",
        "timestamp": 1.0,
        "brand_new_field": {"x": [1, 2]},
        "actions": {"state_delta": {}, "new_action": "go"},
    }
    ours = Event.model_validate(raw)
    session = await store.create_session(app_name="app", user_id="u")
    await store.append_event(
        app_name="app", user_id="u", session_id=session.id, event=ours, expected_revision=0
    )
    got = await store.get_session(app_name="app", user_id="u", session_id=session.id)
    assert got is not None
    back = dump(got.events[0])
    assert back["brand_new_field"] == {"x": [1, 2]}
    assert back["actions"]["new_action"] == "go"


async def test_timestamps_are_exact_whatever_extra_float_digits(db: str) -> None:
    # A role or database set to extra_float_digits = 0 prints floats with 15 digits; the
    # stored epochs must still come back bit for bit, through every read path.
    pool = await create_pool(db, server_settings={"extra_float_digits": "0"})
    try:
        store = SessionStore(pool)
        session = await store.create_session(app_name="app", user_id="u")
        # The last one sets the session's update time: 16 significant digits.
        stamps = [1795615784.2104511, time.time(), 0.1 + 0.2, 1795615784.123457]
        revision = 0
        for i, ts in enumerate(stamps):
            event = Event(id=f"e{i}", author="user", timestamp=ts)
            result = await store.append_event(
                app_name="app",
                user_id="u",
                session_id=session.id,
                event=event,
                expected_revision=revision,
            )
            assert result is not None
            revision = result.revision
        got = await store.get_session(app_name="app", user_id="u", session_id=session.id)
        assert got is not None
        assert sorted(e.timestamp for e in got.events) == sorted(stamps)
        page = await store.list_events(
            app_name="app", user_id="u", session_id=session.id, page_size=10
        )
        assert sorted(e.timestamp for e in page.events) == sorted(stamps)
        # Page by page: each page starts after the exact timestamp of the last one.
        walked: list[float] = []
        token = None
        while True:
            page = await store.list_events(
                app_name="app", user_id="u", session_id=session.id, page_size=1, page_token=token
            )
            walked += [e.timestamp for e in page.events]
            token = page.next_page_token
            if token is None:
                break
        assert walked == sorted(stamps)
        # From the float just above 0.1 + 0.2 on: that event is not one of them.
        later = await store.get_session(
            app_name="app",
            user_id="u",
            session_id=session.id,
            after_timestamp=math.nextafter(0.1 + 0.2, 1.0),
        )
        assert later is not None
        assert sorted(e.timestamp for e in later.events) == sorted(stamps)[1:]
        assert got.last_update_time == 1795615784.123457
        for listed in (
            await store.list_sessions(app_name="app"),
            await store.list_sessions(app_name="app", user_id="u"),
        ):
            assert [s.last_update_time for s in listed.sessions] == [got.last_update_time]
    finally:
        await pool.close()
