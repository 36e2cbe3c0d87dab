"""Throwaway databases on the test server, and helpers for the migration tests.

The run's shared database (conftest.py) and the migration tests' *empty* ones are made here;
each is dropped WITH (FORCE) at the end, whatever the test left connected.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg

from adk_pg.dbadmin import quote_ident
from adk_pg.paths import resource_dir

REPO_ROOT = Path(__file__).resolve().parent.parent


def random_name(prefix: str) -> str:
    """A fresh identifier such as ``adk_pg_mig_1a2b3c4d5e6f``."""
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def with_database(dsn: str, database: str, *, user: str = "", password: str = "") -> str:
    """Return ``dsn`` pointing at ``database``, as ``user``:``password`` when a user is given."""
    parts = urlsplit(dsn)
    netloc = parts.netloc
    if user:
        login = quote(user, safe="") + (":" + quote(password, safe="") if password else "")
        netloc = f"{login}@{netloc.rpartition('@')[2]}"
    return urlunsplit(parts._replace(netloc=netloc, path="/" + quote(database, safe="")))


async def create_database(server_dsn: str, name: str) -> str:
    """Create the empty database ``name`` on the server of ``server_dsn``; return its DSN."""
    conn = await asyncpg.connect(server_dsn)
    try:
        await conn.execute(f"CREATE DATABASE {quote_ident(name)}")
    finally:
        await conn.close()
    return with_database(server_dsn, name)


async def drop_database(server_dsn: str, name: str) -> None:
    """Drop database ``name`` if it exists, disconnecting whoever still uses it."""
    conn = await asyncpg.connect(server_dsn)
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {quote_ident(name)} WITH (FORCE)")
    finally:
        await conn.close()


@asynccontextmanager
async def temp_database(server_dsn: str) -> AsyncIterator[str]:
    """Create an empty database with a random name, yield its DSN, drop it afterwards."""
    name = random_name("adk_pg_mig")
    dsn = await create_database(server_dsn, name)
    try:
        yield dsn
    finally:
        await drop_database(server_dsn, name)


def copy_migrations(target: Path) -> Path:
    """Copy the bundled migration files into ``target`` (a temp dir tests may edit)."""
    target.mkdir(parents=True, exist_ok=True)
    for path in sorted(resource_dir("migrations").glob("*.sql")):
        shutil.copy(path, target / path.name)
    return target


def next_migration(directory: Path, name: str) -> str:
    """The file name of the migration that would come after those in ``directory``."""
    return f"{len(list(directory.glob('*.sql'))) + 1:04d}_{name}.sql"


BUNDLED = len(list(resource_dir("migrations").glob("*.sql")))


async def ledger(dsn: str) -> list[tuple[int, str, str]]:
    """The rows of adk.schema_migrations as (version, name, checksum), in order."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT version, name, checksum FROM adk.schema_migrations ORDER BY version"
        )
    finally:
        await conn.close()
    return [(r["version"], r["name"], r["checksum"]) for r in rows]
