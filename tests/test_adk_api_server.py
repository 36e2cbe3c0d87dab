"""ADK's own ``adk api_server`` with ``--session_service_uri adkpg://...``, over real HTTP.

The agents directory (a temporary copy of examples/: the demo agent, its offline model and
one services file) registers the ``adkpg`` scheme, once through ``services.py`` and once
through ``services.yaml``. The server listens on loopback only and is killed at the end.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from _adk_helpers import EXAMPLES_DIR, free_port

from adk_pg.db.dsn import with_database

APP = "demo_agent"
USER = "api-user"
START_TIMEOUT = 45.0  # seconds until the server must answer /health
STOP_TIMEOUT = 10.0


def adk_command() -> str:
    """The ``adk`` script of the running interpreter's environment."""
    beside = Path(sys.executable).parent / "adk"
    found = str(beside) if beside.exists() else shutil.which("adk")
    assert found, "the adk command (google-adk) is not installed"
    return found


def agents_dir(root: Path, services_file: str) -> Path:
    """A copy of the demo agent and its model, with one services file, under ``root``."""
    agents = root / "agents"
    shutil.copytree(
        EXAMPLES_DIR / "demo_agent",
        agents / "demo_agent",
        ignore=shutil.ignore_patterns("__pycache__", ".adk"),
    )
    shutil.copy(EXAMPLES_DIR / "local_model.py", agents)
    shutil.copy(EXAMPLES_DIR / services_file, agents)
    return agents


def server_output(log: Path) -> str:
    """What the server printed so far (only read when an assertion fails)."""
    return log.read_text(errors="replace")


@asynccontextmanager
async def api_server(
    agents: Path,
    session_uri: str,
    log: Path,
    *,
    via_adk_pg: bool = False,
    extra_args: Sequence[str] = (),
) -> AsyncIterator[str]:
    """Run ``adk api_server`` on a free loopback port; yield its base URL; kill it after.

    ``via_adk_pg``: as ``python -m adk_pg.adk api_server`` instead of ADK's own ``adk``;
    ``extra_args``: more options, e.g. ``--artifact_service_uri``.
    """
    port = free_port()
    env = {**os.environ, "ADK_PG_DEMO_MODEL": "local"}  # never reach for Gemini in tests
    command = [sys.executable, "-m", "adk_pg.adk"] if via_adk_pg else [adk_command()]
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            *command,
            "api_server",
            str(agents),
            "--session_service_uri",
            session_uri,
            "--memory_service_uri",  # built at start: a bad factory stops the server
            session_uri,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-reload",
            *extra_args,
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
            env=env,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=5) as client:
            deadline = time.monotonic() + START_TIMEOUT
            while True:
                assert proc.returncode is None, f"adk api_server exited:\n{server_output(log)}"
                try:
                    if (await client.get("/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, f"no answer in time:\n{server_output(log)}"
                await asyncio.sleep(0.2)
        yield base
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), STOP_TIMEOUT)
            except asyncio.TimeoutError:
                proc.kill()
                await proc.wait()


@pytest.mark.parametrize("services_file", ["services.py", "services.yaml"])
async def test_api_server_keeps_sessions_in_postgres(
    db: str, admin: asyncpg.Connection, tmp_path: Path, services_file: str
) -> None:
    """Create a session and run a turn over HTTP; the rows are then in schema adk."""
    uri = with_database(db, db.rpartition("/")[2], scheme="adkpg")
    agents = agents_dir(tmp_path, services_file)
    async with (
        api_server(agents, uri, tmp_path / "server.log") as base,
        httpx.AsyncClient(base_url=base, timeout=30) as client,
    ):
        sessions = f"/apps/{APP}/users/{USER}/sessions"
        body = {"sessionId": "api-1", "state": {"topic": "tea", "user:tier": "gold"}}
        created = await client.post(sessions, json=body)
        assert created.status_code == 200, created.text
        assert created.json()["id"] == "api-1"
        duplicate = await client.post(sessions, json=body)
        assert duplicate.status_code == 409, duplicate.text  # AlreadyExistsError

        message = {"role": "user", "parts": [{"text": "my name is Bob, remember this"}]}
        run = await client.post(
            "/run",
            json={"appName": APP, "userId": USER, "sessionId": "api-1", "newMessage": message},
        )
        assert run.status_code == 200, run.text
        events: list[dict[str, Any]] = run.json()
        replies = [p.get("text", "") for e in events for p in e["content"]["parts"]]
        assert any("Nice to meet you, Bob!" in text for text in replies), replies

        fetched = (await client.get(f"{sessions}/api-1")).json()
        assert len(fetched["events"]) == 4  # message, tool call, tool result, reply
        assert fetched["state"]["user:name"] == "Bob"

    state = await admin.fetchval(
        "SELECT state FROM adk.sessions WHERE app_name = $1 AND user_id = $2 AND id = $3",
        APP,
        USER,
        "api-1",
    )
    assert state == {"topic": "tea", "notes": ["my name is Bob, remember this"]}
    stored = await admin.fetch(
        "SELECT id, author FROM adk.events WHERE app_name = $1 AND user_id = $2"
        ' AND session_id = $3 ORDER BY "timestamp", id',
        APP,
        USER,
        "api-1",
    )
    assert [r["id"] for r in stored] == [e["id"] for e in fetched["events"]]
    assert [r["author"] for r in stored] == ["user", APP, APP, APP]
    user_state = await admin.fetchval(
        "SELECT state FROM adk.user_states WHERE app_name = $1 AND user_id = $2", APP, USER
    )
    assert user_state == {"tier": "gold", "name": "Bob", "visits": 1}


@pytest.mark.parametrize("command", ["run", "api_server"])
async def test_python_m_adk_pg_adk_needs_no_services_file(
    db: str, admin: asyncpg.Connection, tmp_path: Path, command: str
) -> None:
    """``python -m adk_pg.adk`` is ADK's command with adkpg:// registered: nothing to copy."""
    uri = with_database(db, db.rpartition("/")[2], scheme="adkpg")
    agents = agents_dir(tmp_path, "services.py")
    (agents / "services.py").unlink()  # nothing registers the scheme but the module itself
    env = {**os.environ, "ADK_PG_DEMO_MODEL": "local"}
    if command == "run":
        done = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "adk_pg.adk",
            "run",
            str(agents / APP),
            "my name is Ada",
            "--session_service_uri",
            uri,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=env,
        )
        output, _ = await asyncio.wait_for(done.communicate(), START_TIMEOUT)
        assert done.returncode == 0, output.decode()
        assert "Nice to meet you, Ada!" in output.decode()
    else:
        async with (
            api_server(agents, uri, tmp_path / "server.log", via_adk_pg=True) as base,
            httpx.AsyncClient(base_url=base, timeout=30) as client,
        ):
            created = await client.post(f"/apps/{APP}/users/{USER}/sessions", json={})
            assert created.status_code == 200, created.text
    count = await admin.fetchval("SELECT count(*) FROM adk.sessions WHERE app_name = $1", APP)
    assert count == 1
