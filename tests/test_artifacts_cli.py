"""``adk-pg artifacts list|get|delete``, run as real commands."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import sys
from pathlib import Path

from _cli import adk_pg, run_main
from _dbutil import REPO_ROOT
from google.genai import types

from adk_pg.artifacts import ArtifactStore

ALL_BYTES = bytes(range(256)) * 40
NOTES = "# Notes\n\x1b[31mred\x1b[0m ☃\n"  # terminal escapes included


async def fill(store: ArtifactStore) -> None:
    """weather/alice: a chart in session s1 (2 versions), a user-scoped text; chess/bob: a
    file reference in session c1."""
    chart = {"app_name": "weather", "user_id": "alice", "session_id": "s1", "filename": "chart.png"}
    await store.save_artifact(
        **chart, artifact=types.Part.from_bytes(data=b"v0", mime_type="image/png")
    )
    await store.save_artifact(
        **chart, artifact=types.Part.from_bytes(data=ALL_BYTES, mime_type="image/png")
    )
    await store.save_artifact(
        app_name="weather",
        user_id="alice",
        filename="user:notes.md",
        artifact=types.Part(text=NOTES),
    )
    await store.save_artifact(
        app_name="chess",
        user_id="bob",
        session_id="c1",
        filename="game.pgn",
        artifact=types.Part(file_data=types.FileData(file_uri="gs://games/1.pgn")),
    )


async def raw_stdout(*args: str) -> tuple[int, bytes, str]:
    """Run the command and keep stdout as bytes (binary data)."""
    env = {k: v for k, v in os.environ.items() if k not in {"ADK_PG_DSN", "POSTGRES_URL"}}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "adk_pg",
        *args,
        cwd=REPO_ROOT,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode is not None
    return proc.returncode, out, err.decode()


async def test_list_shows_each_artifact_newest_first(
    artifact_store: ArtifactStore, db: str
) -> None:
    await fill(artifact_store)
    everything = await adk_pg("artifacts", "list", "--dsn", db)
    assert everything.code == 0, everything
    rows = [line.split() for line in everything.out.splitlines()]
    assert rows[0][:8] == ["APP", "USER", "SESSION", "FILENAME", "VER", "VERSIONS", "SIZE", "TYPE"]
    assert [r[:6] for r in rows[1:]] == [
        ["chess", "bob", "c1", "game.pgn", "0", "1"],
        ["weather", "alice", "(user)", "user:notes.md", "0", "1"],
        ["weather", "alice", "s1", "chart.png", "1", "2"],
    ]
    assert rows[3][6:9] == ["10.0", "kB", "image/png"]
    alice = await run_main("artifacts", "list", "--dsn", db, "--user", "alice", "--json")
    listed = json.loads(alice.out)
    assert [(a["filename"], a["session_id"], a["versions"], a["stored_bytes"]) for a in listed] == [
        ("user:notes.md", None, 1, len(NOTES.encode())),
        ("chart.png", "s1", 2, len(ALL_BYTES) + 2),
    ]
    assert listed[1]["update_time"].endswith("Z")
    session = await run_main("artifacts", "list", "--dsn", db, "--session", "s1")
    assert [line.split()[3] for line in session.out.splitlines()[1:]] == ["chart.png"]
    one = await run_main("artifacts", "list", "--dsn", db, "--limit", "1")
    assert len(one.out.splitlines()) == 2
    none = await run_main("artifacts", "list", "--dsn", db, "--app", "nope")
    assert (none.code, none.out) == (1, "no artifacts\n")
    bad = await run_main("artifacts", "list", "--dsn", db, "--session", " ")
    assert bad.code == 2
    assert "--session must not be empty" in bad.err


async def test_get_writes_the_exact_bytes(
    artifact_store: ArtifactStore, db: str, tmp_path: Path
) -> None:
    await fill(artifact_store)
    target = tmp_path / "chart.png"
    written = await run_main(
        "artifacts", "get", "weather", "alice", "chart.png", "--session", "s1", "--dsn", db,
        "-o", str(target),
    )  # fmt: skip
    assert written.code == 0, written
    assert target.read_bytes() == ALL_BYTES
    assert "wrote 10.0 kB (image/png, version 1, sha256 " in written.err
    older = await run_main(
        "artifacts", "get", "weather", "alice", "chart.png", "--session", "s1", "--version", "0",
        "--dsn", db, "-o", str(target),
    )  # fmt: skip
    assert older.code == 0, older
    assert target.read_bytes() == b"v0"
    code, out, err = await raw_stdout(
        "artifacts", "get", "weather", "alice", "chart.png", "--session", "s1", "--dsn", db
    )
    assert (code, out, err) == (0, ALL_BYTES, "")
    # A user-scoped artifact: by its listed name, or its bare name without --session.
    for name in ("user:notes.md", "notes.md"):
        code, out, err = await raw_stdout("artifacts", "get", "weather", "alice", name, "--dsn", db)
        assert (code, out) == (0, NOTES.encode()), err


async def test_get_of_nothing_says_so(artifact_store: ArtifactStore, db: str) -> None:
    await fill(artifact_store)
    missing = await run_main("artifacts", "get", "weather", "alice", "chart.png", "--dsn", db)
    assert missing.code == 1
    assert missing.err == "no artifact weather / alice / (user) / chart.png\n"
    no_version = await run_main(
        "artifacts", "get", "weather", "alice", "chart.png", "--session", "s1", "--version", "7",
        "--dsn", db,
    )  # fmt: skip
    assert no_version.code == 1
    assert "version 7" in no_version.err
    reference = await run_main(
        "artifacts", "get", "chess", "bob", "game.pgn", "--session", "c1", "--dsn", db
    )
    assert reference.code == 1
    assert "holds no bytes: it refers to gs://games/1.pgn" in reference.err
    bad = await run_main("artifacts", "get", "weather", "alice", "x" * 1100, "--dsn", db)
    assert bad.code == 2
    assert "filename is 1105 bytes long" in bad.err


async def test_delete_removes_every_version(artifact_store: ArtifactStore, db: str) -> None:
    await fill(artifact_store)
    deleted = await adk_pg(
        "artifacts", "delete", "weather", "alice", "chart.png", "--session", "s1", "--dsn", db
    )
    assert deleted.code == 0, deleted
    assert deleted.out == "deleted weather / alice / s1 / chart.png (2 versions)\n"
    assert (
        await artifact_store.list_versions(
            app_name="weather", user_id="alice", session_id="s1", filename="chart.png"
        )
        == []
    )
    again = await run_main(
        "artifacts", "delete", "weather", "alice", "chart.png", "--session", "s1", "--dsn", db,
        "--json",
    )  # fmt: skip
    assert again.code == 1
    assert json.loads(again.out) == {"deleted": False, "versions": 0}
    user = await run_main(
        "artifacts", "delete", "weather", "alice", "user:notes.md", "--yes", "--dsn", db, "--json"
    )
    assert (user.code, json.loads(user.out)) == (0, {"deleted": True, "versions": 1})
    left = await artifact_store.list_artifacts()
    assert [a.filename for a in left] == ["game.pgn"]


async def on_a_terminal(*args: str) -> tuple[int, str]:
    """Run the command with stdout on a pseudo-terminal; what the terminal received."""
    master, slave = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k not in {"ADK_PG_DSN", "POSTGRES_URL"}}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "adk_pg", *args,
        cwd=REPO_ROOT, env=env, stdin=asyncio.subprocess.DEVNULL, stdout=slave, stderr=slave,
    )  # fmt: skip
    os.close(slave)
    code = await asyncio.wait_for(proc.wait(), timeout=60)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the terminal's other end is closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    return code, b"".join(chunks).decode(errors="replace")


async def test_get_protects_a_terminal(artifact_store: ArtifactStore, db: str) -> None:
    await fill(artifact_store)
    code, shown = await on_a_terminal(
        "artifacts", "get", "weather", "alice", "chart.png", "--session", "s1", "--dsn", db
    )
    assert code == 2
    assert "binary data is not written to a terminal" in shown
    code, shown = await on_a_terminal(
        "artifacts", "get", "weather", "alice", "notes.md", "--dsn", db
    )
    assert code == 0
    assert "\\x1b[31mred\\x1b[0m ☃" in shown
    assert "\x1b" not in shown
