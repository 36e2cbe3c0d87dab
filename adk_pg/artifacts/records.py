"""Rows of ``sql/artifacts/`` as adk-pg's artifact models. Nothing here talks to the database."""

from __future__ import annotations

from typing import Any

import asyncpg

from adk_pg.artifacts.models import ArtifactSummary, ArtifactVersionInfo, DeletedArtifacts
from adk_pg.artifacts.validate import ArtifactKey

__all__ = ["deleted", "key_fields", "summary", "version_fields", "version_info"]


def key_fields(key: ArtifactKey) -> dict[str, Any]:
    """The model fields naming an artifact: ``session_id`` None for a user-scoped one."""
    return {
        "app_name": key.app_name,
        "user_id": key.user_id,
        "session_id": key.session_id or None,
        "filename": key.filename,
    }


def version_fields(key: ArtifactKey, row: asyncpg.Record) -> dict[str, Any]:
    """The ArtifactVersionInfo fields of a version row (version, kind, ..., create_time)."""
    digest = row["sha256"]
    return {
        **key_fields(key),
        "version": row["version"],
        "kind": row["kind"],
        "mime_type": row["mime_type"],
        "custom_metadata": row["custom_metadata"],
        "size": row["size"],
        "sha256": None if digest is None else digest.hex(),
        "create_time": row["create_time"],
    }


def version_info(key: ArtifactKey, row: asyncpg.Record) -> ArtifactVersionInfo:
    """A version row as a model."""
    return ArtifactVersionInfo(**version_fields(key, row))


def summary(row: asyncpg.Record) -> ArtifactSummary:
    """A row of list_artifacts as a model."""
    return ArtifactSummary(
        app_name=row["app_name"],
        user_id=row["user_id"],
        session_id=row["session_id"] or None,
        filename=row["filename"],
        latest_version=row["version"],
        kind=row["kind"],
        mime_type=row["mime_type"],
        size=row["size"],
        versions=row["versions"],
        stored_bytes=row["stored_bytes"],
        update_time=row["update_time"],
    )


def deleted(row: asyncpg.Record | None) -> DeletedArtifacts:
    """The row of delete_session_artifacts (None: nothing was asked) as a model."""
    if row is None:
        return DeletedArtifacts(artifacts=0, versions=0, bytes=0)
    return DeletedArtifacts(
        artifacts=row["artifacts"], versions=row["versions"], bytes=row["bytes"]
    )
