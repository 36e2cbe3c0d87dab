"""ADK's artifacts in PostgreSQL: ``PostgresArtifactService``, a ``BaseArtifactService``.

Use it wherever ADK takes an artifact service: ``Runner(artifact_service=...)``, or
``--artifact_service_uri adkpg://...`` for ``adk web`` / ``adk api_server`` / ``adk run``.
It runs :class:`~adk_pg.artifacts.store.ArtifactStore` and speaks ADK's types: ``Part`` in
and out, ``ArtifactVersion`` for metadata, ``artifact://`` references followed as ADK's own
services follow them, a rewind's tombstone loaded as absent.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any

import asyncpg
from google.adk.artifacts import artifact_util
from google.adk.artifacts.base_artifact_service import ArtifactVersion, BaseArtifactService
from google.adk.errors.input_validation_error import InputValidationError
from google.genai import types

from adk_pg import errors
from adk_pg.adk.connection import ServiceConnection
from adk_pg.adk.errors import InvalidArgumentError
from adk_pg.artifacts import validate
from adk_pg.artifacts.models import ArtifactVersionInfo
from adk_pg.artifacts.parts import as_part
from adk_pg.artifacts.store import ArtifactStore
from adk_pg.db.telemetry import Telemetry, check_telemetry

__all__ = ["PostgresArtifactService"]


@contextmanager
def _as_adk_errors() -> Iterator[None]:
    """Bad input surfaces as ADK's InputValidationError (HTTP 400) and adk-pg's own class."""
    try:
        yield
    except InvalidArgumentError:
        raise
    except (errors.InvalidArgumentError, InputValidationError) as exc:
        raise InvalidArgumentError(str(exc)) from exc


def _reference(part: types.Part) -> str | None:
    """The ``artifact://`` URI ``part`` refers to, or None when it is not a reference."""
    if artifact_util.is_artifact_ref(part) and part.file_data is not None:
        return part.file_data.file_uri
    return None


def _version(info: ArtifactVersionInfo) -> ArtifactVersion:
    """ADK's ArtifactVersion of a stored version; its URI is the version's artifact:// URI."""
    return ArtifactVersion(
        version=info.version,
        canonical_uri=artifact_util.get_artifact_uri(
            info.app_name, info.user_id, info.filename, info.version, info.session_id
        ),
        custom_metadata=info.custom_metadata,
        create_time=info.create_time,
        mime_type=info.mime_type,
    )


class PostgresArtifactService(BaseArtifactService):
    """ADK artifacts, versioned in PostgreSQL, beside the sessions.

    ``dsn`` (or ``uri=`` / ``db_url=``) may be ``postgresql://``, ``postgres://``,
    ``postgresql+asyncpg://`` or ``adkpg://``; without one, ``ADK_PG_DSN`` or ``POSTGRES_URL``
    is used. Or pass an existing ``pool=`` (shared with the other adk-pg services; never
    closed here). ``migrate=True`` (the default) creates or upgrades the schema on first use.
    ``max_artifact_bytes`` (default 64 MiB) bounds one version's payload; calls are reported
    as ``telemetry`` says (:class:`~adk_pg.Telemetry`); ``schema`` and other keyword arguments
    (pool options) are as for ``PostgresSessionService``.

    Raises:
        TypeError: an unknown option (at construction, not at the first call).
        ValueError: a malformed DSN, option value, ``telemetry`` or schema name.
    """

    def __init__(
        self,
        dsn: str | None = None,
        *,
        uri: str | None = None,
        db_url: str | None = None,
        pool: asyncpg.Pool | None = None,
        migrate: bool = True,
        max_artifact_bytes: int = validate.DEFAULT_MAX_ARTIFACT_BYTES,
        telemetry: Telemetry | None = None,
        schema: str | None = None,
        **options: Any,
    ) -> None:
        super().__init__()
        self._max_bytes = validate.max_artifact_bytes(max_artifact_bytes)
        self._telemetry = check_telemetry(telemetry)
        self._connection = ServiceConnection(
            dsn=dsn,
            uri=uri,
            db_url=db_url,
            pool=pool,
            migrate=migrate,
            options=options,
            schema=schema,
        )
        self._store: ArtifactStore | None = None

    def __repr__(self) -> str:
        return f"PostgresArtifactService({self._connection.describe()!r})"

    async def _open(self) -> ArtifactStore:
        pool, acquire_timeout = await self._connection.open("PostgresArtifactService")
        if self._store is None:
            self._store = ArtifactStore(
                pool,
                acquire_timeout=acquire_timeout,
                max_artifact_bytes=self._max_bytes,
                telemetry=self._telemetry,
                schema=self._connection.schema,
            )
        return self._store

    @property
    def store(self) -> ArtifactStore | None:
        """The ArtifactStore this service runs, once it has been used (else None)."""
        return self._store if self._connection.pool is not None else None

    async def save_artifact(
        self,
        *,
        app_name: str,
        user_id: str,
        filename: str,
        artifact: types.Part | dict[str, Any],
        session_id: str | None = None,
        custom_metadata: dict[str, Any] | None = None,
    ) -> int:
        """Save ``artifact`` as the next version (0 for a new name) and return that version.

        A ``user:`` filename, or any filename with ``session_id=None``, is user-scoped. An
        ``artifact://`` reference must stay in the caller's app, user and session.

        Raises:
            InvalidArgumentError: a bad id, filename, artifact, reference or metadata, or a
                payload over ``max_artifact_bytes`` (ADK's InputValidationError, a ValueError);
                nothing was written.
            StorageError: the database failed; nothing was written.
        """
        with _as_adk_errors():
            part = as_part(artifact)
            reference = _reference(part)
            if reference is not None:
                parsed = artifact_util.parse_artifact_uri(reference)
                if parsed is None:
                    raise errors.InvalidArgumentError("Invalid artifact reference URI")
                artifact_util.validate_artifact_reference_scope(
                    app_name=app_name, user_id=user_id, session_id=session_id, parsed_uri=parsed
                )
            store = await self._open()
            saved = await store.save_artifact(
                app_name=app_name,
                user_id=user_id,
                filename=filename,
                artifact=part,
                session_id=session_id,
                custom_metadata=custom_metadata,
            )
        return saved.version

    async def load_artifact(
        self,
        *,
        app_name: str,
        user_id: str,
        filename: str,
        session_id: str | None = None,
        version: int | None = None,
    ) -> types.Part | None:
        """The Part saved as ``version`` (the latest when None), or None.

        An ``artifact://`` reference is followed (at most ADK's depth, within the caller's
        scope), one statement per hop; a rewind's tombstone loads as None.

        Raises:
            InvalidArgumentError: a bad id, filename or version, or a reference that leaves
                the scope or goes too deep (ADK's InputValidationError).
            StorageError: the database failed.
        """
        depth = artifact_util._MAX_ARTIFACT_REFERENCE_DEPTH
        with _as_adk_errors():
            store = await self._open()
            while True:
                loaded = await store.load_artifact(
                    app_name=app_name,
                    user_id=user_id,
                    filename=filename,
                    session_id=session_id,
                    version=version,
                )
                if loaded is None:
                    return None
                part = loaded.part
                reference = _reference(part)
                if reference is None:
                    break
                target = artifact_util.resolve_artifact_reference(
                    file_uri=reference,
                    app_name=app_name,
                    user_id=user_id,
                    session_id=session_id,
                    remaining_depth=depth,
                )
                app_name, user_id, session_id = target.app_name, target.user_id, target.session_id
                filename, version, depth = target.filename, target.version, depth - 1
        # What a session rewind saves to remove an artifact; every ADK service loads it as None.
        return None if artifact_util._is_rewind_tombstone(part) else part

    async def list_artifact_keys(
        self, *, app_name: str, user_id: str, session_id: str | None = None
    ) -> list[str]:
        """The session's artifact names and the user's ``user:`` ones, sorted.

        With ``session_id=None``, the user-scoped names only. Every listed name loads as it
        is (a user-scoped one keeps its ``user:`` prefix). One statement.

        Raises:
            InvalidArgumentError: a bad id (ADK's InputValidationError).
            StorageError: the database failed.
        """
        with _as_adk_errors():
            store = await self._open()
            return await store.list_artifact_keys(
                app_name=app_name, user_id=user_id, session_id=session_id
            )

    async def delete_artifact(
        self, *, app_name: str, user_id: str, filename: str, session_id: str | None = None
    ) -> None:
        """Delete an artifact with all its versions; a missing one is a no-op.

        Raises:
            InvalidArgumentError: a bad id or filename (ADK's InputValidationError).
            StorageError: the database failed; nothing was deleted.
        """
        with _as_adk_errors():
            store = await self._open()
            await store.delete_artifact(
                app_name=app_name, user_id=user_id, filename=filename, session_id=session_id
            )

    async def list_versions(
        self, *, app_name: str, user_id: str, filename: str, session_id: str | None = None
    ) -> list[int]:
        """The artifact's versions, ascending (``[]`` when it does not exist).

        Raises:
            InvalidArgumentError: a bad id or filename (ADK's InputValidationError).
            StorageError: the database failed.
        """
        with _as_adk_errors():
            store = await self._open()
            return await store.list_versions(
                app_name=app_name, user_id=user_id, filename=filename, session_id=session_id
            )

    async def list_artifact_versions(
        self, *, app_name: str, user_id: str, filename: str, session_id: str | None = None
    ) -> list[ArtifactVersion]:
        """Every version's metadata, oldest first (``[]`` when it does not exist).

        Raises:
            InvalidArgumentError: a bad id or filename (ADK's InputValidationError).
            StorageError: the database failed.
        """
        with _as_adk_errors():
            store = await self._open()
            infos = await store.list_artifact_versions(
                app_name=app_name, user_id=user_id, filename=filename, session_id=session_id
            )
        return [_version(info) for info in infos]

    async def get_artifact_version(
        self,
        *,
        app_name: str,
        user_id: str,
        filename: str,
        session_id: str | None = None,
        version: int | None = None,
    ) -> ArtifactVersion | None:
        """One version's metadata (the latest when ``version`` is None), or None.

        Raises:
            InvalidArgumentError: a bad id, filename or version (ADK's InputValidationError).
            StorageError: the database failed.
        """
        with _as_adk_errors():
            store = await self._open()
            info = await store.get_artifact_version(
                app_name=app_name,
                user_id=user_id,
                filename=filename,
                session_id=session_id,
                version=version,
            )
        return None if info is None else _version(info)

    async def close(self) -> None:
        """Close the pool if this service created it; later calls raise StorageError."""
        await self._connection.close()

    async def __aenter__(self) -> PostgresArtifactService:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
