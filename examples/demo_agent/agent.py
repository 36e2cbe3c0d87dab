"""demo_agent: an LlmAgent that remembers notes in session, user and app state.

State it writes (so every scope of the session store is exercised):
- ``notes`` (session): the list of notes saved in this session;
- ``user:name`` / ``user:visits`` (user): the name from "my name is X", and how many messages
  this user has sent the agent, across all of their sessions;
- ``app:notes_saved`` (app): notes saved by everyone.

The model is the offline ``LocalDemoModel`` unless Gemini credentials are configured
(``GOOGLE_API_KEY``, ``GOOGLE_GENAI_USE_VERTEXAI`` or ``GOOGLE_CLOUD_PROJECT``); set
``ADK_PG_DEMO_MODEL`` to force one (``local``, or a model name such as ``gemini-2.5-flash``).
"""

from __future__ import annotations

import os
import re
from typing import Any

from google.adk.agents import LlmAgent
from google.adk.models import BaseLlm
from google.adk.tools.tool_context import ToolContext
from local_model import LocalDemoModel  # examples/ is on sys.path (adk web, demo.py, tests)

__all__ = ["build_agent", "choose_model", "recall", "remember", "root_agent"]

GEMINI_MODEL = "gemini-2.5-flash"
_NAME = re.compile(r"\bmy name is\s+([A-Za-z][\w'-]*)", re.IGNORECASE)

INSTRUCTION = """You are a memory assistant.
When the user tells you something, call `remember` with their exact words as `note`.
When the user asks what you remember (or who they are), call `recall`.
After the tool answers, reply in one or two sentences using only what the tool returned."""


def _count_visit(tool_context: ToolContext) -> int:
    visits = int(tool_context.state.get("user:visits", 0)) + 1
    tool_context.state["user:visits"] = visits
    return visits


def remember(note: str, tool_context: ToolContext) -> dict[str, Any]:
    """Save a note the user wants remembered; a "my name is X" note also records their name.

    Args:
        note: the user's words, verbatim.
    """
    # Assign a new list: mutating the stored one in place would bypass the state delta,
    # and the change would never reach the session store.
    notes = [*tool_context.state.get("notes", []), note]
    tool_context.state["notes"] = notes
    tool_context.state["app:notes_saved"] = int(tool_context.state.get("app:notes_saved", 0)) + 1
    match = _NAME.search(note)
    if match:
        tool_context.state["user:name"] = match.group(1)
    return {
        "saved": note,
        "notes": notes,
        "user_name": tool_context.state.get("user:name"),
        "learned_name": match is not None,
        "visits": _count_visit(tool_context),
    }


def recall(tool_context: ToolContext) -> dict[str, Any]:
    """Return everything remembered: this session's notes, the user's name and visit count."""
    return {
        "notes": list(tool_context.state.get("notes", [])),
        "user_name": tool_context.state.get("user:name"),
        "visits": _count_visit(tool_context),
    }


def choose_model() -> BaseLlm | str:
    """Gemini when credentials are configured, else the offline LocalDemoModel."""
    forced = os.environ.get("ADK_PG_DEMO_MODEL", "").strip()
    if forced:
        return LocalDemoModel() if forced.lower() in {"local", LocalDemoModel().model} else forced
    vertex = os.environ.get("GOOGLE_GENAI_USE_VERTEXAI", "").strip().lower()
    if (
        os.environ.get("GOOGLE_API_KEY")
        or vertex in {"1", "true", "yes"}
        or os.environ.get("GOOGLE_CLOUD_PROJECT")
    ):
        return GEMINI_MODEL
    return LocalDemoModel()


def build_agent(model: BaseLlm | str) -> LlmAgent:
    """The demo agent with the given model (tests pass ``LocalDemoModel()`` explicitly)."""
    return LlmAgent(
        name="demo_agent",
        model=model,
        description="Remembers what you tell it, across restarts, in PostgreSQL.",
        instruction=INSTRUCTION,
        tools=[remember, recall],
    )


root_agent = build_agent(choose_model())
