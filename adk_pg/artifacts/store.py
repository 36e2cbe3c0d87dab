"""The repository: ``ArtifactStore``, ADK's artifact operations on adk-pg's models.

The core API for asyncio code without ADK (``adk_pg.adk.PostgresArtifactService`` is built on
it). Each method checks its arguments, runs one statement through the private rows layer
(:class:`~adk_pg.artifacts.rows.ArtifactRows`), and builds models from the rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import TracebackType
from typing import Any

import asyncpg
import pydantic_core

from adk_pg.artifacts import records, validate
from adk_pg.artifacts.models import (
    Artifact,
    ArtifactSummary,
    ArtifactVersionInfo,
    DeletedArtifacts,
)
from adk_pg.artifacts.parts import join_part, metadata_json, split_part
from adk_pg.artifacts.rows import ArtifactRows
from adk_pg.artifacts.validate import DEFAULT_MAX_ARTIFACT_BYTES
from adk_pg.db.schema_name import DEFAULT_SCHEMA
from adk_pg.db.telemetry import Telemetry, check_telemetry
from adk_pg.errors import InvalidArgumentError
from adk_pg.schema.connect import open_pool

__all__ = ["ArtifactStore"]


class ArtifactStore:
    """Versioned artifacts (the files ADK agents save) in PostgreSQL.

    ``ArtifactStore(pool)`` uses a pool the caller owns (and never closes);
    ``await ArtifactStore.connect(dsn, **pool_options)`` builds a pool the store closes.
    ``max_artifact_bytes`` (default 64 MiB) bounds one version's payload. Every call is
    reported as ``telemetry`` says (:class:`~adk_pg.Telemetry`), as the session store's are;
    ``schema`` is the schema the tables are in, as for the session store.

    Raises:
        TypeError: ``pool`` is not an asyncpg pool.
        InvalidArgumentError: a bad ``max_artifact_bytes``, or a ``telemetry`` that is not a
            Telemetry.
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        acquire_timeout: float | None = None,
        max_artifact_bytes: int = DEFAULT_MAX_ARTIFACT_BYTES,
        telemetry: Telemetry | None = None,
        schema: str = DEFAULT_SCHEMA,
        _owns_pool: bool = False,
    ) -> None:
        self.max_artifact_bytes = validate.max_artifact_bytes(max_artifact_bytes)
        self._rows = ArtifactRows(
            pool, acquire_timeout=acquire_timeout, telemetry=telemetry, schema=schema
        )
        self.schema = schema
        self._owns_pool = _owns_pool

    @classmethod
    async def connect(
        cls,
        dsn: str | None = None,
        *,
        migrate: bool = False,
        max_artifact_bytes: int = DEFAULT_MAX_ARTIFACT_BYTES,
        telemetry: Telemetry | None = None,
        **pool_options: Any,
    ) -> ArtifactStore:
        """Open a pool on ``dsn`` and check (or, with ``migrate=True``, apply) the schema.

        Raises:
            TypeError: an unknown pool option.
            InvalidArgumentError: a bad DSN, option value, ``max_artifact_bytes`` or
                ``telemetry``.
            SchemaOutdatedError: migrations are pending and ``migrate`` is False.
            StorageError: the server cannot be reached.
        """
        validate.max_artifact_bytes(max_artifact_bytes)
        check_telemetry(telemetry)  # before a pool is opened
        pool, acquire_timeout, schema = await open_pool(dsn, migrate_schema=migrate, **pool_options)
        return cls(
            pool,
            acquire_timeout=acquire_timeout,
            max_artifact_bytes=max_artifact_bytes,
            telemetry=telemetry,
            schema=schema,
            _owns_pool=True,
        )

    @property
    def pool(self) -> asyncpg.Pool:
        """The asyncpg pool the store runs on."""
        return self._rows.pool

    async def close(self) -> None:
        """Close the pool if the store created it; a pool passed in is left open."""
        if self._owns_pool:
            await self._rows.pool.close()

    async def __aenter__(self) -> ArtifactStore:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def save_artifact(
        self,
        *,
        app_name: str,
        user_id: str,
        filename: str,
        artifact: object,
        session_id: str | None = None,
        custom_metadata: object = None,
    ) -> ArtifactVersionInfo:
        """Save ``artifact`` (a google.genai Part, or its dict form) as the next version.

        The first save of a name is version 0; each save adds 1, also under concurrent saves
        from many processes (one statement; versions never collide or skip). A ``user:``
        filename, or any filename with ``session_id=None``, is user-scoped. Bytes this
        artifact already holds (a re-save) are not stored again.

        Raises:
            InvalidArgumentError: a bad id, filename, artifact or metadata, or a payload over
                ``max_artifact_bytes``; nothing was written.
            StorageError: the database failed; nothing was written.
        """
        key = validate.artifact_key(app_name, user_id, filename, session_id)
        payload = split_part(artifact, max_bytes=self.max_artifact_bytes)
        metadata = metadata_json(custom_metadata)
        row = await self._rows.save(key, payload, metadata)
        return ArtifactVersionInfo(
            **records.key_fields(key),
            version=row["version"],
            kind=payload.kind,
            mime_type=payload.mime_type,
            # What a read returns: the stored JSON, parsed.
            custom_metadata=pydantic_core.from_json(metadata),
            size=0 if payload.data is None else len(payload.data),
            sha256=None if payload.sha256 is None else payload.sha256.hex(),
            create_time=row["create_time"],
        )

    async def load_artifact(
        self,
        *,
        app_name: str,
        user_id: str,
        filename: str,
        session_id: str | None = None,
        version: int | None = None,
    ) -> Artifact | None:
        """One version with its content (the latest when ``version`` is None), or None.

        Raises:
            InvalidArgumentError: a bad id, filename or version.
            StorageError: the database failed.
        """
        key = validate.artifact_key(app_name, user_id, filename, session_id)
        number = validate.version(version)
        if number is not None and not 0 <= number <= validate.MAX_VERSION:
            return None  # no such version, as in ADK's services
        found = await self._rows.load(key, number)
        if found is None:
            return None
        row, data = found
        part = join_part(row["kind"], row["part"], data)
        return Artifact(**records.version_fields(key, row), part=part)

    async def get_artifact_version(
        self,
        *,
        app_name: str,
        user_id: str,
        filename: str,
        session_id: str | None = None,
        version: int | None = None,
    ) -> ArtifactVersionInfo | None:
        """One version's metadata (the latest when ``version`` is None), or None.

        Raises:
            InvalidArgumentError: a bad id, filename or version.
            StorageError: the database failed.
        """
        key = validate.artifact_key(app_name, user_id, filename, session_id)
        number = validate.version(version)
        if number is not None and not 0 <= number <= validate.MAX_VERSION:
            return None
        row = await self._rows.version(key, number)
        return None if row is None else records.version_info(key, row)

    async def list_artifact_versions(
        self, *, app_name: str, user_id: str, filename: str, session_id: str | None = None
    ) -> list[ArtifactVersionInfo]:
        """Every version's metadata, oldest first (``[]`` for no such artifact).

        Raises:
            InvalidArgumentError: a bad id or filename.
            StorageError: the database failed.
        """
        key = validate.artifact_key(app_name, user_id, filename, session_id)
        rows = await self._rows.versions(key)
        return [records.version_info(key, row) for row in rows]

    async def list_versions(
        self, *, app_name: str, user_id: str, filename: str, session_id: str | None = None
    ) -> list[int]:
        """The version numbers, ascending (``[]`` for no such artifact).

        Raises:
            InvalidArgumentError: a bad id or filename.
            StorageError: the database failed.
        """
        key = validate.artifact_key(app_name, user_id, filename, session_id)
        return await self._rows.version_numbers(key)

    async def list_artifact_keys(
        self, *, app_name: str, user_id: str, session_id: str | None = None
    ) -> list[str]:
        """The names a session sees, sorted: its own and the user's ``user:`` ones.

        With ``session_id=None``, the user-scoped names only. Every name loads as listed.

        Raises:
            InvalidArgumentError: a bad id.
            StorageError: the database failed.
        """
        app = validate.require_id(app_name, "app_name")
        user = validate.require_id(user_id, "user_id")
        session = validate.scope_session_id(session_id)
        return await self._rows.keys(app, user, session)

    async def delete_artifact(
        self, *, app_name: str, user_id: str, filename: str, session_id: str | None = None
    ) -> int:
        """Delete an artifact, every version and byte; how many versions it had (0: none).

        A later save of the name starts again at version 0, as in ADK's services.

        Raises:
            InvalidArgumentError: a bad id or filename.
            StorageError: the database failed; nothing was deleted.
        """
        key = validate.artifact_key(app_name, user_id, filename, session_id)
        return await self._rows.delete(key)

    async def delete_session_artifacts(
        self, *, app_name: str, sessions: Iterable[tuple[str, str]]
    ) -> DeletedArtifacts:
        """Delete the session-scoped artifacts of ``sessions`` ((user_id, session_id) pairs).

        User-scoped artifacts stay, as user state does. One statement for all of them.

        Raises:
            InvalidArgumentError: a bad id, or ``sessions`` not pairs of ids.
            StorageError: the database failed; nothing was deleted.
        """
        app = validate.require_id(app_name, "app_name")
        user_ids: list[str] = []
        session_ids: list[str] = []
        for pair in _pairs(sessions):
            user_ids.append(validate.require_id(pair[0], "user_id"))
            session_ids.append(validate.require_id(pair[1], "session_id"))
        if not session_ids:
            return records.deleted(None)
        return records.deleted(await self._rows.delete_sessions(app, user_ids, session_ids))

    async def list_artifacts(
        self,
        *,
        app_name: str | None = None,
        user_id: str | None = None,
        session_id: str | None = None,
        limit: int = 50,
    ) -> list[ArtifactSummary]:
        """Artifacts, most recently saved first: every one, or those of an app, user, session.

        ``session_id`` selects that session's own artifacts (not the user's ``user:`` ones).

        Raises:
            InvalidArgumentError: a bad id or limit.
            StorageError: the database failed.
        """
        app = validate.optional_id(app_name, "app_name")
        user = validate.optional_id(user_id, "user_id")
        session = validate.optional_id(session_id, "session_id")
        rows = await self._rows.summaries(app, user, session, validate.row_limit(limit))
        return [records.summary(row) for row in rows]


def _pairs(sessions: object) -> list[tuple[object, object]]:
    if isinstance(sessions, (str, bytes)) or not isinstance(sessions, Iterable):
        raise InvalidArgumentError("sessions must be (user_id, session_id) pairs")
    pairs: list[tuple[object, object]] = []
    for item in sessions:
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise InvalidArgumentError("sessions must be (user_id, session_id) pairs")
        pairs.append((item[0], item[1]))
    return pairs
