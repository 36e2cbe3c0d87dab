"""What export, import and pruning need from the artifact package: versions as JSON-able
records and back (ArtifactTransfer), and the session-scoped clean-up (delete_session_artifacts).
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import asyncpg
import pytest
from google.genai import types

from adk_pg import InvalidArgumentError
from adk_pg.artifacts import ArtifactStore
from adk_pg.artifacts.transfer import ArtifactTransfer

ALL_BYTES = bytes(range(256)) * 50


async def fill(store: ArtifactStore) -> None:
    """Two sessions and user scope of app/ada, plus app/bob and other/ada."""
    s1 = {"app_name": "app", "user_id": "ada", "session_id": "s1"}
    await store.save_artifact(
        **s1, filename="a.bin", artifact=types.Part.from_bytes(data=ALL_BYTES, mime_type="x/y")
    )
    await store.save_artifact(
        **s1, filename="a.bin", artifact=types.Part(text="v1 ☃\x00"), custom_metadata={"k": [1]}
    )
    await store.save_artifact(
        **s1, filename="a.bin", artifact=types.Part.from_bytes(data=ALL_BYTES, mime_type="x/y")
    )
    await store.save_artifact(
        **s1,
        filename="ref",
        artifact=types.Part(file_data=types.FileData(file_uri="gs://b/f", mime_type="x/z")),
    )
    await store.save_artifact(
        app_name="app", user_id="ada", session_id="s2", filename="b.png",
        artifact=types.Part(
            inline_data=types.Blob(mime_type="image/png", data=b"\x89PNG", display_name="B")
        ),
    )  # fmt: skip
    await store.save_artifact(
        app_name="app", user_id="ada", filename="user:cv.txt", artifact=types.Part(text="cv")
    )
    await store.save_artifact(
        app_name="app",
        user_id="bob",
        session_id="s1",
        filename="a.bin",
        artifact=types.Part(text="bob"),
    )
    await store.save_artifact(
        app_name="other",
        user_id="ada",
        session_id="s1",
        filename="o",
        artifact=types.Part(text="o"),
    )


async def export(conn: asyncpg.Connection, **kw: Any) -> list[dict[str, Any]]:
    return [record async for record in ArtifactTransfer(conn).versions(**kw)]


async def everything(store: ArtifactStore) -> list[dict[str, Any]]:
    """Every version as loaded back: key, version, part, metadata, create time."""
    found = []
    for summary in await store.list_artifacts(limit=10_000):
        for info in await store.list_artifact_versions(
            app_name=summary.app_name,
            user_id=summary.user_id,
            session_id=summary.session_id,
            filename=summary.filename,
        ):
            loaded = await store.load_artifact(
                app_name=info.app_name,
                user_id=info.user_id,
                session_id=info.session_id,
                filename=info.filename,
                version=info.version,
            )
            assert loaded is not None
            found.append(loaded.model_dump())
    return sorted(found, key=_order)


def _order(version: dict[str, Any]) -> tuple[str, str, str, str, int]:
    return (
        version["app_name"],
        version["user_id"],
        version["session_id"] or "",
        version["filename"],
        version["version"],
    )


async def test_export_then_import_restores_every_version(
    artifact_store: ArtifactStore, admin: asyncpg.Connection
) -> None:
    await fill(artifact_store)
    before = await everything(artifact_store)
    records = await export(admin)
    assert json.loads(json.dumps(records)) == records  # JSON-able as they are
    keys = [
        (r["app_name"], r["user_id"], r["session_id"] or "", r["filename"], r["version"])
        for r in records
    ]
    assert keys == sorted(keys)
    assert len(records) == 8
    first = records[0]
    assert first == {
        "type": "artifact_version",
        "app_name": "app",
        "user_id": "ada",
        "session_id": None,
        "filename": "user:cv.txt",
        "version": 0,
        "kind": "text",
        "mime_type": "text/plain",
        "part": {},
        "custom_metadata": {},
        "create_time": first["create_time"],
        "size": 2,
        "sha256": hashlib.sha256(b"cv").hexdigest(),
        "data": base64.b64encode(b"cv").decode(),
    }
    assert first["create_time"].endswith("Z")
    assert await ArtifactTransfer(admin).count(None, None) == (6, 8, 2 * len(ALL_BYTES) + 17)
    assert await ArtifactTransfer(admin).count("app", "ada") == (4, 6, 2 * len(ALL_BYTES) + 13)

    await admin.execute("TRUNCATE adk.artifact_versions, adk.artifact_contents, adk.artifacts")
    transfer = ArtifactTransfer(admin)
    assert [await transfer.import_version(r) for r in records] == ["imported"] * 8
    assert await everything(artifact_store) == before
    # Identical bytes are stored once per artifact after an import too.
    assert await admin.fetchval("SELECT count(*) FROM adk.artifact_contents") == 6
    # Importing again changes nothing; saves continue after the imported versions.
    assert [await transfer.import_version(r) for r in records] == ["unchanged"] * 8
    again = await artifact_store.save_artifact(
        app_name="app",
        user_id="ada",
        session_id="s1",
        filename="a.bin",
        artifact=types.Part(text="3"),
    )
    assert again.version == 3


async def test_a_different_version_under_a_stored_number_is_a_conflict(
    artifact_store: ArtifactStore, admin: asyncpg.Connection
) -> None:
    await fill(artifact_store)
    record = (await export(admin, app_name="other"))[0]
    changed = {**record, "data": base64.b64encode(b"x").decode(), "size": 1}
    changed["sha256"] = hashlib.sha256(b"x").hexdigest()
    before = await everything(artifact_store)
    assert await ArtifactTransfer(admin).import_version(changed) == "conflict"
    assert await everything(artifact_store) == before


def tampered(record: dict[str, Any], **change: Any) -> dict[str, Any]:
    return {**record, **change}


BAD_RECORDS: list[tuple[dict[str, Any], str]] = [
    ({"data": "not base64!"}, "data is not valid base64"),
    ({"data": base64.b64encode(b"other").decode()}, "size does not match"),
    ({"sha256": "00" * 32}, "the bytes do not match its sha256"),
    ({"kind": "video"}, "kind must be one of bytes, text, part"),
    ({"session_id": None}, "a user-scoped artifact's filename starts with user:"),
    ({"version": -1}, "version must be an int from 0"),
    ({"version": "1"}, "version must be an int or None"),
    ({"part": {"inline_data": 5}}, "part is not a google.genai Part"),
    ({"part": {"video_metadata": {"fps": "\x00"}}}, "part is not a google.genai Part|NUL"),
    ({"create_time": "2025-01-01T00:00:00"}, "create_time must be an ISO 8601 time with a zone"),
    ({"create_time": 5}, "create_time must be"),
    ({"custom_metadata": []}, "custom_metadata must be a dict"),
    ({"mime_type": 3}, "mime_type must be a string or null"),
    ({"type": "session"}, "not an artifact_version record"),
    ({"app_name": ""}, "app_name must not be empty"),
    ({"filename": "x" * 2000}, "filename is 2000 bytes"),
]


@pytest.mark.parametrize(("change", "message"), BAD_RECORDS)
async def test_a_malformed_record_is_refused_and_nothing_written(
    artifact_store: ArtifactStore,
    admin: asyncpg.Connection,
    change: dict[str, Any],
    message: str,
) -> None:
    await artifact_store.save_artifact(
        app_name="app", user_id="ada", session_id="s1", filename="a", artifact=types.Part(text="é")
    )
    record = (await export(admin))[0]
    await admin.execute("TRUNCATE adk.artifact_versions, adk.artifact_contents, adk.artifacts")
    with pytest.raises(InvalidArgumentError, match=message):
        await ArtifactTransfer(admin).import_version(tampered(record, **change))
    assert await admin.fetchval("SELECT count(*) FROM adk.artifacts") == 0


async def test_import_checks_the_size_limit_and_text(admin: asyncpg.Connection, db: str) -> None:
    del db  # the tables are empty
    text = {
        "app_name": "a", "user_id": "u", "session_id": "s", "filename": "t", "version": 0,
        "kind": "text", "mime_type": "text/plain", "part": {}, "custom_metadata": {},
        "create_time": "2025-01-31T12:00:00.000001Z", "size": 2,
        "sha256": hashlib.sha256(b"\xff\xfe").hexdigest(),
        "data": base64.b64encode(b"\xff\xfe").decode(),
    }  # fmt: skip
    transfer = ArtifactTransfer(admin)
    with pytest.raises(InvalidArgumentError, match="a text artifact's bytes are not UTF-8"):
        await transfer.import_version(text)
    with pytest.raises(InvalidArgumentError, match="2 bytes; the limit is 1"):
        await transfer.import_version({**text, "kind": "bytes"}, max_artifact_bytes=1)
    assert await transfer.import_version({**text, "kind": "bytes"}) == "imported"


async def test_export_pages_stay_within_their_byte_budget(
    artifact_store: ArtifactStore, admin: asyncpg.Connection
) -> None:
    await fill(artifact_store)
    whole = await export(admin)
    by_one = await export(admin, page_size=1)
    small_pages = await export(admin, page_bytes=100)  # each big version is a page of its own
    assert by_one == whole
    assert small_pages == whole
    ada = await export(admin, app_name="app", user_id="ada")
    assert [r for r in whole if (r["app_name"], r["user_id"]) == ("app", "ada")] == ada
    assert await export(admin, app_name="nope") == []


async def test_delete_session_artifacts_keeps_user_scope_and_other_sessions(
    artifact_store: ArtifactStore, admin: asyncpg.Connection
) -> None:
    await fill(artifact_store)
    gone = await artifact_store.delete_session_artifacts(
        app_name="app", sessions=[("ada", "s1"), ("ada", "s1"), ("ada", "nope")]
    )
    assert (gone.artifacts, gone.versions, gone.bytes) == (
        2,
        4,
        len(ALL_BYTES) + len("v1 ☃\x00".encode()),
    )
    left = await artifact_store.list_artifacts(limit=100)
    assert sorted((a.app_name, a.user_id, a.session_id or "", a.filename) for a in left) == [
        ("app", "ada", "", "user:cv.txt"),
        ("app", "ada", "s2", "b.png"),
        ("app", "bob", "s1", "a.bin"),
        ("other", "ada", "s1", "o"),
    ]
    assert (
        await admin.fetchval(
            "SELECT count(*) FROM adk.artifact_contents WHERE session_id = 's1' AND user_id = 'ada'"
            " AND app_name = 'app'"
        )
        == 0
    )
    nothing = await artifact_store.delete_session_artifacts(app_name="app", sessions=[])
    assert (nothing.artifacts, nothing.versions, nothing.bytes) == (0, 0, 0)
    with pytest.raises(InvalidArgumentError, match="pairs"):
        await artifact_store.delete_session_artifacts(app_name="app", sessions=["ada"])  # type: ignore[list-item]
    with pytest.raises(InvalidArgumentError, match="session_id must not be empty"):
        await artifact_store.delete_session_artifacts(app_name="app", sessions=[("ada", "")])


async def test_export_needs_no_json_codec_on_the_connection(
    artifact_store: ArtifactStore, dsn: str, admin: asyncpg.Connection
) -> None:
    """The export runs on whatever connection holds the caller's snapshot."""
    await fill(artifact_store)
    plain = await asyncpg.connect(dsn)  # no jsonb codec: jsonb would come back as text
    try:
        async with plain.transaction(isolation="repeatable_read", readonly=True):
            records = await export(plain)
    finally:
        await plain.close()
    assert records == await export(admin)
    assert all(isinstance(r["part"], dict) for r in records)
    assert [r["custom_metadata"] for r in records if r["custom_metadata"]] == [{"k": [1]}]
