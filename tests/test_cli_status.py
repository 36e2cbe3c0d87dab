"""``adk-pg status`` and the ``--help`` of every command, run as real commands."""

from __future__ import annotations

import asyncio
import json
import time
from importlib import metadata

import asyncpg
import pytest
from _cli import adk_pg, fill, run_main

import adk_pg as adk_pg_package
from adk_pg.cli import build_parser, main
from adk_pg.db.pool_options import DEFAULT_CONNECT_TIMEOUT, pool_config
from adk_pg.schema.admin import throwaway_database
from adk_pg.schema.files import load_migrations
from adk_pg.sessions.store import SessionStore

LABELS = [m.label for m in load_migrations()]
COMMANDS = [
    ["migrate"],
    ["status"],
    ["sessions"],
    ["sessions", "list"],
    ["sessions", "show"],
    ["export"],
    ["import"],
    ["import-adk"],
    ["prune"],
    ["doctor"],
]


async def test_status_counts_everything(
    store: SessionStore, db: str, admin: asyncpg.Connection
) -> None:
    await fill(store)
    human = await adk_pg("status", "--dsn", db)
    as_json = await run_main("status", "--dsn", db, "--json")
    assert human.code == 0, human
    lines = dict(line.split(None, 1) for line in human.out.splitlines())
    assert lines["schema"] == f"adk: version {len(LABELS)}, current"
    assert (lines["sessions"], lines["events"], lines["users"], lines["apps"]) == (
        "3",
        "5",
        "3",
        "2",
    )
    assert (lines["memories"], lines["artifacts"]) == ("0", "0")
    assert "events" in lines["size"]
    assert "kB" in lines["size"]
    report = json.loads(as_json.out)
    assert as_json.code == 0, as_json
    assert report["schema_version"] == len(LABELS)
    assert report["schema_current"] is True
    assert report["pending_migrations"] == []
    assert (report["sessions"], report["events"], report["users"], report["apps"]) == (3, 5, 3, 2)
    # Every table of the schema is measured.
    tables = await admin.fetch(
        "SELECT tablename FROM pg_catalog.pg_tables WHERE schemaname = 'adk'"
    )
    assert set(report["table_bytes"]) == {t["tablename"] for t in tables}
    assert report["total_bytes"] == sum(report["table_bytes"].values()) > 0


async def test_status_with_pool_options_in_the_dsn(db: str) -> None:
    # The CLI's own two-connection pool overrides the application's sizes.
    result = await run_main("status", "--dsn", f"{db}?pool_size=5&max_overflow=20")
    assert result.code == 0, result
    assert f"version {len(LABELS)}, current" in result.out


async def test_status_of_an_unmigrated_database_exits_1(server_dsn: str) -> None:
    secret = "Pw-n0t-shown"
    async with throwaway_database(server_dsn) as empty:
        with_password = empty.replace("postgres@", f"postgres:{secret}@", 1)
        human = await run_main("status", "--dsn", with_password)
        as_json = await adk_pg("status", "--json", env={"ADK_PG_DSN": empty})
    assert human.code == 1, human
    assert secret not in human.out + human.err
    assert f"version 0, {len(LABELS)} pending migrations: run `adk-pg migrate`" in human.out
    assert [f"pending {label}" for label in LABELS] == [
        line.split(None, 0)[0].strip() for line in human.out.splitlines()[2:]
    ]
    assert "sessions" not in human.out
    report = json.loads(as_json.out)
    assert as_json.code == 1
    assert report["pending_migrations"] == LABELS
    assert report["sessions"] is None


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    for command in COMMANDS:
        with pytest.raises(SystemExit) as exited:
            main([*command, "--help"])
        assert exited.value.code == 0
        out = capsys.readouterr().out
        assert out.startswith(f"usage: adk-pg {' '.join(command)}"), out
        assert "Exit codes" in " ".join(out.split()) or command == ["sessions"], out
    help_text = build_parser().format_help()
    for name in (
        "migrate",
        "status",
        "sessions",
        "export",
        "import",
        "import-adk",
        "prune",
        "doctor",
    ):
        assert name in help_text


async def test_version_and_the_dsn_before_or_after_the_command(db: str) -> None:
    version = await adk_pg("--version")
    assert (version.code, version.out) == (0, f"adk-pg {adk_pg_package.__version__}\n")
    assert metadata.version("adk-pg") == adk_pg_package.__version__
    before = await run_main("--dsn", db, "status", "--json")
    after = await run_main("status", "--dsn", db, "--json")
    assert before.code == after.code == 0, (before, after)
    assert json.loads(before.out)["schema_current"] is True
    # Given twice, the command's own --dsn wins (the nearest to what it configures).
    both = await run_main("--dsn", "postgresql://nobody@127.0.0.1:1/x", "status", "--dsn", db)
    assert both.code == 0, both


async def test_a_server_that_never_answers_times_out(db: str) -> None:
    # Accepts the connection, then says nothing: without a timeout a client waits 60 s.
    accepted: list[asyncio.StreamWriter] = []

    async def say_nothing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)

    silent = await asyncio.start_server(say_nothing, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    try:
        started = time.monotonic()
        result = await run_main(
            "status", "--timeout", "0.5", "--dsn", f"postgresql://u@127.0.0.1:{port}/x"
        )
        elapsed = time.monotonic() - started
    finally:
        for writer in accepted:
            writer.close()
        silent.close()
        await silent.wait_closed()
    assert result.code == 3, result
    assert "timed out" in result.err
    assert elapsed < DEFAULT_CONNECT_TIMEOUT  # the option, not the default, decided
    assert pool_config(db).pool_kwargs["timeout"] == DEFAULT_CONNECT_TIMEOUT == 10.0
    bad = await run_main("status", "--timeout", "soon", "--dsn", db)
    assert bad.code == 2
