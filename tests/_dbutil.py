"""Helpers for the migration tests: copies of the migration files, the ledger as rows.

Throwaway databases come from the product itself (:func:`adk_pg.schema.admin.throwaway_database`):
each is dropped WITH (FORCE) at the end, whatever the test left connected.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import asyncpg

from adk_pg.db.paths import resource_dir

REPO_ROOT = Path(__file__).resolve().parent.parent


def random_name(prefix: str) -> str:
    """A fresh identifier such as ``adk_pg_mig_1a2b3c4d5e6f``."""
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


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
