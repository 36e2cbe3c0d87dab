"""What the artifact store promises beyond its results: concurrent saves never collide or skip,
a failed call writes nothing, bad input sends nothing, each call is one statement, and the
reads use their indexes."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import pytest
from _citus import CITUS_DSN
from _plans import plan_nodes
from google.genai import types

from adk_pg import InvalidArgumentError, StorageError
from adk_pg.adk import PostgresArtifactService
from adk_pg.artifacts import ArtifactStore
from adk_pg.artifacts.queries import QUERIES
from adk_pg.db.pool import create_pool

APP, USER, SESSION = "app", "ada", "s1"
KEY: dict[str, Any] = {"app_name": APP, "user_id": USER, "session_id": SESSION}


class Counter:
    """Counts the statements a connection sends (asyncpg's query logger)."""

    def __init__(self) -> None:
        self.queries: list[str] = []

    def __call__(self, record: Any) -> None:
        self.queries.append(record.query)


@pytest.fixture
async def counted(db: str) -> AsyncIterator[tuple[asyncpg.Pool, Counter]]:
    """A one-connection pool whose every statement is counted."""
    counter = Counter()

    async def log_queries(conn: asyncpg.Connection) -> None:
        conn.add_query_logger(counter)

    pool = await create_pool(db, min_size=1, max_size=1, setup=log_queries)
    yield pool, counter
    await pool.close()


def blob(data: bytes) -> types.Part:
    return types.Part.from_bytes(data=data, mime_type="application/octet-stream")


async def test_each_call_is_one_statement(counted: tuple[asyncpg.Pool, Counter]) -> None:
    pool, counter = counted
    store = ArtifactStore(pool)
    service = PostgresArtifactService(pool=pool, migrate=False)

    async def one(call: Awaitable[Any]) -> Any:
        counter.queries.clear()
        result = await call
        assert len(counter.queries) == 1, counter.queries
        return result

    f: dict[str, Any] = {**KEY, "filename": "f.bin"}
    for target in (store, service):
        await one(target.save_artifact(**f, artifact=blob(b"\x00" * 10_000)))
        await one(target.save_artifact(**f, artifact=blob(b"\x00" * 10_000)))  # deduplicated
        await one(target.save_artifact(**f, artifact=blob(b"\xff" * 300_000)))  # 3 slices
        await one(target.load_artifact(**f))
        await one(target.load_artifact(**f, version=0))
        await one(target.list_artifact_keys(**KEY))
        await one(target.list_versions(**f))
        await one(target.list_artifact_versions(**f))
        await one(target.get_artifact_version(**f))
        await one(target.delete_artifact(**f))
    await one(store.list_artifacts(app_name=APP))
    await one(store.delete_session_artifacts(app_name=APP, sessions=[(USER, SESSION)]))


BAD_CALLS: list[tuple[str, dict[str, Any], str]] = [
    ("save", {"app_name": ""}, "app_name must not be empty"),
    ("save", {"user_id": 7}, "user_id must be a string, not int"),
    ("save", {"session_id": "s" * 129}, "session_id is 129 characters long"),
    ("save", {"session_id": "   "}, "session_id must not be empty"),
    ("save", {"filename": ""}, "filename must name a file"),
    ("save", {"filename": " \t"}, "filename must name a file"),
    ("save", {"filename": "user:"}, "filename must name a file"),
    ("save", {"filename": "a\x00b"}, "filename contains a NUL character"),
    ("save", {"filename": "\ud800.png"}, "filename holds a lone surrogate"),
    ("save", {"filename": "x" * 1025}, "filename is 1025 bytes long"),
    ("save", {"filename": None}, "filename must be a string, not NoneType"),
    ("save", {"artifact": b"raw bytes"}, "artifact must be a google.genai Part or a dict"),
    ("save", {"artifact": None}, "artifact must be a google.genai Part or a dict"),
    ("save", {"artifact": types.Part()}, "artifact must have inline_data, text or file_data"),
    ("save", {"artifact": {"inlineData": {"data": 5}}}, r"not a valid Part \(at inlineData"),
    ("save", {"artifact": types.Part(inline_data=types.Blob())}, "must contain data"),
    ("save", {"artifact": types.Part(text="\ud800")}, "text holds a lone surrogate"),
    ("save", {"artifact": types.Part(file_data=types.FileData())}, "must have a file_uri"),
    (
        "save",
        {"artifact": types.Part.model_construct(inline_data="not a blob")},  # type: ignore[arg-type]
        "inline_data must be a google.genai Blob",
    ),
    (
        "save",
        {"artifact": types.Part(text="x", thought_signature=b"\xff"), "filename": "x\x00"},
        "NUL",
    ),
    (
        "save",
        {"artifact": types.Part.from_bytes(data=b"1", mime_type="a\x00b")},
        "artifact \\(without its payload\\) holds a NUL character",
    ),
    ("save", {"custom_metadata": ["not", "a", "dict"]}, "custom_metadata must be a dict"),
    ("save", {"custom_metadata": {"k": object()}}, "cannot be stored as JSON"),
    ("save", {"custom_metadata": {"k": "\x00"}}, "custom_metadata holds a NUL character"),
    ("save", {"custom_metadata": {"k": "x" * (1 << 20)}}, "custom_metadata is 1048584 bytes"),
    ("save", {"custom_metadata": {"k": "\udc80"}}, "cannot be stored as JSON"),
    ("load", {"version": "1"}, "version must be an int or None, not str"),
    ("load", {"version": True}, "version must be an int or None, not bool"),
    ("load", {"version": 1.0}, "version must be an int or None, not float"),
    ("keys", {"session_id": 3}, "session_id must be a string, not int"),
    ("delete", {"filename": ["x"]}, "filename must be a string, not list"),
]


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"k": value}
    return value


BAD_CALLS.append(("save", {"custom_metadata": nested(250)}, "nested too deeply"))
BAD_CALLS.append(("save", {"custom_metadata": nested(300)}, "nested more than 198 levels"))


@pytest.mark.parametrize(("method", "change", "message"), BAD_CALLS)
async def test_bad_input_sends_nothing_and_writes_nothing(
    counted: tuple[asyncpg.Pool, Counter],
    admin: asyncpg.Connection,
    method: str,
    change: dict[str, Any],
    message: str,
) -> None:
    pool, counter = counted
    store = ArtifactStore(pool)
    args: dict[str, Any] = {**KEY, "filename": "f.bin"}
    calls: dict[str, Callable[..., Awaitable[Any]]] = {
        "save": store.save_artifact,
        "load": store.load_artifact,
        "keys": store.list_artifact_keys,
        "delete": store.delete_artifact,
    }
    if method == "save":
        args["artifact"] = types.Part(text="fine")
    if method == "keys":
        del args["filename"]
    args.update(change)
    counter.queries.clear()
    with pytest.raises(InvalidArgumentError, match=message) as caught:
        await calls[method](**args)
    assert isinstance(caught.value, ValueError)
    assert counter.queries == []
    assert await admin.fetchval("SELECT count(*) FROM adk.artifacts") == 0


async def test_sixteen_concurrent_saves_get_versions_0_to_15(db: str) -> None:
    async with await ArtifactStore.connect(db, min_size=16, max_size=16) as store:

        async def one(i: int) -> int:
            saved = await store.save_artifact(
                **KEY, filename="shared.bin", artifact=blob(bytes([i])), custom_metadata={"i": i}
            )
            return saved.version

        versions = await asyncio.gather(*(one(i) for i in range(16)))
        assert sorted(versions) == list(range(16))
        infos = await store.list_artifact_versions(**KEY, filename="shared.bin")
        assert [i.version for i in infos] == list(range(16))
        # None lost: every task's bytes are stored under the version it was given.
        by_task = {info.custom_metadata["i"]: info.version for info in infos}
        assert by_task == dict(enumerate(versions))
        for task, version in by_task.items():
            loaded = await store.load_artifact(**KEY, filename="shared.bin", version=version)
            assert loaded is not None
            assert loaded.part == blob(bytes([task]))


# Another process saving the same file, as a separate ADK server would.
SAVER = """
import asyncio, sys
from google.genai import types
from adk_pg.artifacts import ArtifactStore

async def main(dsn: str, count: int) -> None:
    async with await ArtifactStore.connect(dsn, min_size=count, max_size=count) as store:
        await asyncio.gather(*(
            store.save_artifact(
                app_name="app", user_id="ada", session_id="s1", filename="shared.bin",
                artifact=types.Part(text=f"process {i}"), custom_metadata={"from": "process"},
            )
            for i in range(count)
        ))

asyncio.run(main(sys.argv[1], int(sys.argv[2])))
"""


async def test_two_pools_and_another_process_never_collide(db: str) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", SAVER, db, "8", stderr=asyncio.subprocess.PIPE
    )
    async with (
        await ArtifactStore.connect(db, min_size=8, max_size=8) as first,
        await ArtifactStore.connect(db, min_size=8, max_size=8) as second,
    ):
        saves = [
            store.save_artifact(
                **KEY,
                filename="shared.bin",
                artifact=blob(bytes([i])),
                custom_metadata={"from": name},
            )
            for i in range(8)
            for store, name in ((first, "first"), (second, "second"))
        ]
        mine = await asyncio.gather(*saves)
        _, err = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode == 0, err.decode()
        infos = await first.list_artifact_versions(**KEY, filename="shared.bin")
    assert [i.version for i in infos] == list(range(24))
    sources = [i.custom_metadata["from"] for i in infos]
    assert (sources.count("first"), sources.count("second"), sources.count("process")) == (8, 8, 8)
    assert sorted(s.version for s in mine) == sorted(
        i.version for i in infos if i.custom_metadata["from"] != "process"
    )


async def test_a_failed_save_writes_nothing_and_skips_no_version(
    artifact_store: ArtifactStore, admin: asyncpg.Connection
) -> None:
    await artifact_store.save_artifact(**KEY, filename="f.bin", artifact=blob(b"v0"))
    before = await admin.fetch(
        "SELECT a.next_version, a.update_time, (SELECT count(*) FROM adk.artifact_contents) AS c"
        " FROM adk.artifacts AS a"
    )
    # The last write of the statement fails: everything before it must be undone.
    if CITUS_DSN:
        await admin.execute("SET citus.enable_unsafe_triggers = on")  # a test's trigger
    await admin.execute(
        "CREATE FUNCTION adk.test_refuse_version() RETURNS trigger LANGUAGE plpgsql AS"
        " $$ BEGIN RAISE EXCEPTION 'refused for the test'; END $$"
    )
    await admin.execute(
        "CREATE TRIGGER test_refuse_version BEFORE INSERT ON adk.artifact_versions"
        " FOR EACH ROW EXECUTE FUNCTION adk.test_refuse_version()"
    )
    try:
        with pytest.raises(StorageError, match=r"save_artifact 'f\.bin': database error"):
            await artifact_store.save_artifact(**KEY, filename="f.bin", artifact=blob(b"v1"))
        with pytest.raises(StorageError):
            await artifact_store.save_artifact(**KEY, filename="new.bin", artifact=blob(b"n"))
    finally:
        await admin.execute("DROP TRIGGER test_refuse_version ON adk.artifact_versions")
        await admin.execute("DROP FUNCTION adk.test_refuse_version()")
    after = await admin.fetch(
        "SELECT a.next_version, a.update_time, (SELECT count(*) FROM adk.artifact_contents) AS c"
        " FROM adk.artifacts AS a"
    )
    assert after == before
    saved = await artifact_store.save_artifact(**KEY, filename="f.bin", artifact=blob(b"v1"))
    assert saved.version == 1


async def test_saves_racing_deletes_leave_whole_artifacts(
    db: str, admin: asyncpg.Connection
) -> None:
    """Saves (same bytes and new bytes) and deletes of one file, interleaved at random."""
    async with await ArtifactStore.connect(db, min_size=6, max_size=6) as store:
        f: dict[str, Any] = {**KEY, "filename": "raced.bin"}
        for round_ in range(40):
            calls = [
                store.save_artifact(**f, artifact=blob(b"same")),
                store.delete_artifact(**f),
                store.save_artifact(**f, artifact=blob(b"same")),
                store.save_artifact(**f, artifact=blob(bytes([round_]))),
                store.delete_artifact(**f) if round_ % 3 else store.list_versions(**f),
                store.save_artifact(**f, artifact=blob(b"same")),
            ]
            await asyncio.gather(*calls)
            versions = await store.list_versions(**f)
            assert versions == list(range(len(versions)))
    # Every version has its bytes, every stored byte belongs to a version, every counter agrees.
    problems = await admin.fetchval(
        """
        SELECT (SELECT count(*) FROM adk.artifact_versions AS v
                WHERE v.sha256 IS NOT NULL AND NOT EXISTS (
                    SELECT 1 FROM adk.artifact_contents AS c
                    WHERE (c.app_name, c.user_id, c.session_id, c.filename, c.sha256)
                        = (v.app_name, v.user_id, v.session_id, v.filename, v.sha256)))
             + (SELECT count(*) FROM adk.artifact_contents AS c
                WHERE NOT EXISTS (
                    SELECT 1 FROM adk.artifact_versions AS v
                    WHERE (c.app_name, c.user_id, c.session_id, c.filename, c.sha256)
                        = (v.app_name, v.user_id, v.session_id, v.filename, v.sha256)))
             + (SELECT count(*) FROM adk.artifacts AS a
                WHERE a.next_version <> (
                    SELECT count(*) FROM adk.artifact_versions AS v
                    WHERE (v.app_name, v.user_id, v.session_id, v.filename)
                        = (a.app_name, a.user_id, a.session_id, a.filename)))
        """
    )
    assert problems == 0


@pytest.mark.single_server("plan choices at this size: a shard holds a 32nd of the rows")
async def test_the_reads_use_their_indexes(db: str, admin: asyncpg.Connection) -> None:
    # Enough rows that a sequential scan would be the planner's choice without an index.
    await admin.execute(
        """
        INSERT INTO adk.artifacts (app_name, user_id, session_id, filename, next_version)
        SELECT 'app', 'u' || (i % 50), 's' || (i % 500), 'f' || i, 3
        FROM generate_series(1, 5000) AS i;
        INSERT INTO adk.artifact_contents (app_name, user_id, session_id, filename, sha256,
                                           size, data)
        SELECT a.app_name, a.user_id, a.session_id, a.filename, sha256('x'::bytea), 1, 'x'
        FROM adk.artifacts AS a;
        INSERT INTO adk.artifact_versions (app_name, user_id, session_id, filename, version,
                                           kind, sha256, size)
        SELECT a.app_name, a.user_id, a.session_id, a.filename, v, 'bytes', sha256('x'::bytea), 1
        FROM adk.artifacts AS a, generate_series(0, 2) AS v;
        ANALYZE adk.artifacts, adk.artifact_versions, adk.artifact_contents;
        """
    )
    key = ("app", "u7", "s7", "f7")
    cases = [
        (QUERIES.load_artifact.sql, (*key, None)),
        (QUERIES.load_artifact.sql, (*key, 1)),
        (QUERIES.get_artifact_version.sql, (*key, None)),
        (QUERIES.list_versions.sql, key),
        (QUERIES.list_artifact_versions.sql, key),
        (QUERIES.list_artifact_keys.sql, ("app", "u7", "s7")),
    ]
    for sql, args in cases:
        plan = await admin.fetchval("EXPLAIN (FORMAT JSON) " + sql, *args)
        scans = [n for n in plan_nodes(plan[0]["Plan"]) if "Relation Name" in n]
        assert scans, plan
        for scan in scans:
            assert scan["Node Type"] in {"Index Scan", "Index Only Scan"}, (sql, scan)
            assert scan["Index Name"].endswith("_pkey"), (sql, scan)
