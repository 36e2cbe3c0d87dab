"""Artifacts: the files ADK agents and tools save, versioned in PostgreSQL.

The repository ``ArtifactStore`` (:mod:`.store`) over a private rows layer (:mod:`.rows`); the
models it returns (:mod:`.models`) and how rows become them (:mod:`.records`); argument checks
and the scope rule (:mod:`.validate`); the google.genai Part split into payload bytes and JSON
and put back (:mod:`.parts`); the registry of ``sql/artifacts/`` (:mod:`.queries`); and
export/import of versions as JSON-able records for ``adk-pg export`` / ``import``
(:mod:`.transfer`).

Core: imports :mod:`adk_pg.db`, :mod:`adk_pg.schema` and :mod:`adk_pg.errors` (and
google-genai for ``Part``), never ``google.adk``, ``adk_pg.adk``, ``adk_pg.ops``,
``adk_pg.cli`` or the sessions package.
"""

from adk_pg.artifacts.models import (
    Artifact,
    ArtifactSummary,
    ArtifactVersionInfo,
    DeletedArtifacts,
    ImportOutcome,
)
from adk_pg.artifacts.store import ArtifactStore
from adk_pg.artifacts.validate import DEFAULT_MAX_ARTIFACT_BYTES

__all__ = [
    "DEFAULT_MAX_ARTIFACT_BYTES",
    "Artifact",
    "ArtifactStore",
    "ArtifactSummary",
    "ArtifactVersionInfo",
    "DeletedArtifacts",
    "ImportOutcome",
]
