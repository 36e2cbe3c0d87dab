"""What the memory store takes and returns: pydantic models, nothing that talks to a database.

``content`` is google-genai's ``Content``, the type of ADK's ``MemoryEntry.content``.
"""

from __future__ import annotations

from typing import Any

from google.genai import types
from pydantic import BaseModel, ConfigDict, Field

from adk_pg.memory.text import format_timestamp

__all__ = ["Memory", "NewMemory"]


class NewMemory(BaseModel):
    """A memory to add: a message and where it came from.

    ``event_time`` is the remembered event's time (epoch seconds); ``time_text`` is a
    timestamp given as text instead (``MemoryEntry.timestamp``), returned as it is.
    """

    model_config = ConfigDict(extra="forbid")

    id: str
    content: types.Content
    author: str | None = None
    event_time: float | None = None
    time_text: str | None = None
    session_id: str | None = None
    event_id: str | None = None
    custom_metadata: dict[str, Any] = Field(default_factory=dict)


class Memory(BaseModel):
    """A stored memory, as search and list return it."""

    id: str
    content: types.Content
    author: str | None = None
    event_time: float | None = None
    time_text: str | None = None
    session_id: str | None = None
    event_id: str | None = None
    custom_metadata: dict[str, Any] = Field(default_factory=dict)

    @property
    def timestamp(self) -> str | None:
        """ISO 8601 text of when it happened, as ADK's memory services give it."""
        if self.time_text is not None:
            return self.time_text
        return None if self.event_time is None else format_timestamp(self.event_time)
