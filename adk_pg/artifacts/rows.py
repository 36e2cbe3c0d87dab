"""The artifact store's rows layer: one named query from ``sql/artifacts/`` per call.

Private to adk-pg: :class:`~adk_pg.artifacts.store.ArtifactStore` holds one. Its methods take
arguments the store has already checked (an :class:`ArtifactKey` comes only from
:func:`~adk_pg.artifacts.validate.artifact_key`), run exactly one statement inside the error
translator, and return the rows as asyncpg gave them.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from adk_pg.artifacts.parts import Payload
from adk_pg.artifacts.queries import QUERIES
from adk_pg.artifacts.validate import ArtifactKey
from adk_pg.errors import translate_errors

__all__ = ["ArtifactRows"]


class ArtifactRows:
    """Artifact rows through raw SQL on an asyncpg pool the caller owns.

    ``acquire_timeout`` bounds the wait for a connection.
    """

    def __init__(self, pool: asyncpg.Pool, *, acquire_timeout: float | None = None) -> None:
        if not isinstance(pool, asyncpg.Pool):
            raise TypeError(f"adk-pg needs an asyncpg.Pool, not {type(pool).__name__}")
        self.pool = pool
        self._acquire_timeout = acquire_timeout

    async def _fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        async with self.pool.acquire(timeout=self._acquire_timeout) as conn:
            return await conn.fetchrow(sql, *args)

    async def _fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        async with self.pool.acquire(timeout=self._acquire_timeout) as conn:
            return await conn.fetch(sql, *args)

    async def save(self, key: ArtifactKey, payload: Payload, metadata: str) -> asyncpg.Record:
        """Insert the next version of ``key``: a row (version, create_time, stored).

        Raises:
            StorageError: the database failed; nothing was written.
        """
        with translate_errors(f"save_artifact {key.filename!r}"):
            row = await self._fetchrow(
                QUERIES.save_artifact.sql,
                *_key(key),
                payload.kind,
                payload.mime_type,
                payload.part_json,
                metadata,
                payload.data,
                payload.sha256,
            )
        assert row is not None  # the INSERT ... RETURNING always returns its row
        return row

    async def load(
        self, key: ArtifactKey, version: int | None
    ) -> tuple[asyncpg.Record, bytes | None] | None:
        """One version of ``key`` (the latest when ``version`` is None) and its bytes, or None.

        Raises:
            StorageError: the database failed.
        """
        with translate_errors(f"load_artifact {key.filename!r}"):
            rows = await self._fetch(QUERIES.load_artifact.sql, *_key(key), version)
        if not rows:
            return None
        first = rows[0]
        if len(rows) == 1:
            return first, first["chunk"]
        return first, b"".join([row["chunk"] for row in rows])

    async def version(self, key: ArtifactKey, version: int | None) -> asyncpg.Record | None:
        """One version's metadata (the latest when ``version`` is None), or None.

        Raises:
            StorageError: the database failed.
        """
        with translate_errors(f"get_artifact_version {key.filename!r}"):
            return await self._fetchrow(QUERIES.get_artifact_version.sql, *_key(key), version)

    async def versions(self, key: ArtifactKey) -> list[asyncpg.Record]:
        """Every version's metadata, oldest first.

        Raises:
            StorageError: the database failed.
        """
        with translate_errors(f"list_artifact_versions {key.filename!r}"):
            return await self._fetch(QUERIES.list_artifact_versions.sql, *_key(key))

    async def version_numbers(self, key: ArtifactKey) -> list[int]:
        """The version numbers, ascending.

        Raises:
            StorageError: the database failed.
        """
        with translate_errors(f"list_versions {key.filename!r}"):
            row = await self._fetchrow(QUERIES.list_versions.sql, *_key(key))
        assert row is not None  # an aggregate without GROUP BY returns one row
        return list(row["versions"])

    async def keys(self, app_name: str, user_id: str, session_id: str | None) -> list[str]:
        """The names a session sees (user-scoped ones only when ``session_id`` is None).

        Raises:
            StorageError: the database failed.
        """
        with translate_errors(f"list_artifact_keys of user {user_id!r}"):
            row = await self._fetchrow(
                QUERIES.list_artifact_keys.sql, app_name, user_id, session_id
            )
        assert row is not None  # an aggregate without GROUP BY returns one row
        return list(row["filenames"])

    async def delete(self, key: ArtifactKey) -> int:
        """Delete ``key`` with every version and byte; how many versions it had (0: none).

        Raises:
            StorageError: the database failed; nothing was deleted.
        """
        with translate_errors(f"delete_artifact {key.filename!r}"):
            row = await self._fetchrow(QUERIES.delete_artifact.sql, *_key(key))
        return 0 if row is None else int(row["versions"])

    async def delete_sessions(
        self, app_name: str, user_ids: list[str], session_ids: list[str]
    ) -> asyncpg.Record:
        """Delete the session-scoped artifacts of these sessions: (artifacts, versions, bytes).

        Raises:
            StorageError: the database failed; nothing was deleted.
        """
        with translate_errors(f"delete the artifacts of {len(session_ids)} sessions"):
            row = await self._fetchrow(
                QUERIES.delete_session_artifacts.sql, app_name, user_ids, session_ids
            )
        assert row is not None  # no FROM at the top: always one row
        return row

    async def summaries(
        self, app_name: str | None, user_id: str | None, session_id: str | None, limit: int
    ) -> list[asyncpg.Record]:
        """Artifacts, most recently saved first, with their latest version.

        Raises:
            StorageError: the database failed.
        """
        with translate_errors("list artifacts"):
            return await self._fetch(
                QUERIES.list_artifacts.sql, app_name, user_id, session_id, limit
            )


def _key(key: ArtifactKey) -> tuple[str, str, str, str]:
    return key.app_name, key.user_id, key.session_id, key.filename
