"""Run the real ``adk-pg`` command in a subprocess, as an operator would, and collect its output."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import sys
from dataclasses import dataclass

from _dbutil import REPO_ROOT
from google.genai import types

from adk_pg import Event, EventActions, SessionStore
from adk_pg.cli import main


@dataclass(frozen=True)
class Result:
    """What the command did: exit code and both output streams."""

    code: int
    out: str
    err: str


async def adk_pg(*args: str, env: dict[str, str] | None = None, stdin: bytes = b"") -> Result:
    """Run ``python -m adk_pg ARGS`` with no DSN variables except those in ``env``."""
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in {"ADK_PG_DSN", "POSTGRES_URL", "ADK_PG_SCHEMA"}
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "adk_pg",
        *args,
        cwd=REPO_ROOT,
        env={**base, **(env or {})},
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(stdin), timeout=60)
    assert proc.returncode is not None
    return Result(proc.returncode, out.decode(), err.decode())


def _main_in_thread(args: list[str]) -> Result:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(args)
        except SystemExit as exited:  # argparse: --help, or a usage error
            code = exited.code if isinstance(exited.code, int) else 2
    return Result(code, out.getvalue(), err.getvalue())


async def run_main(*args: str) -> Result:
    """Run the command's own ``main()`` in this process (in a thread with its own event loop).

    The same code path as the installed command without a second of interpreter start-up:
    for the many variants of a command that a subprocess test has already covered once.
    Calls must not overlap (stdout and stderr are redirected process-wide).
    """
    return await asyncio.to_thread(_main_in_thread, list(args))


# Timestamps whose shortest decimal needs all 17 digits: they must survive every trip exactly.
TRICKY_TIMES = (1_700_000_000.1234567, 1_700_000_001.0000002, 1_700_000_002.9999998)


async def fill(store: SessionStore, *, base: float = TRICKY_TIMES[0]) -> None:
    """Sample data: two apps, three users, sessions with text, tool calls and state deltas.

    ``weather/alice/s1`` holds four events (text, call, response, text with bytes and a state
    delta in every scope); ``weather/bob/s2`` one; ``chess/alice/c1`` none.
    """
    s1 = await store.create_session(
        app_name="weather",
        user_id="alice",
        session_id="s1",
        state={"city": "Paris", "app:units": "metric", "user:lang": "fr"},
    )
    events = [
        Event(
            invocation_id="i1",
            author="user",
            timestamp=TRICKY_TIMES[0],
            content=types.Content(role="user", parts=[types.Part(text="Weather\n in  Paris?")]),
        ),
        Event(
            invocation_id="i1",
            author="forecaster",
            timestamp=TRICKY_TIMES[1],
            content=types.Content(
                role="model",
                parts=[
                    types.Part(
                        function_call=types.FunctionCall(name="get_weather", args={"city": "Paris"})
                    )
                ],
            ),
        ),
        Event(
            invocation_id="i1",
            author="forecaster",
            branch="root.forecaster",
            timestamp=TRICKY_TIMES[2],
            content=types.Content(
                role="user",
                parts=[
                    types.Part(
                        function_response=types.FunctionResponse(
                            name="get_weather", response={"temp_c": 21}
                        )
                    )
                ],
            ),
        ),
        Event(
            invocation_id="i1",
            author="forecaster",
            timestamp=base + 3.5,
            content=types.Content(
                role="model",
                parts=[
                    types.Part(text="It is 21°C ☀"),
                    types.Part(inline_data=types.Blob(mime_type="image/png", data=b"\x00\xff")),
                ],
            ),
            custom_metadata={"nested": {"n": None}},
            actions=EventActions(
                state_delta={"city": "Lyon", "app:units": None, "user:seen": True, "temp:t": 1}
            ),
        ),
    ]
    revision = s1.revision
    for event in events:
        result = await store.append_event(
            app_name="weather",
            user_id="alice",
            session_id="s1",
            event=event,
            expected_revision=revision,
        )
        assert result is not None
        revision = result.revision
    await store.create_session(app_name="weather", user_id="bob", session_id="s2")
    await store.append_event(
        app_name="weather",
        user_id="bob",
        session_id="s2",
        event=Event(author="user", timestamp=base + 10, content=types.Content(parts=[])),
        expected_revision=0,
    )
    await store.create_session(
        app_name="chess", user_id="alice", session_id="c1", state={"user:elo": 1500}
    )
