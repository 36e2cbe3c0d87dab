"""The migration ledger ``adk.schema_migrations``: creating, reading and comparing it.

A row per applied ``migrations/NNNN_name.sql`` file, with the sha256 of its bytes. Comparing
the ledger with the files says what is pending, what was edited after it was applied, and
whether the database is newer than this code. With :mod:`adk_pg.schema.runner`, the one
place outside ``sql/`` that keeps SQL text: bootstrap and bookkeeping, not product queries.
The text names schema ``adk``, rewritten by :func:`adk_pg.db.schema_name.in_schema` for the
schema in use: each schema has its own ledger.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from adk_pg.db.schema_name import DEFAULT_SCHEMA, in_schema
from adk_pg.errors import MigrationError, translate_errors
from adk_pg.schema.files import Migration

__all__ = [
    "SQL_CREATE_LEDGER",
    "SQL_CREATE_SCHEMA",
    "SQL_INSERT_LEDGER",
    "MigrationStatus",
    "compare",
    "read_ledger",
    "refuse_drift",
]

Conn: TypeAlias = "asyncpg.Connection | PoolConnectionProxy"

# Read-only and readable by any role: the catalogs, not the ledger that may not exist yet.
_SQL_LEDGER_EXISTS = """
SELECT
    EXISTS (SELECT FROM pg_catalog.pg_namespace WHERE nspname = 'adk') AS has_schema,
    EXISTS (
        SELECT FROM pg_catalog.pg_class AS c
        JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
        WHERE n.nspname = 'adk' AND c.relname = 'schema_migrations'
    ) AS has_ledger"""
_SQL_SELECT_LEDGER = "SELECT version, checksum FROM adk.schema_migrations ORDER BY version"
# Issued only when the schema is missing: even IF NOT EXISTS needs CREATE on the database.
SQL_CREATE_SCHEMA = "CREATE SCHEMA IF NOT EXISTS adk"
SQL_CREATE_LEDGER = """
CREATE TABLE IF NOT EXISTS adk.schema_migrations (
    version    integer     NOT NULL,
    name       text        NOT NULL,
    checksum   text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT schema_migrations_pkey PRIMARY KEY (version),
    CONSTRAINT schema_migrations_version_positive CHECK (version > 0),
    CONSTRAINT schema_migrations_checksum_is_sha256 CHECK (checksum ~ '^[0-9a-f]{64}$')
);
COMMENT ON TABLE adk.schema_migrations IS
    'The adk-pg migration ledger: one row per applied migrations/NNNN_name.sql file.';
COMMENT ON COLUMN adk.schema_migrations.version IS 'The file''s number (NNNN).';
COMMENT ON COLUMN adk.schema_migrations.name IS 'The file''s name after the number, no .sql.';
COMMENT ON COLUMN adk.schema_migrations.checksum IS
    'sha256 (hex) of the file''s bytes; adk-pg refuses to run if an applied file changed.';
COMMENT ON COLUMN adk.schema_migrations.applied_at IS 'When the migration was applied.';
"""
SQL_INSERT_LEDGER = (
    "INSERT INTO adk.schema_migrations (version, name, checksum) VALUES ($1, $2, $3)"
)


@dataclass(frozen=True)
class MigrationStatus:
    """How the database's ledger compares with the migration files.

    ``modified`` are applied files whose bytes changed; ``unknown_versions`` are applied in the
    database but have no file (the database is newer than this code).
    """

    current_version: int
    pending: list[Migration]
    modified: list[Migration]
    unknown_versions: list[int]

    @property
    def is_current(self) -> bool:
        """True when nothing is pending, modified or unknown."""
        return not (self.pending or self.modified or self.unknown_versions)


async def read_ledger(
    conn: Conn, schema: str = DEFAULT_SCHEMA
) -> tuple[bool, bool, dict[int, str]]:
    """Return (the schema exists, its ledger exists, {applied version: checksum}).

    Raises:
        StorageError: the database could not be read.
    """
    with translate_errors("read the migration ledger"):
        # No FROM: always exactly one row.
        exists = (await conn.fetch(in_schema(_SQL_LEDGER_EXISTS, schema)))[0]
        select = in_schema(_SQL_SELECT_LEDGER, schema)
        rows = await conn.fetch(select) if exists["has_ledger"] else []
    applied = {int(row["version"]): str(row["checksum"]) for row in rows}
    return bool(exists["has_schema"]), bool(exists["has_ledger"]), applied


def compare(migrations: list[Migration], applied: dict[int, str]) -> MigrationStatus:
    """Compare the ledger's {version: checksum} with the migration files."""
    return MigrationStatus(
        current_version=max(applied, default=0),
        pending=[m for m in migrations if m.version not in applied],
        modified=[m for m in migrations if applied.get(m.version, m.checksum) != m.checksum],
        unknown_versions=sorted(set(applied) - {m.version for m in migrations}),
    )


def refuse_drift(status: MigrationStatus, schema: str = DEFAULT_SCHEMA) -> None:
    """Raise if the ledger disagrees with the files in a way applying cannot fix.

    Raises:
        MigrationError: an edited applied file, a version with no file, or a ledger hole.
    """
    if status.modified:
        names = ", ".join(m.path.name for m in status.modified)
        raise MigrationError(
            f"applied migration {names} was edited after it was applied (its sha256 differs "
            f"from {schema}.schema_migrations); restore the file and add a new migration "
            "instead"
        )
    if status.unknown_versions:
        versions = ", ".join(f"{v:04d}" for v in status.unknown_versions)
        raise MigrationError(
            f"the database has migration {versions} applied but this adk-pg has no such file: "
            "the database is newer than this code; upgrade adk-pg"
        )
    if status.pending and status.pending[0].version <= status.current_version:
        raise MigrationError(
            f"migration {status.pending[0].path.name} is not applied but a later one is: "
            f"{schema}.schema_migrations was edited by hand"
        )
