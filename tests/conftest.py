"""The test harness: a real PostgreSQL, one throwaway database per run, clean tables per test.

PostgreSQL is found in this order, and the run stops loudly when none answers (never skips):
1. ``ADK_PG_TEST_DSN`` (any database on the server; the run creates its own next to it);
2. a Docker engine, through testcontainers, when one answers;
3. the local server at ``127.0.0.1:5432`` (user ``postgres``).

With ``ADK_PG_CITUS_DSN`` set (``make test-citus``), the run's database is made on every node
of that Citus cluster instead, migrated and distributed; tests marked ``single_server`` (what
Citus cannot do) are then skipped, and tests marked ``citus`` run (they are skipped otherwise).
"""

from __future__ import annotations

import asyncio
import gc
import os
import warnings
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest
from _citus import CITUS_DSN, HOW_TO_RUN, citus_database

from adk_pg.artifacts.store import ArtifactStore
from adk_pg.db.connection_hooks import init_connection
from adk_pg.db.pool import create_pool
from adk_pg.schema.admin import throwaway_database
from adk_pg.schema.citus import distribute
from adk_pg.schema.runner import migrate
from adk_pg.sessions.store import SessionStore

LOCAL_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
HOW_TO_START = """
No PostgreSQL answered, and the storage tests never run against anything else.
Start one of:
  * an existing server:  export ADK_PG_TEST_DSN=postgresql://user:pw@host:5432/postgres
  * Docker:              docker compose up -d   (testcontainers is used automatically)
  * a local server:      sudo apt-get install postgresql   (listening on 127.0.0.1:5432)
                         or: bash scripts/ensure-postgres.sh
"""


def _docker_answers() -> bool:
    import docker  # testcontainers' own dependency

    # A failed ping leaves docker's socket to the garbage collector, which would warn (and
    # warnings are errors here): collect it inside the probe, with that warning silenced.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            client = docker.from_env(timeout=2)
            try:
                return bool(client.ping())
            finally:
                client.close()
        except Exception:
            return False
        finally:
            gc.collect()


async def _answers(dsn: str) -> bool:
    try:
        conn = await asyncpg.connect(dsn, timeout=5)
    except (OSError, asyncpg.PostgresError, asyncio.TimeoutError):
        return False
    await conn.close()
    return True


@pytest.fixture(scope="session")
def server_dsn() -> Iterator[str]:
    """A DSN of the server's maintenance database, for creating throwaway databases."""
    configured = CITUS_DSN or os.environ.get("ADK_PG_TEST_DSN")
    if configured:
        if not asyncio.run(_answers(configured)):
            pytest.exit(f"ADK_PG_TEST_DSN is set but does not answer.{HOW_TO_START}", returncode=3)
        yield configured
        return
    if _docker_answers():
        from testcontainers.community.postgres import PostgresContainer

        with PostgresContainer("postgres:15", driver=None) as container:
            yield container.get_connection_url()
        return
    if asyncio.run(_answers(LOCAL_DSN)):
        yield LOCAL_DSN
        return
    pytest.exit(HOW_TO_START, returncode=3)


@pytest.fixture(scope="session")
async def dsn(server_dsn: str) -> AsyncIterator[str]:
    """The run's own database, migrated by the real runner (and on Citus distributed), dropped
    at the end."""
    if CITUS_DSN:
        async with citus_database(server_dsn, "adk_pg_test") as database:
            await migrate(database)
            await distribute(database)
            yield database
        return
    async with throwaway_database(server_dsn, "adk_pg_test") as database:
        await migrate(database)
        yield database


@pytest.fixture(scope="session")
async def admin(dsn: str) -> AsyncIterator[asyncpg.Connection]:
    """One plain connection to the run's database, for reading tables back."""
    conn = await asyncpg.connect(dsn)
    await init_connection(conn)  # the same jsonb codec as the pool's
    yield conn
    await conn.close()


@pytest.fixture(scope="session")
async def change_feed(dsn: str, admin: asyncpg.Connection) -> str:
    """The run's database with the change feed on for its new connections (migration 0012)."""
    await admin.execute("SELECT set_config('adk_pg.change_feed', 'on', false)")
    name = await admin.fetchval("SELECT current_database()")
    await admin.execute(f'ALTER DATABASE "{name}" SET adk_pg.change_feed = on')
    return dsn


@pytest.fixture
async def db(dsn: str, admin: asyncpg.Connection) -> str:
    """The run's database with every adk table emptied: the start of each storage test."""
    if CITUS_DSN:
        # A TRUNCATE takes every shard's lock on every node; the few rows a test leaves go
        # faster by DELETE.
        for table in ("sessions", "app_states", "user_states", "memories", "artifacts"):
            await admin.execute(f"DELETE FROM adk.{table}")
        return dsn
    await admin.execute(
        "TRUNCATE adk.events, adk.sessions, adk.app_states, adk.user_states, adk.memories"
    )
    await admin.execute("TRUNCATE adk.artifact_versions, adk.artifact_contents, adk.artifacts")
    return dsn


@pytest.fixture
async def pool(db: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool built by adk-pg's own ``create_pool`` on the run's database."""
    p = await create_pool(db, pool_size=4, max_overflow=4)
    yield p
    await p.close()


@pytest.fixture
async def store(pool: asyncpg.Pool) -> SessionStore:
    """A SessionStore on the test pool (the pool fixture owns and closes the pool)."""
    return SessionStore(pool)


@pytest.fixture
async def artifact_store(pool: asyncpg.Pool) -> ArtifactStore:
    """An ArtifactStore on the test pool (the pool fixture owns and closes the pool)."""
    return ArtifactStore(pool)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "citus: runs only against a Citus cluster")
    config.addinivalue_line(
        "markers", "single_server(reason): a feature of one PostgreSQL server, not of Citus"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if not CITUS_DSN and item.get_closest_marker("citus"):
            item.add_marker(pytest.mark.skip(reason=HOW_TO_RUN))
        marker = item.get_closest_marker("single_server")
        if CITUS_DSN and marker:
            item.add_marker(pytest.mark.skip(reason=f"not on Citus: {marker.args[0]}"))
