"""A real ADK Runner: a tool saves artifacts in one process, another process loads them.

``tests/_artifact_agent.py`` runs one turn per process, with PostgresSessionService and
PostgresArtifactService sharing one pool; the second turn runs after the first process exited.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

import asyncpg
from _dbutil import REPO_ROOT

HELPER = REPO_ROOT / "tests" / "_artifact_agent.py"
TURN_TIMEOUT = 60.0


async def turn_in_a_new_process(dsn: str, session_id: str, message: str) -> dict[str, Any]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(HELPER),
        dsn,
        session_id,
        message,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=REPO_ROOT,
        env=dict(os.environ),
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


async def test_a_tool_saves_in_turn_one_and_loads_in_turn_two_after_a_restart(
    db: str, admin: asyncpg.Connection
) -> None:
    first = await turn_in_a_new_process(db, "s1", "save Quarterly numbers: up 4%")
    assert first["reply"] == {"chart_version": 0, "report_version": 0}
    # ToolContext.save_artifact records each version in the tool's event.
    assert first["artifact_deltas"] == [{"report.txt": 0, "user:chart.bin": 0}]

    second = await turn_in_a_new_process(db, "s1", "what did you save?")
    assert second["reply"] == {
        "chart_intact": True,
        "keys": ["report.txt", "user:chart.bin"],
        "report": "Quarterly numbers: up 4%",
    }
    # Another session of the same user sees the user-scoped chart, not the session's report.
    other = await turn_in_a_new_process(db, "s2", "what did you save?")
    assert other["reply"] == {"chart_intact": True, "keys": ["user:chart.bin"], "report": None}

    rows = await admin.fetch(
        "SELECT session_id, filename, latest_version, mime_type, size"
        " FROM adk.artifact_overview ORDER BY filename"
    )
    assert [tuple(r) for r in rows] == [
        ("s1", "report.txt", 0, "text/plain", len("Quarterly numbers: up 4%")),
        (None, "user:chart.bin", 0, "application/octet-stream", 256),
    ]
