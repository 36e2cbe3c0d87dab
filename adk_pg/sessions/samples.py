"""Stored events of many shapes, for checking a fast decoder against pydantic before use.

Valid JSON for ADK's Event and for adk-pg's: every kind of part, action and metadata field a
session stores (:class:`adk_pg.sessions.decode.ListDecoder` decodes them both ways first).
"""

from __future__ import annotations

import pydantic_core

__all__ = ["SAMPLE_EVENTS_JSON"]

SAMPLE_EVENTS_JSON = pydantic_core.to_json(
    [
        {
            "id": "e1",
            "invocation_id": "i1",
            "author": "user",
            "timestamp": 1700000000.123456,
            "content": {"role": "user", "parts": [{"text": "hello"}]},
            "actions": {"state_delta": {"k": 1, "nested": {"a": [1, None, "x"]}}},
        },
        {
            "id": "e2",
            "invocation_id": "i1",
            "author": "agent",
            "branch": "root.sub",
            "timestamp": 1700000001.5,
            "model_version": "m",
            "content": {
                "role": "model",
                "parts": [
                    {"text": "thinking", "thought": True, "thought_signature": "c2ln"},
                    {"function_call": {"id": "c1", "name": "lookup", "args": {"q": "x"}}},
                    {"inline_data": {"mime_type": "image/png", "data": "iVBORw0K"}},
                    {"file_data": {"mime_type": "text/plain", "file_uri": "gs://b/f"}},
                    {"executable_code": {"language": "PYTHON", "code": "print(1)"}},
                    {"code_execution_result": {"outcome": "OUTCOME_OK", "output": "1"}},
                ],
            },
            "actions": {
                "state_delta": {"app:a": 1, "user:u": "v"},
                "artifact_delta": {"report.txt": 2},
                "skip_summarization": True,
            },
            "long_running_tool_ids": ["c1"],
            "usage_metadata": {"prompt_token_count": 10, "candidates_token_count": 5},
            "finish_reason": "STOP",
            "turn_complete": True,
            "custom_metadata": {"trace": {"id": 7}},
        },
        {
            "id": "e3",
            "invocation_id": "i1",
            "author": "agent",
            "timestamp": 1700000002.0,
            "content": {
                "role": "user",
                "parts": [{"function_response": {"id": "c1", "name": "lookup", "response": {}}}],
            },
            "actions": {"transfer_to_agent": "other", "escalate": False},
            "error_code": "E",
            "error_message": "failed",
        },
        {
            "id": "e4",
            "invocation_id": "i2",
            "author": "agent",
            "timestamp": 1700000003.25,
            "content": {
                "role": "model",
                "parts": [
                    {
                        "file_data": {"mime_type": "video/mp4", "file_uri": "gs://b/v"},
                        "video_metadata": {"start_offset": "1s", "end_offset": "2.5s"},
                    },
                    {"function_call": {"name": "later", "args": {}, "will_continue": True}},
                ],
            },
            "actions": {"state_delta": {}, "end_of_agent": True},
            "grounding_metadata": {
                "grounding_chunks": [{"web": {"uri": "https://example.com", "title": "t"}}],
                "grounding_supports": [
                    {
                        "segment": {"start_index": 0, "end_index": 4, "text": "text"},
                        "grounding_chunk_indices": [0],
                        "confidence_scores": [0.5],
                    }
                ],
                "web_search_queries": ["q"],
            },
            "citation_metadata": {"citations": [{"start_index": 0, "uri": "https://x"}]},
            "input_transcription": {"text": "heard", "finished": True},
            "avg_logprobs": -0.25,
            "interrupted": False,
            "partial": False,
        },
        {"id": "e5", "invocation_id": "", "author": "", "timestamp": 0.5, "actions": {}},
    ]
).decode()
