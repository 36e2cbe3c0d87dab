"""Artifacts in the operator's commands: ``adk-pg export``/``import`` carry every version's
exact bytes, ``prune`` takes a session's artifacts with it and ``status`` counts them."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from _cli import adk_pg, run_main
from google.genai import types

from adk_pg.artifacts import ArtifactStore
from adk_pg.schema.admin import throwaway_database
from adk_pg.schema.runner import migrate
from adk_pg.sessions.store import SessionStore

ALL_BYTES = bytes(range(256)) * 40
CHART = {"app_name": "weather", "user_id": "alice", "session_id": "s1", "filename": "chart.png"}

# Every version with its bytes and metadata, as psql shows them: what a round trip must keep.
DUMP = """
SELECT v.app_name, v.user_id, nullif(v.session_id, '') AS session_id, v.filename, v.version,
       v.kind, v.mime_type, v.part, v.custom_metadata, v.create_time, c.data
FROM adk.artifact_versions AS v
LEFT JOIN adk.artifact_contents AS c
  USING (app_name, user_id, session_id, filename, sha256)
ORDER BY 1, 2, 3 NULLS FIRST, 4, 5
"""


@pytest.fixture
async def target(server_dsn: str) -> AsyncIterator[str]:
    """An empty, migrated database to import into."""
    async with throwaway_database(server_dsn) as dsn:
        await migrate(dsn)
        yield dsn


async def fill(sessions: SessionStore, artifacts: ArtifactStore) -> None:
    """weather/alice: session s1 with a chart (2 versions) and a user-scoped text; a file
    reference in session s2."""
    await sessions.create_session(app_name="weather", user_id="alice", session_id="s1")
    await sessions.create_session(app_name="weather", user_id="alice", session_id="s2")
    await artifacts.save_artifact(
        **CHART, artifact=types.Part.from_bytes(data=b"v0", mime_type="image/png")
    )
    await artifacts.save_artifact(
        **CHART,
        artifact=types.Part.from_bytes(data=ALL_BYTES, mime_type="image/png"),
        custom_metadata={"dpi": 300},
    )
    await artifacts.save_artifact(
        app_name="weather", user_id="alice", filename="user:notes.md",
        artifact=types.Part(text="notes ☃\x00"),
    )  # fmt: skip
    await artifacts.save_artifact(
        app_name="weather", user_id="alice", session_id="s2", filename="ref",
        artifact=types.Part(file_data=types.FileData(file_uri="gs://b/f", mime_type="x/z")),
    )  # fmt: skip


async def dump(dsn: str) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(dsn)
    try:
        return [dict(r) for r in await conn.fetch(DUMP)]
    finally:
        await conn.close()


async def test_export_and_import_carry_every_version_exactly(
    store: SessionStore, artifact_store: ArtifactStore, db: str, target: str, tmp_path: Path
) -> None:
    await fill(store, artifact_store)
    path = tmp_path / "all.jsonl"
    exported = await adk_pg("export", "--dsn", db, "-o", str(path))
    assert exported.code == 0, exported
    assert exported.out.endswith(", 0 memories, 4 artifact versions\n")
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines[-1]["artifact_versions"] == 4
    kinds = [line["kind"] for line in lines if line.get("type") == "artifact_version"]
    assert sorted(kinds) == ["bytes", "bytes", "part", "text"]

    first = await run_main("import", str(path), "--dsn", target, "--json")
    assert first.code == 0, first
    report = json.loads(first.out)
    assert (report["sessions_imported"], report["artifact_versions_imported"]) == (2, 4)
    assert await dump(target) == await dump(db)
    stored = next(r for r in await dump(target) if r["version"] == 1)
    assert bytes(stored["data"]) == ALL_BYTES

    # Importing again changes nothing; other bytes under a stored number are left alone and
    # counted, never overwritten.
    chart = next(x for x in lines if x.get("filename") == "chart.png" and x["version"] == 0)
    other = {**chart, "data": base64.b64encode(b"other").decode(), "size": 5}
    other["sha256"] = hashlib.sha256(b"other").hexdigest()
    conflicting = tmp_path / "conflict.jsonl"
    trailer = {**lines[-1], "sessions": 0, "events": 0, "artifact_versions": 1}
    conflicting.write_text(
        "".join(json.dumps(d) + "\n" for d in [{**lines[0], "sessions": 0}, other, trailer])
    )
    again = await adk_pg("import", str(path), "--dsn", target)
    clash = await adk_pg("import", str(conflicting), "--dsn", target)
    assert again.code == 0, again
    assert "0 memories, 4 artifact versions\n" in again.out
    assert again.out.splitlines()[0].endswith(", 0 artifact versions")
    assert clash.code == 0, clash
    assert "left alone 1 artifact versions whose number is taken by other bytes" in clash.out
    assert await dump(target) == await dump(db)


async def test_a_damaged_artifact_line_is_refused_by_name(
    store: SessionStore, artifact_store: ArtifactStore, db: str, target: str, tmp_path: Path
) -> None:
    await fill(store, artifact_store)
    lines = [json.loads(line) for line in (await run_main("export", "--dsn", db)).out.splitlines()]
    damaged = [
        {**x, "data": x["data"][:8] + ("A" if x["data"][8] != "A" else "B") + x["data"][9:]}
        if x.get("filename") == "chart.png" and x["version"] == 1
        else x
        for x in lines
    ]
    path = tmp_path / "damaged.jsonl"
    path.write_text("".join(json.dumps(d) + "\n" for d in damaged))
    result = await run_main("import", str(path), "--dsn", target)
    assert result.code == 2, result
    assert "artifact 'chart.png' version 1" in result.err
    assert "sha256" in result.err
    # The lines before it were imported; the damaged version was not.
    assert [r["version"] for r in await dump(target) if r["filename"] == "chart.png"] == [0]


async def test_prune_takes_a_sessions_artifacts_and_keeps_user_ones(
    store: SessionStore, artifact_store: ArtifactStore, db: str, admin: asyncpg.Connection
) -> None:
    await fill(store, artifact_store)
    await admin.execute(
        "UPDATE adk.sessions SET write_time = now() - interval '40 days' WHERE id = 's1'"
    )
    dry = await run_main("prune", "--dsn", db, "--older-than", "30d", "--dry-run", "--json")
    assert dry.code == 1, dry
    assert json.loads(dry.out)["artifacts"] == 1
    pruned = await run_main("prune", "--dsn", db, "--older-than", "30d")
    assert pruned.code == 0, pruned
    assert pruned.out.startswith("deleted 1 sessions (0 events, 1 artifacts) not written since ")
    left = [(r["session_id"], r["filename"]) for r in await dump(db)]
    assert left == [(None, "user:notes.md"), ("s2", "ref")]
    assert await admin.fetchval("SELECT count(*) FROM adk.artifact_contents") == 1
    status = json.loads((await run_main("status", "--dsn", db, "--json")).out)
    assert status["artifacts"] == 2
    assert {"artifacts", "artifact_versions", "artifact_contents"} <= set(status["table_bytes"])
