"""MemoryStore against the real server: search, ranking, idempotent adds, deletion, bad input."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest
from google.genai import types

from adk_pg import InvalidArgumentError
from adk_pg.db.pool import create_pool
from adk_pg.memory.models import NewMemory
from adk_pg.memory.store import MemoryStore
from adk_pg.memory.text import format_timestamp

APP, USER = "app", "ada"


def text(value: str, role: str = "user") -> types.Content:
    return types.Content(role=role, parts=[types.Part(text=value)])


def memory(memory_id: str, value: str, at: float = 1.0, **fields: Any) -> NewMemory:
    return NewMemory(id=memory_id, content=text(value), event_time=at, author="user", **fields)


@pytest.fixture
async def memories(pool: asyncpg.Pool, admin: asyncpg.Connection) -> MemoryStore:
    return MemoryStore(pool)


async def rows(admin: asyncpg.Connection) -> list[dict[str, Any]]:
    return [dict(r) for r in await admin.fetch("SELECT * FROM adk.memories ORDER BY id")]


async def ids(store: MemoryStore, query: str, **kw: Any) -> list[str]:
    found = await store.search(app_name=APP, user_id=USER, query=query, **kw)
    return [m.id for m in found]


async def test_words_match_any_ranked_by_how_many_and_phrases_and_exclusions(
    memories: MemoryStore,
) -> None:
    await memories.add(
        app_name=APP,
        user_id=USER,
        memories=[
            memory("tea", "I like green tea in the morning", 1.0),
            memory("both", "Green tea and black coffee, every morning", 2.0),
            memory("coffee", "Coffee keeps me running", 3.0),
            memory("ny", "We flew to New York last spring", 4.0),
            memory("york", "The city of York has old walls", 5.0),
        ],
    )
    # Any word; more words matched first; ties: the newest first.
    assert await ids(memories, "coffee tea") == ["both", "coffee", "tea"]
    assert (await ids(memories, "green morning tea"))[:2] == ["both", "tea"]
    # Stemming (english): "runs" finds "running"; case does not matter.
    assert await ids(memories, "RUNS") == ["coffee"]
    # A phrase must be there, in order; -word must not.
    assert await ids(memories, '"new york"') == ["ny"]
    assert await ids(memories, '"new york" walls') == ["ny"]  # with a phrase, words only rank
    assert await ids(memories, "york") == ["york", "ny"]
    assert await ids(memories, "york -walls") == ["ny"]
    assert await ids(memories, 'coffee -"black coffee"') == ["coffee"]
    # Nothing to look for: nothing found.
    for empty in ["", "   ", "-tea", "!!!", "OR"]:
        assert await ids(memories, empty) == [], empty


async def test_stop_words_cjk_and_mixed_scripts_are_found(memories: MemoryStore) -> None:
    await memories.add(
        app_name=APP,
        user_id=USER,
        memories=[
            memory("ja", "私はPythonを使う", 1.0),
            memory("zh", "我喜欢喝绿茶", 2.0),
            memory("ru", "Кошки любят молоко", 3.0),
            memory("de", "ÜBER DEN WOLKEN", 4.0),
            memory("the", "The Who played the hits", 5.0),
        ],
    )
    assert await ids(memories, "python") == ["ja"]  # a Latin word inside Japanese
    assert await ids(memories, "使う") == ["ja"]  # a word inside text without spaces
    assert await ids(memories, "绿茶") == ["zh"]
    assert await ids(memories, "МОЛОКО") == ["ru"]  # case, whatever the server's locale
    assert await ids(memories, "über wolken") == ["de"]
    assert await ids(memories, "the who") == ["the"]  # stop words of english too


async def test_simple_configuration_does_not_stem(
    pool: asyncpg.Pool, admin: asyncpg.Connection
) -> None:
    simple = MemoryStore(pool, search_config="simple")
    await simple.add(app_name=APP, user_id=USER, memories=[memory("m", "She was running")])
    assert await ids(simple, "runs") == []
    assert await ids(simple, "running") == ["m"]
    with pytest.raises(InvalidArgumentError, match="does not exist"):
        await MemoryStore(pool, search_config="klingon").search(
            app_name=APP, user_id=USER, query="x"
        )


async def test_adding_again_writes_nothing_and_a_deleted_memory_stays_deleted(
    memories: MemoryStore, admin: asyncpg.Connection
) -> None:
    batch = [memory("a", "alpha beta"), memory("b", "beta gamma")]
    assert await memories.add(app_name=APP, user_id=USER, memories=batch) == 2
    before = await rows(admin)
    assert await memories.add(app_name=APP, user_id=USER, memories=batch) == 0
    assert await rows(admin) == before  # not even update_time moved
    # A changed memory is refreshed; the same id twice in one batch: the last counts.
    changed = [memory("a", "alpha delta"), memory("a", "alpha epsilon")]
    assert await memories.add(app_name=APP, user_id=USER, memories=changed) == 1
    assert await ids(memories, "epsilon") == ["a"]
    assert await ids(memories, "beta") == ["b"]
    assert await memories.delete(app_name=APP, user_id=USER, memory_id="a")
    assert not await memories.delete(app_name=APP, user_id=USER, memory_id="a")
    assert not await memories.delete(app_name=APP, user_id=USER, memory_id="never")
    assert await memories.add(app_name=APP, user_id=USER, memories=changed) == 0
    assert await ids(memories, "alpha") == []
    tombstone = next(r for r in await rows(admin) if r["id"] == "a")
    assert tombstone["content"] is None and tombstone["search_text"] is None  # noqa: PT018
    assert tombstone["deleted_time"] is not None
    # Forgetting a user removes everything of theirs, and nothing of others'.
    await memories.add(app_name=APP, user_id="bob", memories=[memory("c", "alpha")])
    assert await memories.delete_user(app_name=APP, user_id=USER) == 2
    assert [r["id"] for r in await rows(admin)] == ["c"]


async def test_memories_are_scoped_by_app_and_user(memories: MemoryStore) -> None:
    for app, user in [("app", "ada"), ("app", "bob"), ("other", "ada")]:
        await memories.add(app_name=app, user_id=user, memories=[memory(f"{app}-{user}", "tea")])
    assert await ids(memories, "tea") == ["app-ada"]
    found = await memories.search(app_name="other", user_id="ada", query="tea")
    assert [m.id for m in found] == ["other-ada"]


async def test_what_comes_back(memories: MemoryStore) -> None:
    content = types.Content(
        role="model",
        parts=[
            types.Part(text="secret plan", thought=True),
            types.Part(text="The answer is 42"),
            types.Part(inline_data=types.Blob(mime_type="image/png", data=b"\x00\xff")),
        ],
    )
    given = NewMemory(
        id="e1",
        content=content,
        author="agent",
        event_time=1700000000.123456,
        session_id="s1",
        event_id="e1",
        custom_metadata={"k": [1, "v"]},
    )
    await memories.add(app_name=APP, user_id=USER, memories=[given])
    (found,) = await memories.search(app_name=APP, user_id=USER, query="answer")
    assert found.content == content  # whole, bytes included
    assert (found.author, found.session_id, found.event_id) == ("agent", "s1", "e1")
    assert found.event_time == 1700000000.123456
    assert found.timestamp == format_timestamp(1700000000.123456)
    assert found.custom_metadata == {"k": [1, "v"]}
    assert await ids(memories, "plan") == []  # thoughts are not indexed
    explicit = NewMemory(id="x", content=text("remember the milk"), time_text="yesterday")
    await memories.add(app_name=APP, user_id=USER, memories=[explicit])
    (milk,) = await memories.search(app_name=APP, user_id=USER, query="milk")
    assert milk.timestamp == "yesterday"
    assert [m.id for m in await memories.recent(app_name=APP, user_id=USER)] == ["e1", "x"]


async def test_long_text_is_indexed_up_to_the_limit_and_stored_whole(
    pool: asyncpg.Pool, admin: asyncpg.Connection
) -> None:
    store = MemoryStore(pool, max_indexed_bytes=1000)
    long = "start " + "filler " * 500 + "ending"
    await store.add(app_name=APP, user_id=USER, memories=[memory("long", long)])
    assert await ids(store, "start") == ["long"]
    assert await ids(store, "ending") == []  # past the indexed bytes
    (found,) = await store.recent(app_name=APP, user_id=USER)
    assert found.content.parts is not None
    assert found.content.parts[0].text == long
    stored = await admin.fetchval("SELECT octet_length(search_text) FROM adk.memories")
    assert stored <= 1000


async def test_each_call_is_one_statement(db: str, admin: asyncpg.Connection) -> None:
    sent: list[str] = []

    def logger(record: Any) -> None:  # one object: a connection keeps a set of loggers
        sent.append(record.query)

    async def log(conn: asyncpg.Connection) -> None:
        conn.add_query_logger(logger)

    pool = await create_pool(db, min_size=1, max_size=1, setup=log)
    try:
        store = MemoryStore(pool)
        batch = [memory(str(i), f"word{i} common") for i in range(50)]
        calls = [
            store.add(app_name=APP, user_id=USER, memories=batch),
            store.add(app_name=APP, user_id=USER, memories=batch),
            store.search(app_name=APP, user_id=USER, query='common "word7" -word8'),
            store.recent(app_name=APP, user_id=USER),
            store.delete(app_name=APP, user_id=USER, memory_id="3"),
            store.delete_user(app_name=APP, user_id=USER),
        ]
        for call in calls:
            sent.clear()
            await call
            await asyncio.sleep(0)  # loggers are called soon after
            assert len(sent) == 1, sent
    finally:
        await pool.close()


async def test_concurrent_adds_store_every_event_exactly_once(
    db: str, admin: asyncpg.Connection
) -> None:
    pools = [await create_pool(db, min_size=1, max_size=4) for _ in range(2)]
    try:
        stores = [MemoryStore(p) for p in pools]
        sessions = {
            f"s{n}": [memory(f"s{n}-e{i}", f"event {i} of session {n} zebra") for i in range(10)]
            for n in range(20)
        }

        def add(n: int, session: str) -> Any:
            return stores[n % 2].add(app_name=APP, user_id=USER, memories=sessions[session])

        # 20 sessions at once, and the same session twice (and in reverse order) alongside.
        overlapping = [memory(m.id, "zebra") for m in reversed(sessions["s0"])]
        await asyncio.gather(
            *(add(n, s) for n, s in enumerate(sessions)),
            add(1, "s0"),
            stores[0].add(app_name=APP, user_id=USER, memories=overlapping),
        )
        stored = await admin.fetch("SELECT id FROM adk.memories")
        assert sorted(r["id"] for r in stored) == sorted(m.id for s in sessions.values() for m in s)
        found = await stores[0].search(app_name=APP, user_id=USER, query="zebra", max_results=1000)
        assert len(found) == 200
        assert len({m.id for m in found}) == 200
    finally:
        for p in pools:
            await p.close()


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"memories": [memory("x" * 129, "a")]}, "memory id"),
        ({"memories": [memory("nul", "a\x00b")]}, "NUL"),
        ({"memories": [memory("sur", "a\ud800b")]}, "surrogate"),
        ({"memories": [memory("m", "a", custom_metadata={"k": b"\xff"})]}, "not UTF-8"),
        ({"memories": [memory("m", "a", at=float("nan"))]}, "finite"),
        ({"memories": [memory("m", "a", session_id="s\x00")]}, "session_id"),
        ({"memories": ["not a memory"]}, "NewMemory"),
        ({"memories": "text"}, "sequence"),
        ({"app_name": ""}, "app_name"),
        ({"user_id": 5}, "user_id"),
    ],
)
async def test_bad_input_is_refused_before_anything_is_written(
    memories: MemoryStore, admin: asyncpg.Connection, bad: dict[str, Any], message: str
) -> None:
    arguments: dict[str, Any] = {"app_name": APP, "user_id": USER}
    good = memory("good", "fine text")
    # One bad memory among good ones: nothing of the batch is written.
    batch = bad.get("memories", [])
    arguments["memories"] = [good, *batch] if isinstance(batch, list) else batch
    arguments.update({k: v for k, v in bad.items() if k != "memories"})
    with pytest.raises(InvalidArgumentError, match=message):
        await memories.add(**arguments)
    assert await rows(admin) == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"query": 5}, "query"),
        ({"query": "a\x00"}, "NUL"),
        ({"query": "a\ud800"}, "surrogate"),
        ({"max_results": 0}, "max_results"),
        ({"max_results": True}, "max_results"),
        ({"user_id": "u" * 129}, "user_id"),
    ],
)
async def test_bad_searches_are_refused(
    memories: MemoryStore, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        await memories.search(**{"app_name": APP, "user_id": USER, "query": "q", **kwargs})


def test_bad_settings_are_refused(pool: asyncpg.Pool) -> None:
    bad_settings: list[dict[str, Any]] = [
        {"search_config": "english; DROP TABLE x"},
        {"search_config": 5},
        {"max_results": 0},
        {"max_indexed_bytes": -1},
    ]
    for settings in bad_settings:
        with pytest.raises(InvalidArgumentError):
            MemoryStore(pool, **settings)


async def test_more_of_the_words_beats_one_word_repeated(memories: MemoryStore) -> None:
    await memories.add(
        app_name=APP,
        user_id=USER,
        memories=[
            memory("repeat", "tea tea tea tea, always tea", 3.0),
            memory("two", "tea with lemon", 1.0),
            memory("two-close", "lemon tea", 2.0),
        ],
    )
    # Both words first (on a tie, the newer first); then one word, however often.
    assert await ids(memories, "lemon tea") == ["two-close", "two", "repeat"]


async def test_a_huge_memory_in_any_script_is_stored_and_found_by_its_start(
    memories: MemoryStore,
) -> None:
    # ~200 KB of CJK "words" (and a run of 3-character words): far more runs and characters
    # than a search vector holds; the codes are cut, the memory is stored whole.
    chars = [chr(c) for c in range(0x4E00, 0x4E00 + 800)]
    words = ["".join(chars[(i * 7 + j) % 800] for j in range(6 + i % 9)) for i in range(6000)]
    cjk = "开头 " + "\uff0c".join(words)  # fullwidth commas between the words
    spaced = " ".join("".join(chars[(i * 3 + j) % 800] for j in range(3)) for i in range(3000))
    long_word = "z" * 5000
    batch = [memory("cjk", cjk), memory("spaced", spaced), memory("long", f"start {long_word}")]
    assert await memories.add(app_name=APP, user_id=USER, memories=batch) == 3
    assert await ids(memories, "开头") == ["cjk"]
    assert await ids(memories, "start") == ["long"]
    found = await memories.recent(app_name=APP, user_id=USER)
    assert {m.id: m.content.parts[0].text for m in found if m.content.parts} == {
        "cjk": cjk,
        "spaced": spaced,
        "long": f"start {long_word}",
    }


async def test_queries_a_user_would_type_never_fail(memories: MemoryStore) -> None:
    await memories.add(
        app_name=APP,
        user_id=USER,
        memories=[
            memory("pizza", "The best pizza place is Luigi's on Elm Street", 1.0),
            memory("street", "Elm Street is closed on Sundays", 2.0),
            memory("strasse", "Die Straße ist lang", 3.0),
        ],
    )
    # A quote never closed is text; a phrase or exclusion that leaves nothing falls back to
    # the plain words, as ADK's services read every query.
    assert await ids(memories, 'Where was the "best pizza place you recommended?') == ["pizza"]
    assert (await ids(memories, 'she said "let us get pizza tonight" - where?'))[0] == "pizza"
    assert await ids(memories, "elm -street") == ["street", "pizza"]  # newest first
    assert await ids(memories, '"elm street" -sundays') == ["pizza"]  # strict found one
    assert await ids(memories, "STRASSE") == ["strasse"]  # case folded by Unicode rules
    # Words no lexeme holds, operators, a huge query: an answer, never an error.
    for query in [
        "z" * 1024,
        "é" * 600,
        "中" * 20_000,
        " ".join(f"w{i}" for i in range(5000)),
        '& | ! ( ) : * <-> \\ \' "" - -- ---',
        "pizza:* & !elm",
    ]:
        found = await memories.search(app_name=APP, user_id=USER, query=query)
        assert isinstance(found, list), query
    assert await ids(memories, "pizza:* & !elm") == ["pizza", "street"]  # operators: just text


async def test_times_beyond_what_timestamptz_holds_are_refused(memories: MemoryStore) -> None:
    for at in [253402300800.0, 1e300, -1e300]:
        with pytest.raises(InvalidArgumentError, match="years 1-9999"):
            await memories.add(app_name=APP, user_id=USER, memories=[memory("m", "x", at=at)])


async def test_nan_in_metadata_is_stored_as_null_and_a_deleted_id_comes_back_only_if_asked(
    memories: MemoryStore,
) -> None:
    nan = memory("m", "alpha", custom_metadata={"x": float("nan"), "y": [float("inf")]})
    assert await memories.add(app_name=APP, user_id=USER, memories=[nan]) == 1
    (found,) = await memories.recent(app_name=APP, user_id=USER)
    assert found.custom_metadata == {"x": None, "y": [None]}
    assert await memories.delete(app_name=APP, user_id=USER, memory_id="m")
    again = [memory("m", "alpha again")]
    assert await memories.add(app_name=APP, user_id=USER, memories=again) == 0
    assert await memories.add(app_name=APP, user_id=USER, memories=again, revive=True) == 1
    assert await ids(memories, "again") == ["m"]
