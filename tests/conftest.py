"""The test harness: a real PostgreSQL, one throwaway database per run, clean tables per test.

PostgreSQL is found in this order, and the run stops loudly when none answers (never skips):
1. ``ADK_PG_TEST_DSN`` (any database on the server; the run creates its own next to it);
2. a Docker engine, through testcontainers, when one answers;
3. the local server at ``127.0.0.1:5432`` (user ``postgres``).
"""

from __future__ import annotations

import asyncio
import gc
import os
import warnings
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest

from adk_pg.artifacts.store import ArtifactStore
from adk_pg.db.pool import create_pool
from adk_pg.db.pool_options import init_connection
from adk_pg.schema.admin import throwaway_database
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
    configured = os.environ.get("ADK_PG_TEST_DSN")
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
    """The run's own database, migrated by the real runner, dropped at the end."""
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
