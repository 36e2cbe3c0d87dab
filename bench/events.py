"""The events every implementation receives: built the same way, from the same seed.

Each event is what an LLM turn typically produces: a ~300-character text part, a 2-key state
delta, and on every 10th event one of the two keys is a ``user:`` key (so user-scope state is
written too). Ids are uuid4-shaped like ADK's but drawn from a seeded generator, so every
worker process builds byte-identical events; only the timestamps differ (they start at the
time of building, after the session they go to was created, as in a live Runner).
"""

from __future__ import annotations

import random
import time
import uuid

from google.adk.events.event import Event
from google.adk.events.event_actions import EventActions
from google.genai import types

TEXT_CHARS = 300
_WORDS = (
    "session", "state", "agent", "model", "tool", "call", "result", "user", "reply",
    "context", "memory", "event", "plan", "search", "answer", "query", "table", "index",
    "value", "cache", "stream", "token", "budget", "latency", "order",
)  # fmt: skip


def _text(rnd: random.Random) -> str:
    words: list[str] = []
    length = -1
    while length < TEXT_CHARS:
        word = rnd.choice(_WORDS)
        words.append(word)
        length += len(word) + 1
    return " ".join(words)[:TEXT_CHARS]


def make_events(count: int, *, seed: int = 1, start: float | None = None) -> list[Event]:
    """``count`` events with strictly increasing timestamps (1 ms apart) from ``start``."""
    rnd = random.Random(seed)
    t0 = time.time() if start is None else start
    events: list[Event] = []
    for i in range(count):
        delta: dict[str, object] = {"turn": i, "topic": f"topic-{i % 7}"}
        if i % 10 == 9:
            delta = {"turn": i, "user:last_turn": i}
        author, role = ("user", "user") if i % 2 == 0 else ("assistant", "model")
        events.append(
            Event(
                id=str(uuid.UUID(int=rnd.getrandbits(128), version=4)),
                invocation_id=f"e-{uuid.UUID(int=rnd.getrandbits(128), version=4)}",
                author=author,
                timestamp=t0 + i * 0.001,
                content=types.Content(role=role, parts=[types.Part(text=_text(rnd))]),
                actions=EventActions(state_delta=delta),
            )
        )
    return events


def initial_state(i: int) -> dict[str, object]:
    """The small state each created session starts with."""
    return {"topic": f"topic-{i % 7}", "turn": 0}
