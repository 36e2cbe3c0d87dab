"""examples/sse_session_events.py, run as a process: a session's events, live, over SSE.

The example serves its own ``PostgresSessionService`` (pool named ``sse-test`` through the
DSN, and so is the feed's own connection); the test creates a session and appends to it from
two other services (other pools: other replicas), and reads the stream with httpx.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
from _adk_helpers import EXAMPLES_DIR, REPO_ROOT, free_port
from google.adk.events import Event
from google.adk.sessions import Session
from google.genai import types

from adk_pg.adk import PostgresSessionService

pytestmark = [
    pytest.mark.usefixtures("change_feed"),
    pytest.mark.single_server(
        "the change feed: LISTEN/NOTIFY are per node, and on Citus the triggers fire on the workers"
    ),
]

APP, USER, SESSION = "sse_app", "sse-user", "sse-1"
APP_NAME = "sse-test"  # the application_name of the example's connections
STREAM = f"/apps/{APP}/users/{USER}/sessions/{SESSION}/events/stream"
START_TIMEOUT = 45.0  # seconds until the example must answer
STOP_TIMEOUT = 10.0
READ_TIMEOUT = 15.0  # seconds for the messages awaited at once
RELEASE_TIMEOUT = 10.0  # seconds for the feed's connection to go after a disconnect

Message = dict[str, str]


def with_application_name(dsn: str, name: str) -> str:
    """``dsn`` with ``application_name=name`` in its query string."""
    parts = urlsplit(dsn)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "application_name"]
    return urlunsplit(parts._replace(query=urlencode([*query, ("application_name", name)])))


def output(log: Path) -> str:
    """What the example printed so far (only read when an assertion fails)."""
    return log.read_text(errors="replace")


@asynccontextmanager
async def sse_example(dsn: str, log: Path) -> AsyncIterator[str]:
    """Run ``python examples/sse_session_events.py`` on a free port; yield its base URL."""
    port = free_port()
    env = {**os.environ, "ADK_PG_DSN": dsn}
    script = str(EXAMPLES_DIR / "sse_session_events.py")
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            *(sys.executable, script, "--host", "127.0.0.1", "--port", str(port)),
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
            env=env,
            cwd=REPO_ROOT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=5) as client:
            deadline = time.monotonic() + START_TIMEOUT
            while True:
                assert proc.returncode is None, f"the example exited:\n{output(log)}"
                try:
                    # Served once the lifespan has opened the pool: no such session yet.
                    missing = await client.get(STREAM)
                    assert missing.status_code == 404, missing.text
                    break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, f"no answer in time:\n{output(log)}"
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


async def messages(lines: AsyncIterator[str], count: int) -> list[Message]:
    """The next ``count`` SSE messages (``data`` dispatched; ``retry:`` lines skipped)."""

    async def read() -> list[Message]:
        found: list[Message] = []
        fields: Message = {}
        async for line in lines:
            if not line:
                if "data" in fields:
                    found.append(fields)
                    if len(found) == count:
                        return found
                fields = {}
            elif not line.startswith(":"):
                name, _, value = line.partition(":")
                value = value.removeprefix(" ")
                if name == "data" and "data" in fields:
                    value = f"{fields['data']}\n{value}"
                fields[name] = value
        raise AssertionError(f"the stream ended after {found}")

    return await asyncio.wait_for(read(), READ_TIMEOUT)


async def remaining(lines: AsyncIterator[str]) -> list[str]:
    """The stream's lines up to its end."""
    return [line async for line in lines]


def user_event(number: int) -> Event:
    return Event(
        id=f"ev-{number}",
        invocation_id=f"inv-{number}",
        author="user",
        content=types.Content(role="user", parts=[types.Part(text=f"message {number} ☃")]),
    )


def check(message: Message, revision: int, number: int) -> None:
    """``message`` is event ``number``, with the session ``revision`` as its id."""
    assert message["id"] == str(revision), message
    assert "event" not in message, message
    data: dict[str, Any] = json.loads(message["data"])
    event = Event.model_validate(data)
    assert event.id == f"ev-{number}"
    assert event.invocation_id == f"inv-{number}"
    assert event.content == user_event(number).content


async def feed_connections(admin: asyncpg.Connection) -> int:
    """How many connections of the example's (pool and feeds) the server has now."""
    count: int = await admin.fetchval(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND application_name = $1",
        APP_NAME,
    )
    return count


async def wait_for_connections(admin: asyncpg.Connection, expected: int) -> None:
    deadline = time.monotonic() + RELEASE_TIMEOUT
    while (count := await feed_connections(admin)) != expected:
        assert time.monotonic() < deadline, f"{count} connections of the example, not {expected}"
        await asyncio.sleep(0.1)


async def test_sse_streams_resumes_and_releases(
    db: str, admin: asyncpg.Connection, tmp_path: Path
) -> None:
    """Five events appended elsewhere arrive in order, a reconnect resumes, a disconnect
    closes the feed's connection, and a deletion ends the stream."""
    timeout = httpx.Timeout(5, read=READ_TIMEOUT)
    example_dsn = with_application_name(db, APP_NAME)
    async with (
        sse_example(example_dsn, tmp_path / "server.log") as base,
        PostgresSessionService(db) as creator,
        PostgresSessionService(db) as writer,
    ):
        await creator.create_session(app_name=APP, user_id=USER, session_id=SESSION)
        found = await writer.get_session(app_name=APP, user_id=USER, session_id=SESSION)
        assert found is not None
        session: Session = found

        async def append(number: int) -> None:
            await writer.append_event(session, user_event(number))

        # The first stream: from now (revision 0). Its headers come once its position is set.
        async with (
            httpx.AsyncClient(base_url=base, timeout=timeout) as client,
            client.stream("GET", STREAM) as response,
        ):
            assert response.status_code == 200, await response.aread()
            assert response.headers["content-type"].startswith("text/event-stream")
            lines = response.aiter_lines()
            for number in range(1, 6):
                await append(number)
            got = await messages(lines, 5)
            for revision, message in enumerate(got, start=1):
                check(message, revision, revision)
            # Nothing else came in between: the next one is the next append.
            await append(6)
            check((await messages(lines, 1))[0], 6, 6)
            open_count = await feed_connections(admin)
        # The client is gone: the server closes that stream's feed, and its connection.
        await wait_for_connections(admin, open_count - 1)

        async with httpx.AsyncClient(base_url=base, timeout=timeout) as client:
            # ?after= resumes after the 2nd event: the 3rd first.
            async with client.stream("GET", STREAM, params={"after": 2}) as response:
                assert response.status_code == 200
                got = await messages(response.aiter_lines(), 4)
                for revision, message in enumerate(got, start=3):
                    check(message, revision, revision)
            # Last-Event-ID does too, and wins over the URL's ?after= (an EventSource keeps
            # its URL when it reconnects).
            headers = {"Last-Event-ID": "2"}
            params = {"after": 5}
            async with client.stream("GET", STREAM, headers=headers, params=params) as response:
                assert response.status_code == 200
                lines = response.aiter_lines()
                got = await messages(lines, 4)
                for revision, message in enumerate(got, start=3):
                    check(message, revision, revision)
                await append(7)
                check((await messages(lines, 1))[0], 7, 7)
                # Deleting the session ends the stream, with a last message saying so.
                await creator.delete_session(app_name=APP, user_id=USER, session_id=SESSION)
                (deleted,) = await messages(lines, 1)
                assert deleted["event"] == "deleted", deleted
                rest = await asyncio.wait_for(remaining(lines), READ_TIMEOUT)
                assert not any(rest), rest

            # A position ahead of the session, a bad one, a missing session: no stream.
            await creator.create_session(app_name=APP, user_id=USER, session_id=SESSION)
            ahead = await client.get(STREAM, headers={"Last-Event-ID": "7"})
            assert ahead.status_code == 409, ahead.text
            bad = await client.get(STREAM, headers={"Last-Event-ID": "x"})
            assert bad.status_code == 400, bad.text
            missing = await client.get(STREAM.replace(SESSION, "nope"))
            assert missing.status_code == 404, missing.text
