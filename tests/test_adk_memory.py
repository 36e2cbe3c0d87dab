"""PostgresMemoryService as ADK uses it, differentially against ADK's own memory services.

ADK 2.13 ships two local memory services, ``InMemoryMemoryService`` and
``SqliteMemoryService``. Where they agree, adk-pg does the same; the deliberate differences
are named in the tests that show them:

* adk-pg stems words (``english``): "swimming" finds "swim". With ``search_config="simple"``
  it matches whole words as ADK's services do.
* A query's ``"phrase"`` must be present and ``-word`` must not (ADK's services read both as
  plain words).
* Thought parts are not searched (as SQLite; the in-memory service searches them).
* A Latin word with accents matches as a word, never inside a longer one (the in-memory
  service matches any non-ASCII query word as a substring: "über" finds "überall"); and
  accents count ("cafe" does not find "café": SQLite folds them).
* Memory ids are event ids (as the in-memory service; SQLite numbers rows and names the event
  in ``custom_metadata``, which adk-pg also does).
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncGenerator, AsyncIterator
from pathlib import Path
from typing import Any

import _memory_relevance
import asyncpg
import pytest
from _adk_helpers import EXAMPLES_DIR
from google.adk.agents import LlmAgent
from google.adk.events.event import Event
from google.adk.memory import InMemoryMemoryService
from google.adk.memory._sqlite_memory_service import SqliteMemoryService
from google.adk.memory._utils import format_timestamp
from google.adk.memory.base_memory_service import BaseMemoryService
from google.adk.memory.memory_entry import MemoryEntry
from google.adk.models import BaseLlm
from google.adk.models.llm_request import LlmRequest
from google.adk.models.llm_response import LlmResponse
from google.adk.runners import Runner
from google.adk.sessions.session import Session
from google.adk.tools.preload_memory_tool import PreloadMemoryTool
from google.genai import types

from adk_pg import InvalidArgumentError
from adk_pg.adk import PostgresMemoryService, PostgresSessionService
from adk_pg.db.dsn import with_database
from adk_pg.memory.text import search_words

APP, USER = "app", "ada"


def event(event_id: str, text: str | None, at: float, **content: Any) -> Event:
    parts = [types.Part(text=text)] if text is not None else []
    parts += content.pop("parts", [])
    return Event(
        id=event_id,
        invocation_id=f"inv-{event_id}",
        author="user",
        timestamp=at,
        content=types.Content(role="user", parts=parts),
    )


def session(session_id: str, events: list[Event], user: str = USER) -> Session:
    return Session(id=session_id, app_name=APP, user_id=user, events=events)


@pytest.fixture
async def memory(pool: asyncpg.Pool, admin: asyncpg.Connection) -> PostgresMemoryService:
    return PostgresMemoryService(pool=pool)


@pytest.fixture
async def simple(pool: asyncpg.Pool, admin: asyncpg.Connection) -> PostgresMemoryService:
    return PostgresMemoryService(pool=pool, search_config="simple", max_results=50)


@pytest.fixture
async def sqlite(tmp_path: Path) -> AsyncIterator[SqliteMemoryService]:
    service = SqliteMemoryService(tmp_path / "memory.db")
    yield service
    await service.close()


async def found(service: BaseMemoryService, query: str, user: str = USER) -> list[MemoryEntry]:
    return (await service.search_memory(app_name=APP, user_id=user, query=query)).memories


def event_ids(memories: list[MemoryEntry]) -> list[str]:
    return [str(m.custom_metadata.get("event_id", m.id)) for m in memories]


CORPUS = [
    session(
        "s1",
        [
            event("e1", "I like green tea in the morning", 1.0),
            event("e2", "Green tea and black coffee, every morning", 2.0),
            event("e3", "Coffee keeps me running; I run 5k", 3.0),
            event("e4", "We flew to New York last spring", 4.0),
            event("e5", None, 5.0, parts=[types.Part(function_call=types.FunctionCall(name="f"))]),
        ],
    ),
    session(
        "s2",
        [
            event("e6", "The city of York has old walls", 6.0),
            event("e7", "私はPythonを使う", 7.0),
            event("e8", "我喜欢喝绿茶", 8.0),
            event("e9", "Кошки любят молоко", 9.0),
            event("e10", "Python 3.12 and Go 1.22, both fine", 10.0),
            event("e11", "ÜBER den Wolken, the sky is blue", 11.0),
        ],
    ),
    session("s3", [event("e12", "Green tea again", 12.0)], user="bob"),
]

# Queries on which ADK's two services and adk-pg agree, with "simple" (no stemming).
AGREED_QUERIES = [
    "tea",
    "TEA",
    "green morning tea",
    "coffee tea york",
    "york",
    "python",
    "Python!",
    "go 1.22",
    "МОЛОКО",
    "über",
    "blue sky",
    "walls? city",
    "nothing-matches-this",
    "5k",
]


async def fill(*services: BaseMemoryService) -> None:
    for service in services:
        for s in CORPUS:
            await service.add_session_to_memory(s)


async def test_results_agree_with_adks_memory_services(
    simple: PostgresMemoryService, sqlite: SqliteMemoryService
) -> None:
    in_memory = InMemoryMemoryService()
    await fill(simple, sqlite, in_memory)
    for query in AGREED_QUERIES:
        ours = await found(simple, query)
        theirs = await found(in_memory, query)
        lite = await found(sqlite, query)
        same = sorted(event_ids(ours))
        assert same == sorted(event_ids(theirs)) == sorted(event_ids(lite)), query
        # Those holding more of the words first, as the in-memory service ranks.
        assert matched(query, ours) == matched(query, theirs), query
        for ours_entry in ours:
            twin = next(m for m in theirs if m.id == ours_entry.id)
            assert ours_entry.content == twin.content
            assert ours_entry.author == twin.author
            assert ours_entry.timestamp == twin.timestamp
        for lite_entry in lite:
            twin = next(m for m in ours if m.id == lite_entry.custom_metadata["event_id"])
            # SQLite's metadata names where the memory came from; adk-pg's says the same.
            assert twin.custom_metadata == lite_entry.custom_metadata
            assert (twin.content, twin.author, twin.timestamp) == (
                lite_entry.content,
                lite_entry.author,
                lite_entry.timestamp,
            )


def matched(query: str, memories: list[MemoryEntry]) -> list[int]:
    """How many of the query's words each memory holds, in the order given."""
    words = set(search_words(query))
    texts = [" ".join(p.text or "" for p in m.content.parts or []) for m in memories]
    return [len(words & set(search_words(text))) for text in texts]


async def test_stemming_finds_more_than_adks_services_and_never_less(
    memory: PostgresMemoryService, sqlite: SqliteMemoryService
) -> None:
    in_memory = InMemoryMemoryService()
    await fill(memory, sqlite, in_memory)
    assert event_ids(await found(memory, "runs")) == ["e3"]  # "running" and "run"
    assert event_ids(await found(in_memory, "runs")) == []
    assert event_ids(await found(sqlite, "runs")) == []
    for query in AGREED_QUERIES:
        ours = set(event_ids(await found(memory, query)))
        assert set(event_ids(await found(in_memory, query))) <= ours, query
        assert set(event_ids(await found(sqlite, query))) <= ours, query


async def test_deliberate_differences(
    memory: PostgresMemoryService, sqlite: SqliteMemoryService
) -> None:
    in_memory = InMemoryMemoryService()
    extra = session(
        "s9",
        [
            event("x1", "Überall ist es schön", 20.0),
            event("x2", "Ein Café am Markt", 21.0),
            event("x3", "visible", 22.0, parts=[types.Part(text="hidden plan", thought=True)]),
        ],
    )
    for service in (memory, sqlite, in_memory):
        for s in [*CORPUS, extra]:
            await service.add_session_to_memory(s)
    # Phrases and exclusions: ADK's services take them as plain words.
    assert event_ids(await found(memory, '"new york"')) == ["e4"]
    assert set(event_ids(await found(in_memory, '"new york"'))) == {"e4", "e6"}
    assert event_ids(await found(memory, "york -walls")) == ["e4"]
    assert "e6" in event_ids(await found(sqlite, "york -walls"))
    # Thoughts are not searched; the in-memory service searches them, SQLite does not.
    assert event_ids(await found(memory, "plan")) == []
    assert event_ids(await found(sqlite, "plan")) == []
    assert event_ids(await found(in_memory, "plan")) == ["x3"]
    # A Latin word is a word: "über" is not found inside "überall" (the in-memory service
    # matches non-ASCII words inside others); accents count (SQLite folds them).
    assert event_ids(await found(memory, "über")) == ["e11"]
    assert set(event_ids(await found(in_memory, "über"))) == {"e11", "x1"}
    assert event_ids(await found(memory, "cafe")) == []
    assert event_ids(await found(sqlite, "cafe")) == ["x2"]
    assert event_ids(await found(memory, "café")) == ["x2"]


async def test_a_memory_as_adk_returns_it(memory: PostgresMemoryService) -> None:
    at = 1_700_000_000.25
    await memory.add_session_to_memory(session("s1", [event("e1", "the answer is 42", at)]))
    (entry,) = await found(memory, "answer")
    assert entry.id == "e1"
    assert entry.author == "user"
    assert entry.timestamp == format_timestamp(at)
    assert entry.content.parts is not None
    assert entry.content.parts[0].text == "the answer is 42"
    assert entry.custom_metadata == {"session_id": "s1", "event_id": "e1"}
    assert await found(memory, "") == []
    assert await found(memory, "   ") == []
    assert await found(memory, "answer", user="bob") == []


async def test_adding_a_session_again_or_grown_never_duplicates(
    memory: PostgresMemoryService, admin: asyncpg.Connection
) -> None:
    first = session("s1", [event("e1", "alpha one", 1.0), event("e2", "alpha two", 2.0)])
    await memory.add_session_to_memory(first)
    await memory.add_session_to_memory(first)
    grown = session("s1", [*first.events, event("e3", "alpha three", 3.0)])
    await memory.add_session_to_memory(grown)
    assert sorted(event_ids(await found(memory, "alpha"))) == ["e1", "e2", "e3"]
    assert await admin.fetchval("SELECT count(*) FROM adk.memories") == 3
    # Events without text are not indexed: not stored at all.
    call = types.Part(function_call=types.FunctionCall(name="f", args={}))
    await memory.add_session_to_memory(session("s2", [event("e4", None, 4.0, parts=[call])]))
    assert await admin.fetchval("SELECT count(*) FROM adk.memories") == 3


async def test_add_events_and_add_memory_and_deletes(memory: PostgresMemoryService) -> None:
    await memory.add_events_to_memory(
        app_name=APP,
        user_id=USER,
        events=[event("e1", "blue whale", 1.0)],
        custom_metadata={"source": "chat"},
    )
    (entry,) = await found(memory, "whale")
    # As ADK's services scope events added without a session.
    assert entry.custom_metadata == {
        "source": "chat",
        "session_id": "__unknown_session_id__",
        "event_id": "e1",
    }
    await memory.add_memory(
        app_name=APP,
        user_id=USER,
        memories=[
            MemoryEntry(
                id="fact-1",
                content=types.Content(parts=[types.Part(text="prefers the blue theme")]),
                author="notes",
                timestamp="2026-01-01",
                custom_metadata={"ttl": 30},
            ),
            MemoryEntry(content=types.Content(parts=[types.Part(text="blue is calm")])),
        ],
        custom_metadata={"source": "import", "ttl": 7},
    )
    blue = await found(memory, "blue")
    assert len(blue) == 3
    fact = next(m for m in blue if m.id == "fact-1")
    assert (fact.author, fact.timestamp) == ("notes", "2026-01-01")
    assert fact.custom_metadata == {"source": "import", "ttl": 30}  # the entry's own wins
    unnamed = next(m for m in blue if m.id not in {"fact-1", "e1"})
    assert unnamed.id  # a new id, by which it can be deleted
    # A bare delete_memory() deletes nothing; an id deletes that memory only, for good.
    await memory.delete_memory(app_name=APP, user_id=USER)
    await memory.delete_memory(app_name=APP, user_id=USER, memory_id=None)
    assert len(await found(memory, "blue")) == 3
    await memory.delete_memory(app_name=APP, user_id=USER, memory_id="e1")
    await memory.add_events_to_memory(
        app_name=APP, user_id=USER, events=[event("e1", "blue whale", 1.0)]
    )
    assert sorted(m.id or "" for m in await found(memory, "blue")) == sorted(["fact-1", unnamed.id])
    assert await memory.delete_user_memories(app_name=APP, user_id=USER) == 3
    assert await found(memory, "blue") == []


async def test_bad_input_is_refused_before_anything_is_written(
    memory: PostgresMemoryService, admin: asyncpg.Connection
) -> None:
    good = event("ok", "fine", 1.0)
    bad_calls: list[tuple[Any, str]] = [
        (memory.add_session_to_memory({"id": "s"}), "Session"),  # type: ignore[arg-type]
        (
            memory.add_events_to_memory(app_name=APP, user_id="u" * 129, events=[good]),
            "user_id",
        ),
        (
            memory.add_events_to_memory(app_name=APP, user_id=USER, events=[good, "e"]),  # type: ignore[list-item]
            "Event",
        ),
        (
            memory.add_events_to_memory(
                app_name=APP, user_id=USER, events=[good, event("nul", "a\x00b", 2.0)]
            ),
            "NUL",
        ),
        (
            memory.add_events_to_memory(
                app_name=APP,
                user_id=USER,
                events=[good],
                custom_metadata={1: "x"},  # type: ignore[dict-item]
            ),
            "custom_metadata",
        ),
        (
            memory.add_memory(app_name=APP, user_id=USER, memories=[{"content": "x"}]),  # type: ignore[list-item]
            "MemoryEntry",
        ),
        (memory.search_memory(app_name=APP, user_id=USER, query="\ud800"), "surrogate"),
        (memory.delete_memory(app_name=APP, user_id=USER, memory_id="m" * 129), "memory_id"),
    ]
    for call, message in bad_calls:
        with pytest.raises(InvalidArgumentError, match=message):
            await call
    assert await admin.fetchval("SELECT count(*) FROM adk.memories") == 0
    bad_settings: list[dict[str, Any]] = [{"search_config": "x;y"}, {"max_results": 0}, {"a": 1}]
    for settings in bad_settings:
        with pytest.raises((TypeError, ValueError)):
            PostgresMemoryService("postgresql://localhost/x", **settings)


async def test_relevance_is_not_below_adks_services(
    memory: PostgresMemoryService, sqlite: SqliteMemoryService
) -> None:
    ours = await _memory_relevance.recall_at_5(memory)
    in_memory = await _memory_relevance.recall_at_5(InMemoryMemoryService())
    lite = await _memory_relevance.recall_at_5(sqlite)
    assert ours["all"] >= in_memory["all"], (ours, in_memory)
    assert ours["all"] >= lite["all"], (ours, lite)
    assert ours["all"] >= 0.9, ours


class ScriptedModel(BaseLlm):
    """Answers "noted" and keeps every request it was sent."""

    model: str = "scripted"
    requests: list[LlmRequest]

    async def generate_content_async(
        self, llm_request: LlmRequest, stream: bool = False
    ) -> AsyncGenerator[LlmResponse, None]:
        self.requests.append(llm_request)
        yield LlmResponse(content=types.Content(role="model", parts=[types.Part(text="noted")]))


async def test_a_runner_recalls_an_earlier_session(
    pool: asyncpg.Pool, admin: asyncpg.Connection
) -> None:
    model = ScriptedModel(requests=[])
    agent = LlmAgent(name="helper", model=model, tools=[PreloadMemoryTool()])
    sessions = PostgresSessionService(pool=pool)
    memory = PostgresMemoryService(pool=pool)
    runner = Runner(app_name=APP, agent=agent, session_service=sessions, memory_service=memory)

    async def turn(session_id: str, text: str) -> None:
        message = types.Content(role="user", parts=[types.Part(text=text)])
        async for _ in runner.run_async(user_id=USER, session_id=session_id, new_message=message):
            pass

    first = await sessions.create_session(app_name=APP, user_id=USER)
    await turn(first.id, "My favourite colour is teal.")
    stored = await sessions.get_session(app_name=APP, user_id=USER, session_id=first.id)
    assert stored is not None
    await memory.add_session_to_memory(stored)

    second = await sessions.create_session(app_name=APP, user_id=USER)
    model.requests.clear()
    await turn(second.id, "Which colour do I like?")
    (request,) = model.requests
    sent = " ".join(p.text or "" for c in request.contents for p in c.parts or [])
    assert "<PAST_CONVERSATIONS>" in sent
    assert "user: My favourite colour is teal." in sent


@pytest.mark.parametrize("services_file", ["services.py", "services.yaml"])
async def test_adks_command_line_builds_it_from_an_adkpg_uri(
    db: str, tmp_path: Path, services_file: str
) -> None:
    from google.adk.cli.service_registry import load_services_module
    from google.adk.cli.utils.service_factory import create_memory_service_from_options

    shutil.copy(EXAMPLES_DIR / services_file, tmp_path)
    load_services_module(str(tmp_path))
    uri = with_database(db, db.rpartition("/")[2], scheme="adkpg")
    service = create_memory_service_from_options(base_dir=tmp_path, memory_service_uri=uri)
    assert isinstance(service, PostgresMemoryService)
    try:
        await service.add_session_to_memory(session("s1", [event("e1", "the red kite", 1.0)]))
        assert event_ids(await found(service, "kites")) == ["e1"]
    finally:
        await service.close()
