"""ArtifactStore, the core artifact repository, on a real PostgreSQL: what it stores and returns.

Concurrency, atomicity and statement counts are in test_artifacts_guarantees.py; export,
import and the session clean-up in test_artifacts_transfer.py; ADK's semantics, compared
with ADK's own services, in test_artifacts_adk.py.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from typing import Any

import asyncpg
import pytest
from google.genai import types

from adk_pg import InvalidArgumentError
from adk_pg.artifacts import ArtifactStore
from adk_pg.artifacts.queries import QUERIES
from adk_pg.db.queries import Query

APP, USER, SESSION = "app", "ada", "s1"
ALL_BYTES = bytes(range(256))  # 0x00 .. 0xFF


def png(data: bytes = ALL_BYTES, **blob: str) -> types.Part:
    return types.Part(inline_data=types.Blob(mime_type="image/png", data=data, **blob))


async def save(
    store: ArtifactStore,
    filename: str,
    part: object,
    *,
    session_id: str | None = SESSION,
    custom_metadata: dict[str, Any] | None = None,
) -> int:
    saved = await store.save_artifact(
        app_name=APP,
        user_id=USER,
        filename=filename,
        artifact=part,
        session_id=session_id,
        custom_metadata=custom_metadata,
    )
    return saved.version


async def table_counts(admin: asyncpg.Connection) -> tuple[int, int, int]:
    row = await admin.fetchrow(
        "SELECT (SELECT count(*) FROM adk.artifacts) AS a,"
        " (SELECT count(*) FROM adk.artifact_versions) AS v,"
        " (SELECT count(*) FROM adk.artifact_contents) AS c"
    )
    assert row is not None
    return row["a"], row["v"], row["c"]


@pytest.mark.parametrize(
    "query", [getattr(QUERIES, f.name) for f in dataclasses.fields(QUERIES)], ids=lambda q: q.name
)
async def test_every_artifact_statement_prepares(query: Query, admin: asyncpg.Connection) -> None:
    statement = await admin.prepare(query.sql)
    assert len(statement.get_parameters()) == len(query.params)


async def test_bytes_round_trip_exactly_with_their_metadata(artifact_store: ArtifactStore) -> None:
    data = ALL_BYTES * 4 + b"\x00\xff\x00"
    saved = await artifact_store.save_artifact(
        app_name=APP,
        user_id=USER,
        session_id=SESSION,
        filename="chart.png",
        artifact=png(data, display_name="Chart ☃.png"),
        custom_metadata={"source": "tool", "n": [1, 2.5, None], "nested": {"ok": True}},
    )
    loaded = await artifact_store.load_artifact(
        app_name=APP, user_id=USER, session_id=SESSION, filename="chart.png"
    )
    assert loaded is not None
    assert loaded.part == png(data, display_name="Chart ☃.png")
    assert loaded.part.inline_data is not None
    assert loaded.part.inline_data.data == data
    assert (loaded.version, loaded.kind, loaded.mime_type, loaded.size) == (
        0,
        "bytes",
        "image/png",
        len(data),
    )
    assert loaded.sha256 == hashlib.sha256(data).hexdigest() == saved.sha256
    assert loaded.custom_metadata == {"source": "tool", "n": [1, 2.5, None], "nested": {"ok": True}}
    assert loaded.create_time == saved.create_time
    assert saved.model_dump(exclude={"part"}) == loaded.model_dump(exclude={"part"})


async def test_text_is_stored_as_utf8_bytes_nul_included(artifact_store: ArtifactStore) -> None:
    text = "line one\x00 ☃ \U0001f600\n" * 3
    await save(artifact_store, "notes.txt", types.Part(text=text))
    loaded = await artifact_store.load_artifact(
        app_name=APP, user_id=USER, session_id=SESSION, filename="notes.txt"
    )
    assert loaded is not None
    assert loaded.part == types.Part(text=text)
    assert (loaded.kind, loaded.mime_type, loaded.size) == (
        "text",
        "text/plain",
        len(text.encode()),
    )


async def test_a_part_without_payload_is_kept_whole(artifact_store: ArtifactStore) -> None:
    part = types.Part(
        file_data=types.FileData(file_uri="gs://bucket/report.pdf", mime_type="application/pdf")
    )
    await save(artifact_store, "report.pdf", part)
    loaded = await artifact_store.load_artifact(
        app_name=APP, user_id=USER, session_id=SESSION, filename="report.pdf"
    )
    assert loaded is not None
    assert loaded.part == part
    assert (loaded.kind, loaded.mime_type, loaded.size, loaded.sha256) == (
        "part",
        "application/pdf",
        0,
        None,
    )


async def test_other_part_fields_survive(artifact_store: ArtifactStore) -> None:
    part = types.Part(
        inline_data=types.Blob(mime_type="audio/pcm", data=b"\x01\x02"),
        thought_signature=b"\x00sig\xff",
        video_metadata=types.VideoMetadata(fps=2.5),
    )
    await save(artifact_store, "a.pcm", part)
    await save(artifact_store, "dict.bin", {"inlineData": {"mimeType": "x/y", "data": b"\x00"}})
    loaded = await artifact_store.load_artifact(
        app_name=APP, user_id=USER, session_id=SESSION, filename="a.pcm"
    )
    from_dict = await artifact_store.load_artifact(
        app_name=APP, user_id=USER, session_id=SESSION, filename="dict.bin"
    )
    assert loaded is not None
    assert from_dict is not None
    assert loaded.part == part
    assert from_dict.part == types.Part(inline_data=types.Blob(mime_type="x/y", data=b"\x00"))


async def test_versions_count_from_zero_and_each_can_be_read(artifact_store: ArtifactStore) -> None:
    for i in range(3):
        assert await save(artifact_store, "f.bin", png(bytes([i])), custom_metadata={"i": i}) == i
    kw: dict[str, Any] = {
        "app_name": APP,
        "user_id": USER,
        "session_id": SESSION,
        "filename": "f.bin",
    }
    assert await artifact_store.list_versions(**kw) == [0, 1, 2]
    infos = await artifact_store.list_artifact_versions(**kw)
    assert [(i.version, i.custom_metadata) for i in infos] == [
        (0, {"i": 0}),
        (1, {"i": 1}),
        (2, {"i": 2}),
    ]
    assert infos[0].create_time <= infos[1].create_time <= infos[2].create_time
    for version in (0, 1, 2):
        loaded = await artifact_store.load_artifact(**kw, version=version)
        assert loaded is not None
        assert loaded.part == png(bytes([version]))
        info = await artifact_store.get_artifact_version(**kw, version=version)
        assert info == infos[version]
    latest = await artifact_store.load_artifact(**kw)
    assert latest is not None
    assert latest.version == 2
    assert await artifact_store.get_artifact_version(**kw) == infos[2]
    for missing in (3, -1, 2**31, 2**70):
        assert await artifact_store.load_artifact(**kw, version=missing) is None
        assert await artifact_store.get_artifact_version(**kw, version=missing) is None
    nothing = {**kw, "filename": "nope"}
    assert await artifact_store.load_artifact(**nothing) is None
    assert await artifact_store.get_artifact_version(**nothing) is None
    assert await artifact_store.list_versions(**nothing) == []
    assert await artifact_store.list_artifact_versions(**nothing) == []


async def test_user_scope_is_shared_by_every_session(artifact_store: ArtifactStore) -> None:
    await save(artifact_store, "user:profile.json", types.Part(text="{}"), session_id="s1")
    await save(artifact_store, "local.txt", types.Part(text="s1 only"), session_id="s1")
    await save(artifact_store, "other.txt", types.Part(text="s2 only"), session_id="s2")
    # session_id=None means user scope (ADK's base class): the same artifact as "user:<name>".
    assert await save(artifact_store, "profile.json", types.Part(text="{1}"), session_id=None) == 1

    async def keys(session_id: str | None) -> list[str]:
        return await artifact_store.list_artifact_keys(
            app_name=APP, user_id=USER, session_id=session_id
        )

    assert await keys("s1") == ["local.txt", "user:profile.json"]
    assert await keys("s2") == ["other.txt", "user:profile.json"]
    assert await keys("s3") == ["user:profile.json"]
    assert await keys(None) == ["user:profile.json"]
    for session_id, name in [
        ("s2", "user:profile.json"),
        (None, "profile.json"),
        (None, "user:profile.json"),
    ]:
        loaded = await artifact_store.load_artifact(
            app_name=APP, user_id=USER, session_id=session_id, filename=name
        )
        assert loaded is not None
        assert (loaded.part.text, loaded.session_id, loaded.filename) == (
            "{1}",
            None,
            "user:profile.json",
        )
    assert (
        await artifact_store.load_artifact(
            app_name=APP, user_id=USER, session_id="s2", filename="local.txt"
        )
        is None
    )
    assert (
        await artifact_store.list_artifact_keys(app_name=APP, user_id="bob", session_id="s1") == []
    )


async def test_keys_sort_as_python_sorts(artifact_store: ArtifactStore) -> None:
    names = ["b", "B", "a", "é", "Z", "user:z", "_x", "a/b", "a.b", "\U0001f600", "10", "9"]
    for name in names:
        await save(artifact_store, name, types.Part(text=name))
    keys = await artifact_store.list_artifact_keys(app_name=APP, user_id=USER, session_id=SESSION)
    assert keys == sorted(names)


async def test_names_are_names_never_paths(artifact_store: ArtifactStore) -> None:
    names = [
        "../../etc/passwd",
        "/abs/path",
        "C:\\win.txt",
        "a/./b/../c",
        "metadata.json",
        "versions/1",
        " padded ",
    ]
    for name in names:
        await save(artifact_store, name, types.Part(text=name))
    for name in names:
        loaded = await artifact_store.load_artifact(
            app_name=APP, user_id=USER, session_id=SESSION, filename=name
        )
        assert loaded is not None
        assert (loaded.filename, loaded.part.text) == (name, name)
    keys = await artifact_store.list_artifact_keys(app_name=APP, user_id=USER, session_id=SESSION)
    assert keys == sorted(names)


async def test_delete_removes_every_version_and_restarts_at_zero(
    artifact_store: ArtifactStore, admin: asyncpg.Connection
) -> None:
    kw = {"app_name": APP, "user_id": USER, "session_id": SESSION}
    for i in range(3):
        await save(artifact_store, "f.bin", png(bytes([i])))
    await save(artifact_store, "keep.bin", png())
    await save(artifact_store, "user:f.bin", png())
    assert await artifact_store.delete_artifact(**kw, filename="f.bin") == 3
    assert await artifact_store.delete_artifact(**kw, filename="f.bin") == 0  # missing: no-op
    assert await artifact_store.list_versions(**kw, filename="f.bin") == []
    assert await artifact_store.list_artifact_keys(**kw) == ["keep.bin", "user:f.bin"]
    assert await table_counts(admin) == (2, 2, 2)
    assert await save(artifact_store, "f.bin", png(b"new")) == 0


async def test_identical_bytes_are_stored_once_per_artifact(
    artifact_store: ArtifactStore, admin: asyncpg.Connection
) -> None:
    data = os.urandom(200_000)
    for _ in range(5):
        await save(artifact_store, "same.bin", png(data))
    await save(artifact_store, "same.bin", types.Part(text="other"))
    await save(artifact_store, "same.bin", png(data))  # a rewind saves an old version again
    # Bytes are not shared between artifacts (deleting one never has to ask about another).
    await save(artifact_store, "copy.bin", png(data))
    assert await table_counts(admin) == (2, 8, 3)
    stored = await admin.fetchval("SELECT sum(size) FROM adk.artifact_contents")
    assert stored == 2 * len(data) + len(b"other")
    for version in range(7):
        loaded = await artifact_store.load_artifact(
            app_name=APP, user_id=USER, session_id=SESSION, filename="same.bin", version=version
        )
        assert loaded is not None
        assert loaded.part == (types.Part(text="other") if version == 5 else png(data))


async def test_a_25_mb_artifact_round_trips(artifact_store: ArtifactStore) -> None:
    data = os.urandom(25 * 1000 * 1000)
    await save(artifact_store, "big.bin", types.Part.from_bytes(data=data, mime_type="video/mp4"))
    loaded = await artifact_store.load_artifact(
        app_name=APP, user_id=USER, session_id=SESSION, filename="big.bin"
    )
    assert loaded is not None
    assert loaded.part.inline_data is not None
    assert loaded.part.inline_data.data == data
    assert loaded.size == len(data)


async def test_an_empty_payload_is_a_version(artifact_store: ArtifactStore) -> None:
    await save(artifact_store, "empty", types.Part.from_bytes(data=b"", mime_type="x/y"))
    await save(artifact_store, "empty.txt", types.Part(text=""))
    for name, part in [
        ("empty", types.Part.from_bytes(data=b"", mime_type="x/y")),
        ("empty.txt", types.Part(text="")),
    ]:
        loaded = await artifact_store.load_artifact(
            app_name=APP, user_id=USER, session_id=SESSION, filename=name
        )
        assert loaded is not None
        assert (loaded.part, loaded.size) == (part, 0)


async def test_the_size_limit_is_checked_before_anything_is_written(
    pool: asyncpg.Pool, admin: asyncpg.Connection
) -> None:
    small = ArtifactStore(pool, max_artifact_bytes=1000)
    assert await save(small, "ok.bin", png(b"x" * 1000)) == 0
    assert await save(small, "ok.txt", types.Part(text="é" * 500)) == 0  # 1,000 UTF-8 bytes
    with pytest.raises(InvalidArgumentError, match=r"1001 bytes; the limit is 1000"):
        await save(small, "big.bin", png(b"x" * 1001))
    with pytest.raises(InvalidArgumentError, match="limit is 1000"):
        await save(small, "ok.txt", types.Part(text="é" * 501))
    assert await table_counts(admin) == (2, 2, 2)
    default = ArtifactStore(pool)
    assert default.max_artifact_bytes == 64 * 1024 * 1024
    for bad in (0, -1, True, 1.5, "10", 2**40):
        with pytest.raises(InvalidArgumentError, match="max_artifact_bytes"):
            ArtifactStore(pool, max_artifact_bytes=bad)  # type: ignore[arg-type]


async def test_the_longest_keys_fit_the_indexes(artifact_store: ArtifactStore) -> None:
    """128 four-byte characters in every id and a 1,024-byte name: under btree's entry limit."""
    wide = "\U0001f600" * 128
    name = "\U0001f600" * 256  # 1,024 UTF-8 bytes
    await artifact_store.save_artifact(
        app_name=wide, user_id=wide, session_id=wide, filename=name, artifact=png()
    )
    loaded = await artifact_store.load_artifact(
        app_name=wide, user_id=wide, session_id=wide, filename=name
    )
    assert loaded is not None
    assert loaded.filename == name
    with pytest.raises(InvalidArgumentError, match="1028 bytes long in UTF-8; the limit is 1024"):
        await artifact_store.save_artifact(
            app_name=wide, user_id=wide, session_id=wide, filename=name + "abcd", artifact=png()
        )
    with pytest.raises(InvalidArgumentError, match="1025 bytes"):  # "user:" counts
        await artifact_store.save_artifact(
            app_name=wide, user_id=wide, session_id=None, filename="x" * 1020, artifact=png()
        )


async def test_list_artifacts_summarises_each_artifact(artifact_store: ArtifactStore) -> None:
    data = os.urandom(1000)
    await save(artifact_store, "a.png", png(data))
    await save(artifact_store, "a.png", png(data))
    await save(artifact_store, "a.png", types.Part(text="hello"))
    await save(artifact_store, "user:u.txt", types.Part(text="u"))
    await artifact_store.save_artifact(
        app_name="other", user_id=USER, session_id=SESSION, filename="o", artifact=png()
    )
    everything = await artifact_store.list_artifacts()
    assert [(s.app_name, s.filename) for s in everything] == [
        ("other", "o"),
        (APP, "user:u.txt"),
        (APP, "a.png"),
    ]
    a = everything[2]
    assert (a.session_id, a.latest_version, a.kind, a.mime_type, a.size) == (
        SESSION,
        2,
        "text",
        "text/plain",
        5,
    )
    assert (a.versions, a.stored_bytes) == (3, 1005)
    assert everything[1].session_id is None
    assert [s.filename for s in await artifact_store.list_artifacts(app_name=APP, limit=1)] == [
        "user:u.txt"
    ]
    assert [
        s.filename for s in await artifact_store.list_artifacts(session_id=SESSION, app_name=APP)
    ] == ["a.png"]
    assert await artifact_store.list_artifacts(user_id="nobody") == []


async def test_the_artifact_overview_view(
    artifact_store: ArtifactStore, admin: asyncpg.Connection
) -> None:
    data = os.urandom(3000)
    await save(artifact_store, "chart.png", png(data))
    await save(artifact_store, "chart.png", png(data), custom_metadata={"v": 2})
    await save(
        artifact_store,
        "user:cv.pdf",
        types.Part.from_bytes(data=b"%PDF", mime_type="application/pdf"),
    )
    rows = await admin.fetch(
        "SELECT app_name, user_id, session_id, scope, filename, latest_version, versions,"
        " mime_type, size, stored_bytes, kind, last_update, created, custom_metadata"
        " FROM adk.artifact_overview ORDER BY filename"
    )
    assert [dict(r) | {"last_update": None, "created": None} for r in rows] == [
        {
            "app_name": APP,
            "user_id": USER,
            "session_id": SESSION,
            "scope": "session",
            "filename": "chart.png",
            "latest_version": 1,
            "versions": 2,
            "mime_type": "image/png",
            "size": 3000,
            "stored_bytes": 3000,
            "kind": "bytes",
            "last_update": None,
            "created": None,
            "custom_metadata": {"v": 2},
        },
        {
            "app_name": APP,
            "user_id": USER,
            "session_id": None,
            "scope": "user",
            "filename": "user:cv.pdf",
            "latest_version": 0,
            "versions": 1,
            "mime_type": "application/pdf",
            "size": 4,
            "stored_bytes": 4,
            "kind": "bytes",
            "last_update": None,
            "created": None,
            "custom_metadata": {},
        },
    ]
    assert rows[0]["created"] < rows[0]["last_update"]
    assert all(type(r["stored_bytes"]) is int for r in rows)


async def test_the_artifact_tables_are_documented(admin: asyncpg.Connection) -> None:
    rows = await admin.fetch(
        "SELECT c.relname, a.attname, obj_description(c.oid, 'pg_class') AS table_comment,"
        " col_description(c.oid, a.attnum) AS column_comment"
        " FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace"
        " JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
        " WHERE n.nspname = 'adk' AND c.relkind = 'r' AND c.relname LIKE 'artifact%'"
    )
    assert {r["relname"] for r in rows} == {"artifacts", "artifact_versions", "artifact_contents"}
    assert [(r["relname"], r["attname"]) for r in rows if not r["column_comment"]] == []
    assert all(r["table_comment"] for r in rows)
    storage = await admin.fetchval(
        "SELECT attstorage FROM pg_attribute"
        " WHERE attrelid = 'adk.artifact_contents'::regclass AND attname = 'data'"
    )
    assert storage == b"e"  # "char" EXTERNAL: out of line, never compressed
