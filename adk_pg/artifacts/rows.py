"""The artifact store's rows layer: one named query from ``sql/artifacts/`` per call.

Private to adk-pg: :class:`~adk_pg.artifacts.store.ArtifactStore` holds one. Its methods take
arguments the store has already checked (an :class:`ArtifactKey` comes only from
:func:`~adk_pg.artifacts.validate.artifact_key`), run exactly one statement as one reported
call (:class:`~adk_pg.db.database.Database`: a span, a duration, a log line) inside the error
translator, and return the rows as asyncpg gave them.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from adk_pg.artifacts.parts import Payload
from adk_pg.artifacts.queries import QUERIES
from adk_pg.artifacts.validate import ArtifactKey
from adk_pg.db.database import Database
from adk_pg.db.schema_name import DEFAULT_SCHEMA
from adk_pg.db.telemetry import Telemetry
from adk_pg.errors import translate_errors

__all__ = ["ArtifactRows"]

_TABLE = "artifact_versions"  # the table every call's span names (versions hold the data)


class ArtifactRows:
    """Artifact rows through raw SQL on an asyncpg pool the caller owns.

    ``acquire_timeout`` bounds the wait for a connection; calls are reported as
    ``telemetry`` says; ``schema`` is the schema the tables are in.

    Raises:
        TypeError: ``pool`` is not an asyncpg pool.
        InvalidArgumentError: ``telemetry`` is not a Telemetry.
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        acquire_timeout: float | None = None,
        telemetry: Telemetry | None = None,
        schema: str = DEFAULT_SCHEMA,
    ) -> None:
        self._db = Database(
            pool, acquire_timeout=acquire_timeout, telemetry=telemetry, schema=schema
        )
        self._queries = self._db.queries(QUERIES)
        self.pool = pool

    async def _fetchrow(
        self, operation: str, ids: tuple[str | None, str | None, str | None], sql: str, *args: Any
    ) -> asyncpg.Record | None:
        app_name, user_id, session_id = ids
        call = self._db.call(
            operation, _TABLE, session_id=session_id, app_name=app_name, user_id=user_id
        )
        async with call:
            return await call.fetchrow(sql, *args)

    async def _fetch(
        self, operation: str, ids: tuple[str | None, str | None, str | None], sql: str, *args: Any
    ) -> list[asyncpg.Record]:
        app_name, user_id, session_id = ids
        call = self._db.call(
            operation, _TABLE, session_id=session_id, app_name=app_name, user_id=user_id
        )
        async with call:
            return await call.fetch(sql, *args)

    async def save(self, key: ArtifactKey, payload: Payload, metadata: str) -> asyncpg.Record:
        """Insert the next version of ``key``: a row (version, create_time, stored).

        Raises:
            StorageError: the database failed; nothing was written.
        """
        with translate_errors(f"save_artifact {key.filename!r}"):
            row = await self._fetchrow(
                "save_artifact",
                _ids(key),
                self._queries.save_artifact.sql,
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
            rows = await self._fetch(
                "load_artifact", _ids(key), self._queries.load_artifact.sql, *_key(key), version
            )
        if not rows:
            return None
        first = rows[0]
        if len(rows) == 1:
            return first, first["chunk"]
        # The slices come in any order (see load_artifact.sql): put them in place.
        rows.sort(key=_slice_start)
        return first, b"".join([row["chunk"] for row in rows])

    async def version(self, key: ArtifactKey, version: int | None) -> asyncpg.Record | None:
        """One version's metadata (the latest when ``version`` is None), or None.

        Raises:
            StorageError: the database failed.
        """
        with translate_errors(f"get_artifact_version {key.filename!r}"):
            return await self._fetchrow(
                "get_artifact_version",
                _ids(key),
                self._queries.get_artifact_version.sql,
                *_key(key),
                version,
            )

    async def versions(self, key: ArtifactKey) -> list[asyncpg.Record]:
        """Every version's metadata, oldest first.

        Raises:
            StorageError: the database failed.
        """
        with translate_errors(f"list_artifact_versions {key.filename!r}"):
            return await self._fetch(
                "list_artifact_versions",
                _ids(key),
                self._queries.list_artifact_versions.sql,
                *_key(key),
            )

    async def version_numbers(self, key: ArtifactKey) -> list[int]:
        """The version numbers, ascending.

        Raises:
            StorageError: the database failed.
        """
        with translate_errors(f"list_versions {key.filename!r}"):
            row = await self._fetchrow(
                "list_versions", _ids(key), self._queries.list_versions.sql, *_key(key)
            )
        assert row is not None  # an aggregate without GROUP BY returns one row
        return list(row["versions"])

    async def keys(self, app_name: str, user_id: str, session_id: str | None) -> list[str]:
        """The names a session sees (user-scoped ones only when ``session_id`` is None).

        Raises:
            StorageError: the database failed.
        """
        with translate_errors(f"list_artifact_keys of user {user_id!r}"):
            row = await self._fetchrow(
                "list_artifact_keys",
                (app_name, user_id, session_id),
                self._queries.list_artifact_keys.sql,
                app_name,
                user_id,
                session_id,
            )
        assert row is not None  # an aggregate without GROUP BY returns one row
        return list(row["filenames"])

    async def delete(self, key: ArtifactKey) -> int:
        """Delete ``key`` with every version and byte; how many versions it had (0: none).

        Raises:
            StorageError: the database failed; nothing was deleted.
        """
        with translate_errors(f"delete_artifact {key.filename!r}"):
            row = await self._fetchrow(
                "delete_artifact", _ids(key), self._queries.delete_artifact.sql, *_key(key)
            )
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
                "delete_session_artifacts",
                (app_name, None, None),
                self._queries.delete_session_artifacts.sql,
                app_name,
                user_ids,
                session_ids,
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
                "list_artifacts",
                (app_name, user_id, session_id),
                self._queries.list_artifacts.sql,
                app_name,
                user_id,
                session_id,
                limit,
            )


def _key(key: ArtifactKey) -> tuple[str, str, str, str]:
    return key.app_name, key.user_id, key.session_id, key.filename


def _ids(key: ArtifactKey) -> tuple[str, str, str | None]:
    """The ids a call reports: a user-scoped artifact has no session."""
    return key.app_name, key.user_id, key.session_id or None


def _slice_start(row: asyncpg.Record) -> int:
    start: int = row["start"]
    return start
