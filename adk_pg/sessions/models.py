"""The pydantic models the store returns, and the records its rows layer reads.

``Event`` mirrors every field of ADK 2.13's ``Event`` (``content`` is a google-genai
``Content``); fields it does not know are kept (``extra="allow"``) so that an event written
by a newer ADK survives a round trip. Nothing here talks to the database.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any, Literal

import asyncpg
from google.genai import types
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_serializer
from pydantic.alias_generators import to_camel

__all__ = [
    "APP_PREFIX",
    "EVENT_LIST",
    "TEMP_PREFIX",
    "USER_PREFIX",
    "AppendResult",
    "Change",
    "Event",
    "EventActions",
    "EventPage",
    "EventPageRecord",
    "Session",
    "SessionPage",
    "SessionPageRecord",
    "SessionRecord",
    "merge_state",
    "session_record",
]

APP_PREFIX = "app:"
USER_PREFIX = "user:"
TEMP_PREFIX = "temp:"

_CONFIG = ConfigDict(
    alias_generator=to_camel,
    populate_by_name=True,
    ser_json_bytes="base64",
    val_json_bytes="base64",
    extra="allow",
)


class EventActions(BaseModel):
    """What an event does besides its message: state and artifact deltas, transfers, ...

    The fields ADK's ``EventActions`` types with ADK classes (auth configs, tool
    confirmations, compaction, UI widgets) are kept as plain JSON here.
    """

    model_config = _CONFIG

    skip_summarization: bool | None = None
    state_delta: dict[str, Any] = Field(default_factory=dict)
    artifact_delta: dict[str, int] = Field(default_factory=dict)
    transfer_to_agent: str | None = None
    transfer_reason: str | None = None
    escalate: bool | None = None
    requested_auth_configs: dict[str, Any] = Field(default_factory=dict)
    requested_tool_confirmations: dict[str, Any] = Field(default_factory=dict)
    compaction: dict[str, Any] | None = None
    end_of_agent: bool | None = None
    agent_state: dict[str, Any] | None = None
    rewind_before_invocation_id: str | None = None
    route: bool | int | str | list[bool | int | str] | None = None
    render_ui_widgets: list[Any] | None = None
    set_model_response: Any | None = None


class Event(BaseModel):
    """One entry of a session's history: every field of ADK 2.13's ``Event``."""

    model_config = _CONFIG

    id: str = ""
    invocation_id: str = ""
    author: str = ""
    branch: str | None = None
    timestamp: float = Field(default_factory=time.time)  # as ADK: now, in epoch seconds
    content: types.Content | None = None
    actions: EventActions = Field(default_factory=EventActions)
    long_running_tool_ids: set[str] | None = None
    isolation_scope: str | None = None
    node_info: dict[str, Any] | None = None
    output: Any | None = None
    # Inherited by ADK's Event from LlmResponse.
    model_version: str | None = None
    grounding_metadata: types.GroundingMetadata | None = None
    partial: bool | None = None
    turn_complete: bool | None = None
    turn_complete_reason: types.TurnCompleteReason | None = None
    interaction_status: Any | None = None
    finish_reason: types.FinishReason | None = None
    error_code: str | None = None
    error_message: str | None = None
    interrupted: bool | None = None
    custom_metadata: dict[str, Any] | None = None
    usage_metadata: types.GenerateContentResponseUsageMetadata | None = None
    live_session_resumption_update: types.LiveServerSessionResumptionUpdate | None = None
    live_session_id: str | None = None
    go_away: types.LiveServerGoAway | None = None
    voice_activity: types.VoiceActivity | None = None
    input_transcription: types.Transcription | None = None
    output_transcription: types.Transcription | None = None
    avg_logprobs: float | None = None
    logprobs_result: types.LogprobsResult | None = None
    cache_metadata: Any | None = None
    citation_metadata: types.CitationMetadata | None = None
    interaction_id: str | None = None
    environment_id: str | None = None

    def model_post_init(self, context: Any, /) -> None:
        """Give an event without an id a fresh one, as ADK does."""
        if not self.id:
            self.id = str(uuid.uuid4())

    @field_serializer("long_running_tool_ids")
    def _sorted_ids(self, value: set[str] | None) -> list[str] | None:
        # A set has no order; ADK stores it sorted, and so do we, for stable JSON.
        return None if value is None else sorted(value)


class Session(BaseModel):
    """A session: its merged state (``app:`` / ``user:`` keys prefixed) and its events."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    app_name: str
    user_id: str
    id: str
    state: dict[str, Any] = Field(default_factory=dict)
    events: list[Event] = Field(default_factory=list)
    last_update_time: float = 0.0
    revision: int = 0


class Change(BaseModel):
    """One change a watcher saw (``SessionStore.watch``): ids and a revision, no content.

    ``kind`` is ``created`` (a session was created, forked or imported), ``event`` (an event
    was appended: ``event_id``; a state update is an event too) or ``deleted``. ``revision``
    is the session's revision after the change: per session, the changes of kind ``event``
    come in revision order, each once, and a session's last seen revision is the ``after=``
    to resume from.
    """

    model_config = ConfigDict(frozen=True)

    kind: Literal["created", "event", "deleted"]
    app_name: str
    user_id: str
    session_id: str
    revision: int
    event_id: str | None = None


class SessionPage(BaseModel):
    """One page of ``list_sessions``: sessions without events, and the token of the next page."""

    sessions: list[Session] = Field(default_factory=list)
    next_page_token: str | None = None


class EventPage(BaseModel):
    """One page of ``list_events``: events in the order asked, and the token of the next page."""

    events: list[Event] = Field(default_factory=list)
    next_page_token: str | None = None


@dataclass(frozen=True)
class AppendResult:
    """The outcome of ``append_event``: the session's revision and last update time.

    ``written`` is False when the event id was already stored (a retry): nothing was
    written, and ``revision`` / ``last_update_time`` are the stored ones.
    """

    revision: int
    last_update_time: float
    written: bool = True


@dataclass(frozen=True)
class SessionRecord:
    """A session as read from the database, before its events are turned into models.

    ``events_json`` is the JSON array of the selected events (snake_case fields), so that a
    caller with its own Event class (the ADK adapter) validates each event exactly once.
    """

    app_name: str
    user_id: str
    id: str
    state: dict[str, Any]
    last_update_time: float
    revision: int
    events_json: str = "[]"


@dataclass(frozen=True)
class SessionPageRecord:
    """One page of sessions as read from the database, before they are turned into models.

    ``sessions_json`` is a JSON array of sessions without events (``id``, ``app_name``,
    ``user_id``, merged ``state``, ``last_update_time``), ``revisions`` their revisions in the
    same order, so that a caller with its own Session class validates the page in one pass.
    """

    sessions_json: str
    revisions: list[int]
    next_page_token: str | None = None


@dataclass(frozen=True)
class EventPageRecord:
    """One page of events as read: a JSON array, oldest first, whether it was read newest
    first (the caller reverses it then), and the token of the next page (None: the last)."""

    events_json: str
    newest_first: bool
    next_page_token: str | None


def merge_state(
    session_state: dict[str, Any], app_state: dict[str, Any], user_state: dict[str, Any]
) -> dict[str, Any]:
    """Merge the three scopes as ADK does: session keys, then ``app:`` keys, then ``user:``."""
    merged = dict(session_state)
    for key, value in app_state.items():
        merged[APP_PREFIX + key] = value
    for key, value in user_state.items():
        merged[USER_PREFIX + key] = value
    return merged


def session_record(
    app_name: str,
    user_id: str,
    session_id: str,
    row: asyncpg.Record,
    events_json: str = "[]",
) -> SessionRecord:
    """A row of state, app_state, user_state, update_time and revision as a record."""
    return SessionRecord(
        app_name=app_name,
        user_id=user_id,
        id=session_id,
        state=merge_state(row["state"], row["app_state"], row["user_state"]),
        last_update_time=row["update_time"],
        revision=row["revision"],
        events_json=events_json,
    )


EVENT_LIST: TypeAdapter[list[Event]] = TypeAdapter(list[Event])
