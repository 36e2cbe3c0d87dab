"""``python -m adk_pg migrate`` as an operator runs it: a real subprocess on a real server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
from _cli import adk_pg
from _dbutil import random_name

from adk_pg.db.dsn import with_database
from adk_pg.schema.admin import drop_database, throwaway_database
from adk_pg.schema.files import load_migrations

SECRET = "Hunter2-s3cret"
UNREACHABLE = f"postgresql://postgres:{SECRET}@127.0.0.1:1/adk_sessions"


@pytest.fixture
async def empty_dsn(server_dsn: str) -> AsyncIterator[str]:
    """A brand-new empty database of its own, dropped WITH (FORCE) after the test."""
    async with throwaway_database(server_dsn) as dsn:
        yield dsn


async def test_check_then_migrate_then_check(empty_dsn: str) -> None:
    labels = [m.label for m in load_migrations()]
    before = await adk_pg("migrate", "--dsn", empty_dsn, "--check")
    assert before.code == 1, before
    assert [f"pending {label}" for label in labels] == before.out.splitlines()[:-1]
    assert "run `adk-pg migrate`" in before.out

    applied = await adk_pg("migrate", "--dsn", empty_dsn)
    assert applied.code == 0, applied
    lines = applied.out.splitlines()
    assert [line.split(" (")[0] for line in lines[:-1]] == [f"applied {x} to adk" for x in labels]
    assert lines[-1] == f"schema is current (version {len(labels)})"

    after = await adk_pg("migrate", "--dsn", empty_dsn, "--check")
    assert (after.code, after.out, after.err) == (
        0,
        f"schema is current (version {len(labels)})\n",
        "",
    )
    again = await adk_pg("migrate", "--dsn", empty_dsn)
    assert (again.code, again.out) == (0, f"schema is current (version {len(labels)})\n")


async def test_pool_options_in_the_dsn_do_not_break_the_runner(empty_dsn: str) -> None:
    # The DSN an application shares with its own pool; the runner's pool of one wins.
    dsn = f"{empty_dsn}?pool_size=5&max_overflow=2&pool_recycle=60&pool_timeout=3"
    created = await adk_pg("migrate", "--create-database", "--check", "--dsn", dsn)
    assert created.code == 1, created
    applied = await adk_pg("migrate", "--dsn", dsn)
    assert applied.code == 0, applied
    status = await adk_pg("status", "--dsn", dsn)
    assert status.code == 0, status
    assert "current" in status.out


async def test_dsn_comes_from_adk_pg_dsn_then_postgres_url(empty_dsn: str) -> None:
    # ADK_PG_DSN wins over POSTGRES_URL; the unreachable one would exit 3.
    first = await adk_pg(
        "migrate", "--check", env={"ADK_PG_DSN": empty_dsn, "POSTGRES_URL": UNREACHABLE}
    )
    assert first.code == 1, first
    second = await adk_pg("migrate", env={"POSTGRES_URL": empty_dsn})
    assert second.code == 0, second
    # --dsn wins over both.
    third = await adk_pg("migrate", "--check", "--dsn", empty_dsn, env={"ADK_PG_DSN": UNREACHABLE})
    assert third.code == 0, third


async def test_create_database_creates_it_and_says_so(server_dsn: str) -> None:
    name = random_name("adk_pg_cli")
    dsn = with_database(server_dsn, name)
    try:
        first = await adk_pg("migrate", "--dsn", dsn, "--create-database")
        assert first.code == 0, first
        assert first.out.splitlines()[0] == f"created database {name}"
        assert "applied 0001_initial_schema" in first.out
        conn = await asyncpg.connect(dsn)
        await conn.close()
        second = await adk_pg("migrate", "--dsn", dsn, "--create-database")
        assert second.code == 0, second
        assert "created" not in second.out
    finally:
        await drop_database(with_database(server_dsn, name))


async def test_missing_database_hints_at_create_database(server_dsn: str) -> None:
    result = await adk_pg("migrate", "--dsn", with_database(server_dsn, random_name("adk_no")))
    assert result.code == 3, result
    assert "--create-database" in result.err


@pytest.mark.parametrize(
    ("dsn", "code"),
    [
        (UNREACHABLE, 3),
        (f"postgresql://postgres:{SECRET}@127.0.0.1:1/db?sslmode=disable", 3),
        (f"postgresql://postgres@127.0.0.1:1/db?password={SECRET}", 3),
        (f"postgresql+asyncpg://postgres:{SECRET}%40x@127.0.0.1:1/db", 3),
        (f"mysql://root:{SECRET}@127.0.0.1:1/db", 2),
        (f"postgresql://postgres:{SECRET}@127.0.0.1:1/db?pool_size=nope", 2),
    ],
)
async def test_errors_are_one_line_without_the_password(dsn: str, code: int) -> None:
    for args in (["--dsn", dsn], ["--dsn", dsn, "--check"], ["--dsn", dsn, "--create-database"]):
        result = await adk_pg("migrate", *args)
        assert result.code == code, result
        assert SECRET not in result.out + result.err
        assert result.out == ""
        assert len(result.err.splitlines()) == 1, result.err
        assert result.err.startswith("adk-pg migrate: error: ")
        assert "Traceback" not in result.err


@pytest.mark.parametrize("args", [[], ["migrate", "--bogus"], ["nope"]])
async def test_usage_errors_exit_2(args: list[str]) -> None:
    result = await adk_pg(*args, env={"ADK_PG_DSN": UNREACHABLE})
    assert result.code == 2, result
    assert "usage: adk-pg" in result.err
