"""A real ADK Runner, end to end: two processes continue one session stored in PostgreSQL.

Each process (``tests/_adk_helpers.py`` run as a script) builds its own
PostgresSessionService and Runner around ``examples/demo_agent`` on the deterministic
``LocalDemoModel``, whose tool writes session (``notes``), user (``user:name``,
``user:visits``) and app (``app:notes_saved``) state.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

import asyncpg
from _adk_helpers import REPO_ROOT, RUNNER_APP, RUNNER_USER

HELPER = REPO_ROOT / "tests" / "_adk_helpers.py"
TURN_TIMEOUT = 60.0  # seconds; a turn takes about two (mostly importing ADK)
FIRST_MESSAGE = "my name is Ada, remember that I like tea"


async def run_turn_in_a_new_process(dsn: str, session_id: str, message: str) -> dict[str, Any]:
    """Run one Runner turn in a fresh Python process and return its JSON summary."""
    env = {**os.environ, "ADK_PG_DEMO_MODEL": "local"}  # never reach for Gemini in tests
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(HELPER),
        dsn,
        session_id,
        message,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=REPO_ROOT,
        env=env,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), TURN_TIMEOUT)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, err.decode(errors="replace")
    summary: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return summary


async def test_two_runners_in_two_processes_continue_one_session(
    db: str, admin: asyncpg.Connection
) -> None:
    """The second process sees the first one's history and state, and both are in the tables."""
    first = await run_turn_in_a_new_process(db, "shared", FIRST_MESSAGE)
    assert first["service"] == "PostgresSessionService"
    assert first["events_before"] == 0
    # user message, tool call, tool result, reply
    assert first["events_after"] == 4
    assert first["state"]["notes"] == [FIRST_MESSAGE]
    assert first["state"]["user:name"] == "Ada"
    assert first["state"]["user:visits"] == 1
    assert "Nice to meet you, Ada" in first["reply"]

    second = await run_turn_in_a_new_process(db, "shared", "what do you remember?")
    assert second["events_before"] == 4  # the first process's history, loaded from PostgreSQL
    assert second["events_after"] == 8
    assert second["state"]["notes"] == [FIRST_MESSAGE]
    assert second["state"]["user:visits"] == 2
    assert second["state"]["app:notes_saved"] == 1
    # The model answers from what the tool read back (state) and what the history holds.
    assert "Welcome back, Ada!" in second["reply"]
    assert FIRST_MESSAGE in second["reply"]
    assert "1 earlier message" in second["reply"]

    session = await admin.fetchrow(
        "SELECT state FROM adk.sessions WHERE app_name = $1 AND user_id = $2 AND id = $3",
        RUNNER_APP,
        RUNNER_USER,
        "shared",
    )
    assert session is not None
    assert session["state"] == {"notes": [FIRST_MESSAGE]}
    user_state = await admin.fetchval(
        "SELECT state FROM adk.user_states WHERE app_name = $1 AND user_id = $2",
        RUNNER_APP,
        RUNNER_USER,
    )
    assert user_state == {"name": "Ada", "visits": 2}
    authors = await admin.fetch(
        'SELECT author FROM adk.events WHERE session_id = $1 ORDER BY "timestamp", id', "shared"
    )
    assert [r["author"] for r in authors] == ["user", "demo_agent", "demo_agent", "demo_agent"] * 2
