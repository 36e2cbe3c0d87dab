"""The least-privilege runtime role: ``scripts/grant-runtime-role.sql`` run through psql."""

from __future__ import annotations

import asyncio
import glob
import shutil

import pytest
from _dbutil import REPO_ROOT


def psql_binary() -> str:
    """psql from PATH, else from the newest server installation; fails the test without one."""
    found = shutil.which("psql") or next(
        iter(sorted(glob.glob("/usr/lib/postgresql/*/bin/psql"), reverse=True)), None
    )
    if found is None:
        pytest.fail(
            "psql is needed to run scripts/grant-runtime-role.sql: "
            "sudo apt-get install -y postgresql-client"
        )
    return found


async def run_grant_script(dsn: str, *variables: str) -> tuple[int, str]:
    """Run the grant script on ``dsn`` with psql ``-v`` variables; (exit code, output)."""
    argv = [psql_binary(), dsn, "-X", "-q", "-v", "ON_ERROR_STOP=1"]
    for variable in variables:
        argv += ["-v", variable]
    argv += ["-f", str(REPO_ROOT / "scripts" / "grant-runtime-role.sql")]
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=30)
    assert proc.returncode is not None
    return proc.returncode, out.decode()
