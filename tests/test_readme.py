"""Every Python snippet in README.md runs as pasted, and passes ``mypy --strict``.

A newcomer pastes these first: each block is written to a file as it stands and run by the
same interpreter against the test database (named by ``ADK_PG_DSN``, which the snippets read,
as adk-pg's tools do), then type-checked with the project's mypy settings.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

import pytest
from _dbutil import REPO_ROOT
from mypy import api as mypy_api

SNIPPET = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def snippets() -> list[str]:
    return SNIPPET.findall((REPO_ROOT / "README.md").read_text(encoding="utf-8"))


def test_the_readme_has_python_snippets() -> None:
    assert len(snippets()) >= 2


@pytest.mark.parametrize(
    "index",
    [
        pytest.param(i, marks=pytest.mark.single_server("the change feed snippet"))
        if "watch" in snippet
        else i
        for i, snippet in enumerate(snippets())
    ],
)
async def test_each_readme_snippet_runs_as_pasted(db: str, tmp_path: Path, index: int) -> None:
    path = tmp_path / f"snippet_{index}.py"
    path.write_text(snippets()[index], encoding="utf-8")
    env = {**os.environ, "ADK_PG_DSN": db}
    done = await asyncio.create_subprocess_exec(
        sys.executable,
        str(path),
        cwd=tmp_path,  # as a stranger would: not from inside the repository
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _out, err = await asyncio.wait_for(done.communicate(), timeout=120)
    assert done.returncode == 0, err.decode()
    assert "Traceback" not in err.decode()


def test_every_readme_snippet_passes_mypy_strict(tmp_path: Path) -> None:
    paths = []
    for index, code in enumerate(snippets()):
        path = tmp_path / f"snippet_{index}.py"
        path.write_text(code, encoding="utf-8")
        paths.append(str(path))
    out, err, status = mypy_api.run(
        [
            "--strict",
            "--config-file",
            str(REPO_ROOT / "pyproject.toml"),
            "--cache-dir",
            str(REPO_ROOT / ".mypy_cache"),
            *paths,
        ]
    )
    assert status == 0, out + err
