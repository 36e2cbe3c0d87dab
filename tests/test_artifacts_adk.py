"""PostgresArtifactService against ADK's own InMemoryArtifactService and FileArtifactService.

Every scenario runs the same calls on the three services. Where ADK's two services agree, ours
must give the same answer; where they differ (or where ours differs from both), the test named
``test_difference_...`` says what each one does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import Any

import pytest
from google.adk.artifacts import FileArtifactService, InMemoryArtifactService
from google.adk.artifacts.base_artifact_service import ArtifactVersion, BaseArtifactService
from google.adk.errors.input_validation_error import InputValidationError
from google.genai import types

from adk_pg import InvalidArgumentError
from adk_pg.adk import PostgresArtifactService

Services = dict[str, BaseArtifactService]
APP, USER = "app", "ada"
ALL_BYTES = bytes(range(256)) * 3 + b"\x00\xff"
TOMBSTONE = types.Part(inline_data=types.Blob(mime_type="application/octet-stream", data=b""))


@pytest.fixture
async def services(db: str, tmp_path: Path) -> AsyncIterator[Services]:
    async with PostgresArtifactService(db) as postgres:
        yield {
            "memory": InMemoryArtifactService(),
            "file": FileArtifactService(tmp_path / "files"),
            "postgres": postgres,
        }


async def each(services: Services, method: str, **kwargs: Any) -> dict[str, Any]:
    """Call ``method`` on every service with the same arguments: each one's outcome."""
    return {
        name: await outcome(getattr(service, method)(**kwargs))
        for name, service in services.items()
    }


def same(results: dict[str, Any]) -> Any:
    """The one answer all services gave."""
    first = results["memory"]
    assert all(value == first for value in results.values()), results
    return first


async def outcome(call: Awaitable[Any]) -> Any:
    """The value, or the kind of error (InputValidationError is a ValueError)."""
    try:
        return await call
    except InputValidationError:
        return "InputValidationError"


def png(data: bytes = ALL_BYTES, **blob: Any) -> types.Part:
    return types.Part(inline_data=types.Blob(mime_type="image/png", data=data, **blob))


def described(versions: list[ArtifactVersion]) -> list[tuple[int, str | None, dict[str, Any]]]:
    return [(v.version, v.mime_type, v.custom_metadata) for v in versions]


async def test_versions_count_from_zero_and_load_by_number(services: Services) -> None:
    parts = [png(b"\x00"), types.Part(text="one ☃"), png(ALL_BYTES, display_name="two.png")]
    for version, part in enumerate(parts):
        saved = await each(
            services,
            "save_artifact",
            app_name=APP,
            user_id=USER,
            session_id="s1",
            filename="report",
            artifact=part,
            custom_metadata={"n": version, "tags": ["a", "b"]} if version else None,
        )
        assert same(saved) == version
    f: dict[str, Any] = {"app_name": APP, "user_id": USER, "session_id": "s1", "filename": "report"}
    assert same(await each(services, "list_versions", **f)) == [0, 1, 2]
    for version, part in enumerate(parts):
        loaded = same(await each(services, "load_artifact", **f, version=version))
        assert loaded == part
    assert same(await each(services, "load_artifact", **f)) == parts[2]
    for missing in (3, 99, -1):
        assert same(await each(services, "load_artifact", **f, version=missing)) is None
        assert same(await each(services, "get_artifact_version", **f, version=missing)) is None
    infos = await each(services, "list_artifact_versions", **f)
    # FileArtifactService gives a text part no MIME type (test_difference_text_mime_type).
    assert (
        described(infos["memory"])
        == described(infos["postgres"])
        == [
            (0, "image/png", {}),
            (1, "text/plain", {"n": 1, "tags": ["a", "b"]}),
            (2, "image/png", {"n": 2, "tags": ["a", "b"]}),
        ]
    )
    assert described(infos["file"])[::2] == described(infos["postgres"])[::2]
    for name, versions in infos.items():
        times = [v.create_time for v in versions]
        assert times == sorted(times), name
    latest = await each(services, "get_artifact_version", **f)
    assert {name: (v.version, v.custom_metadata) for name, v in latest.items() if v} == {
        name: (2, {"n": 2, "tags": ["a", "b"]}) for name in services
    }


async def test_bytes_round_trip_exactly(services: Services) -> None:
    part = types.Part.from_bytes(data=ALL_BYTES * 100, mime_type="application/x-raw")
    f: dict[str, Any] = {
        "app_name": APP,
        "user_id": USER,
        "session_id": "s1",
        "filename": "raw.bin",
    }
    await each(services, "save_artifact", **f, artifact=part)
    loaded = same(await each(services, "load_artifact", **f))
    assert loaded is not None
    assert loaded.inline_data is not None
    assert loaded.inline_data.data == ALL_BYTES * 100


async def test_a_dict_artifact_is_a_part(services: Services) -> None:
    f: dict[str, Any] = {"app_name": APP, "user_id": USER, "session_id": "s1", "filename": "d"}
    raw = {"inlineData": {"mimeType": "image/gif", "data": b"GIF89a\x00", "displayName": "d.gif"}}
    assert same(await each(services, "save_artifact", **f, artifact=raw)) == 0
    loaded = same(await each(services, "load_artifact", **f))
    assert loaded == types.Part(
        inline_data=types.Blob(mime_type="image/gif", data=b"GIF89a\x00", display_name="d.gif")
    )


async def test_user_scope_is_shared_by_the_users_sessions(services: Services) -> None:
    base: dict[str, Any] = {"app_name": APP, "user_id": USER}
    await each(
        services, "save_artifact", **base, session_id="s1", filename="user:cv.txt", artifact=png()
    )
    await each(services, "save_artifact", **base, session_id="s1", filename="b.txt", artifact=png())
    await each(services, "save_artifact", **base, session_id="s2", filename="a.txt", artifact=png())
    assert same(await each(services, "list_artifact_keys", **base, session_id="s1")) == [
        "b.txt",
        "user:cv.txt",
    ]
    assert same(await each(services, "list_artifact_keys", **base, session_id="s2")) == [
        "a.txt",
        "user:cv.txt",
    ]
    assert same(await each(services, "list_artifact_keys", **base)) == ["user:cv.txt"]
    for session_id in ("s2", "s9", None):
        loaded = await each(
            services, "load_artifact", **base, session_id=session_id, filename="user:cv.txt"
        )
        assert same(loaded) == png()
    assert (
        same(await each(services, "load_artifact", **base, session_id="s2", filename="b.txt"))
        is None
    )
    other = await each(services, "list_artifact_keys", app_name=APP, user_id="bob")
    assert same(other) == []


async def test_delete_removes_every_version_and_a_new_save_is_version_0(
    services: Services,
) -> None:
    f: dict[str, Any] = {"app_name": APP, "user_id": USER, "session_id": "s1", "filename": "f"}
    for _ in range(3):
        await each(services, "save_artifact", **f, artifact=png())
    await each(services, "save_artifact", **{**f, "filename": "g"}, artifact=png())
    assert same(await each(services, "delete_artifact", **f)) is None
    assert same(await each(services, "delete_artifact", **f)) is None  # missing
    assert same(await each(services, "load_artifact", **f)) is None
    assert same(await each(services, "list_versions", **f)) == []
    assert same(await each(services, "list_artifact_versions", **f)) == []
    assert same(await each(services, "get_artifact_version", **f)) is None
    keys = await each(services, "list_artifact_keys", app_name=APP, user_id=USER, session_id="s1")
    assert same(keys) == ["g"]
    assert same(await each(services, "save_artifact", **f, artifact=png())) == 0


async def test_a_rewind_tombstone_loads_as_absent(services: Services) -> None:
    f: dict[str, Any] = {"app_name": APP, "user_id": USER, "session_id": "s1", "filename": "f"}
    await each(services, "save_artifact", **f, artifact=png())
    assert same(await each(services, "save_artifact", **f, artifact=TOMBSTONE)) == 1
    assert same(await each(services, "load_artifact", **f)) is None
    assert same(await each(services, "load_artifact", **f, version=0)) == png()
    assert same(await each(services, "list_versions", **f)) == [0, 1]
    keys = await each(services, "list_artifact_keys", app_name=APP, user_id=USER, session_id="s1")
    assert same(keys) == ["f"]


async def test_a_part_with_nothing_to_store_is_refused(services: Services) -> None:
    f: dict[str, Any] = {"app_name": APP, "user_id": USER, "session_id": "s1", "filename": "f"}
    results = await each(services, "save_artifact", **f, artifact=types.Part())
    assert same(results) == "InputValidationError"
    with pytest.raises(InvalidArgumentError):  # also adk-pg's own class
        await services["postgres"].save_artifact(**f, artifact=types.Part())


async def test_artifact_references_are_followed_within_scope(db: str) -> None:
    """InMemoryArtifactService and ours store and follow artifact:// references."""
    async with PostgresArtifactService(db) as postgres:
        pair: Services = {"memory": InMemoryArtifactService(), "postgres": postgres}
        f: dict[str, Any] = {"app_name": APP, "user_id": USER, "session_id": "s1"}
        await each(pair, "save_artifact", **f, filename="a.txt", artifact=types.Part(text="A"))
        await each(pair, "save_artifact", **f, filename="a.txt", artifact=types.Part(text="B"))
        uri = f"artifact://apps/{APP}/users/{USER}/sessions/s1/artifacts/a.txt/versions/0"
        ref = types.Part(file_data=types.FileData(file_uri=uri))
        assert same(await each(pair, "save_artifact", **f, filename="ref", artifact=ref)) == 0
        assert same(await each(pair, "load_artifact", **f, filename="ref")) == types.Part(text="A")
        # A reference to a reference, and a canonical URI of ours used as a reference.
        canonical = await postgres.get_artifact_version(**f, filename="a.txt", version=1)
        assert canonical is not None
        assert canonical.canonical_uri == uri.replace("versions/0", "versions/1")
        ref2 = types.Part(file_data=types.FileData(file_uri=canonical.canonical_uri))
        await postgres.save_artifact(**f, filename="ref2", artifact=ref2)
        assert await postgres.load_artifact(**f, filename="ref2") == types.Part(text="B")
        # Out of scope: another user's artifact.
        foreign = types.Part(file_data=types.FileData(file_uri=uri.replace(USER, "bob")))
        refused = await each(pair, "save_artifact", **f, filename="x", artifact=foreign)
        assert same(refused) == "InputValidationError"
        # A cycle is cut at ADK's depth.
        loop_uri = f"artifact://apps/{APP}/users/{USER}/sessions/s1/artifacts/loop/versions/0"
        loop = types.Part(file_data=types.FileData(file_uri=loop_uri))
        await each(pair, "save_artifact", **f, filename="loop", artifact=loop)
        looped = await each(pair, "load_artifact", **f, filename="loop")
        assert same(looped) == "InputValidationError"


async def test_artifacts_persist_across_service_instances(db: str) -> None:
    f: dict[str, Any] = {
        "app_name": APP,
        "user_id": USER,
        "session_id": "s1",
        "filename": "kept.png",
    }
    async with PostgresArtifactService(db) as first:
        await first.save_artifact(**f, artifact=png(), custom_metadata={"by": "first"})
    async with PostgresArtifactService(db) as second:
        assert await second.load_artifact(**f) == png()
        assert await second.save_artifact(**f, artifact=png(b"2")) == 1
        info = await second.get_artifact_version(**f, version=0)
        assert info is not None
        assert info.custom_metadata == {"by": "first"}


# Where the services differ. Each test says what each one does.


async def test_difference_session_id_none_means_user_scope(services: Services) -> None:
    """ADK's base class: ``session_id=None`` means user-scoped. InMemoryArtifactService refuses a
    filename without ``user:`` then; FileArtifactService stores it in the user's scope and
    lists the bare name (which only loads back with the prefix from a session); ours stores
    it as ``user:<name>``, the same artifact, and lists that name, which loads anywhere."""
    f: dict[str, Any] = {"app_name": APP, "user_id": USER, "filename": "cv.txt"}
    saved = await each(services, "save_artifact", **f, artifact=png())
    assert saved == {"memory": "InputValidationError", "file": 0, "postgres": 0}
    keys = await each(services, "list_artifact_keys", app_name=APP, user_id=USER, session_id="s1")
    assert keys == {"memory": [], "file": ["cv.txt"], "postgres": ["user:cv.txt"]}
    via_prefix = await each(
        services,
        "load_artifact",
        app_name=APP,
        user_id=USER,
        session_id="s1",
        filename="user:cv.txt",
    )
    assert via_prefix == {"memory": None, "file": png(), "postgres": png()}


async def test_difference_text_mime_type(services: Services) -> None:
    """A text part's ArtifactVersion.mime_type: text/plain in memory (and GCS), None on files."""
    f: dict[str, Any] = {"app_name": APP, "user_id": USER, "session_id": "s1", "filename": "t"}
    await each(services, "save_artifact", **f, artifact=types.Part(text="x"))
    infos = await each(services, "get_artifact_version", **f)
    assert {name: v.mime_type if v else "missing" for name, v in infos.items()} == {
        "memory": "text/plain",
        "file": None,
        "postgres": "text/plain",
    }


async def test_difference_inline_data_without_a_mime_type(services: Services) -> None:
    """Kept as None in memory and by us; FileArtifactService says application/octet-stream."""
    f: dict[str, Any] = {"app_name": APP, "user_id": USER, "session_id": "s1", "filename": "m"}
    part = types.Part(inline_data=types.Blob(data=b"\x01"))
    await each(services, "save_artifact", **f, artifact=part)
    loaded = await each(services, "load_artifact", **f)
    types_ = {
        name: p.inline_data.mime_type if p and p.inline_data else "?" for name, p in loaded.items()
    }
    assert types_ == {"memory": None, "file": "application/octet-stream", "postgres": None}


async def test_difference_filenames_are_names_not_paths(services: Services) -> None:
    """FileArtifactService refuses names that are unsafe as paths or collide with its layout;
    InMemoryArtifactService and ours store any name verbatim (ours: not empty, no NUL, at most
    1,024 UTF-8 bytes)."""
    for name in ("../escape.txt", "/abs.txt", "metadata.json", "versions/1.txt"):
        f: dict[str, Any] = {"app_name": APP, "user_id": USER, "session_id": "s1", "filename": name}
        saved = await each(services, "save_artifact", **f, artifact=png())
        assert saved == {"memory": 0, "file": "InputValidationError", "postgres": 0}, name
        loaded = await each(services, "load_artifact", **f)
        assert (loaded["memory"], loaded["postgres"]) == (png(), png()), name


async def test_difference_ids_are_keys_not_path_segments(services: Services) -> None:
    """ADK's services build paths from the ids and refuse those that could escape them (and
    InMemoryArtifactService a session id starting with "user"); ours are keys: any id the
    session store accepts (1-128 characters, no NUL) can keep artifacts."""
    for ids in (
        {"app_name": "../app"},
        {"user_id": "a/../b"},
        {"session_id": "/abs"},
        {"session_id": "user"},
    ):
        f: dict[str, Any] = {
            "app_name": APP,
            "user_id": USER,
            "session_id": "s1",
            "filename": "f",
            **ids,
        }
        saved = await each(services, "save_artifact", **f, artifact=png())
        assert saved["postgres"] == 0, ids
        assert "InputValidationError" in {saved["memory"], saved["file"]}, (ids, saved)
        assert await services["postgres"].load_artifact(**f) == png()


async def test_difference_inline_data_without_data(services: Services) -> None:
    """InMemoryArtifactService stores a Blob without data; FileArtifactService and ours refuse."""
    f: dict[str, Any] = {"app_name": APP, "user_id": USER, "session_id": "s1", "filename": "f"}
    part = types.Part(inline_data=types.Blob(mime_type="image/png"))
    saved = await each(services, "save_artifact", **f, artifact=part)
    assert saved == {
        "memory": 0,
        "file": "InputValidationError",
        "postgres": "InputValidationError",
    }


async def test_difference_file_data_parts(services: Services) -> None:
    """A file_data part (an external file): kept whole in memory and by us; refused on files."""
    f: dict[str, Any] = {"app_name": APP, "user_id": USER, "session_id": "s1", "filename": "ext"}
    part = types.Part(
        file_data=types.FileData(file_uri="gs://b/r.pdf", mime_type="application/pdf")
    )
    saved = await each(services, "save_artifact", **f, artifact=part)
    assert saved == {"memory": 0, "file": "InputValidationError", "postgres": 0}
    assert await services["postgres"].load_artifact(**f) == part
    info = await services["postgres"].get_artifact_version(**f)
    assert info is not None
    assert info.mime_type == "application/pdf"


async def test_difference_custom_metadata_comes_back_as_json(services: Services) -> None:
    """InMemoryArtifactService returns the objects it was given; FileArtifactService and ours
    store JSON, so a tuple comes back as a list."""
    f: dict[str, Any] = {"app_name": APP, "user_id": USER, "session_id": "s1", "filename": "f"}
    await each(services, "save_artifact", **f, artifact=png(), custom_metadata={"t": (1, 2)})
    infos = await each(services, "get_artifact_version", **f)
    assert {name: v.custom_metadata if v else None for name, v in infos.items()} == {
        "memory": {"t": (1, 2)},
        "file": {"t": [1, 2]},
        "postgres": {"t": [1, 2]},
    }


async def test_difference_canonical_uris(services: Services) -> None:
    """Each service names its storage: memory://, file:// and, for ours, the version's
    artifact:// URI (no database address; it loads through any ADK artifact service)."""
    f: dict[str, Any] = {"app_name": APP, "user_id": USER, "session_id": "s1", "filename": "f.png"}
    await each(services, "save_artifact", **f, artifact=png())
    infos = await each(services, "get_artifact_version", **f)
    uris = {name: v.canonical_uri if v else "" for name, v in infos.items()}
    assert uris["memory"].startswith("memory://apps/app/users/ada/sessions/s1/artifacts/f.png")
    assert uris["file"].startswith("file://")
    assert (
        uris["postgres"] == "artifact://apps/app/users/ada/sessions/s1/artifacts/f.png/versions/0"
    )
