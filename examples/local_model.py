"""LocalDemoModel: a tiny deterministic stand-in for Gemini, so the demo runs without a key.

It is NOT a language model. It reads the conversation ADK sends (``LlmRequest.contents``) and
follows three fixed rules, which is enough to drive an ``LlmAgent`` through a real tool call:

1. The last message is the user's text, and it asks what the agent remembers
   ("what do you remember?", "recall", "who am I?")  ->  call the tool ``recall()``.
2. The last message is any other user text  ->  call the tool ``remember(note=<that text>)``.
3. The last message is a tool's ``function_response``  ->  reply with a sentence built from
   what the tool returned (the state it read), plus how many earlier user messages the
   conversation history holds.

The same conversation always produces the same reply, so tests can assert exact text.
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator, Mapping, Sequence
from typing import Any

from google.adk.models import BaseLlm, LlmCapabilities
from google.adk.models.llm_request import LlmRequest
from google.adk.models.llm_response import LlmResponse
from google.genai import types

__all__ = ["LocalDemoModel"]

_RECALL = re.compile(r"\bwhat do you (?:remember|know)\b|\brecall\b|\bwho am i\b", re.IGNORECASE)


class LocalDemoModel(BaseLlm):
    """A deterministic, offline rule-based model for the adk-pg demo (no network, no API key)."""

    model: str = "local-demo-model"

    @classmethod
    def supported_models(cls) -> list[str]:
        """The registry patterns this class answers to (only its own name)."""
        return [r"local-demo-model"]

    @property
    def capabilities(self) -> LlmCapabilities:
        """Declared outright, so ADK skips its deprecated name-based detection."""
        return LlmCapabilities(output_schema_and_tools=False)

    async def generate_content_async(
        self, llm_request: LlmRequest, stream: bool = False
    ) -> AsyncGenerator[LlmResponse, None]:
        """Yield one model turn: a tool call for a user message, text after a tool result.

        With ``stream=True`` a text reply is also sent first as one ``partial`` chunk, as the
        BaseLlm contract describes; the final, non-partial response is identical either way.
        """
        contents = llm_request.contents
        last = contents[-1] if contents else None
        parts: list[types.Part] = list(last.parts or []) if last is not None else []

        results = [p.function_response for p in parts if p.function_response is not None]
        if results:
            earlier = max(_count_user_messages(contents) - 1, 0)
            text = " ".join(
                _describe_result(r.name or "", r.response or {}, earlier) for r in results
            )
            if stream:
                yield _response(contents, types.Part(text=text), partial=True)
            yield _response(contents, types.Part(text=text))
            return

        user_text = " ".join(p.text for p in parts if p.text).strip()
        if last is None or last.role != "user" or not user_text:
            yield _response(contents, types.Part(text="Tell me something and I will remember it."))
            return

        call = (
            types.FunctionCall(name="recall", args={})
            if _RECALL.search(user_text)
            else types.FunctionCall(name="remember", args={"note": user_text})
        )
        if call.name not in llm_request.tools_dict:
            # An agent without our tools still gets a well-formed (if unhelpful) answer.
            text = f"I have no '{call.name}' tool, so I cannot help with that."
            yield _response(contents, types.Part(text=text))
            return
        yield _response(contents, types.Part(function_call=call))


def _response(
    contents: Sequence[types.Content], part: types.Part, *, partial: bool = False
) -> LlmResponse:
    """Wrap one part as the model's turn, with word counts standing in for token usage.

    Reporting usage keeps ADK's telemetry from warning on every call; counting words keeps it
    deterministic.
    """
    prompt_words = sum(len((p.text or "").split()) for c in contents for p in c.parts or [])
    reply_words = len((part.text or "").split()) or 1
    usage = types.GenerateContentResponseUsageMetadata(
        prompt_token_count=prompt_words,
        candidates_token_count=reply_words,
        total_token_count=prompt_words + reply_words,
    )
    return LlmResponse(
        content=types.Content(role="model", parts=[part]),
        partial=True if partial else None,
        usage_metadata=usage,
    )


def _count_user_messages(contents: Sequence[types.Content]) -> int:
    """User turns with text in the history ADK sent (tool results also have role 'user')."""
    return sum(
        1
        for c in contents
        if c.role == "user" and any(p.text and p.function_response is None for p in c.parts or [])
    )


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _describe_result(tool: str, result: Mapping[str, Any], earlier_messages: int) -> str:
    """Turn a tool's result into the reply; the wording is fixed so tests can match it."""
    name = result.get("user_name")
    visits = int(result.get("visits") or 0)
    notes = [str(n) for n in result.get("notes") or []]
    if tool == "remember":
        if result.get("learned_name"):
            opening = f"Nice to meet you, {name}!"
        else:
            opening = f"Thanks, {name}." if name else "Thanks."
        return (
            f"{opening} I saved your note. This session now holds {_plural(len(notes), 'note')},"
            f" and this is your visit {visits}."
        )
    if tool == "recall":
        opening = f"Welcome back, {name}!" if name else "Hello!"
        if notes:
            listed = "; ".join(f'"{n}"' for n in notes)
            memory = f"I remember {_plural(len(notes), 'note')}: {listed}."
        else:
            memory = "I don't remember anything from this session yet."
        return (
            f"{opening} This is your visit {visits}. {memory} I can see"
            f" {_plural(earlier_messages, 'earlier message')} of yours in this session's history."
        )
    return f"The tool '{tool}' returned {dict(result)!r}."
