"""The models the artifact store returns. Nothing here talks to the database.

An artifact is named by (app_name, user_id, session_id, filename); ``session_id`` is None for a
user-scoped artifact, whose ``filename`` keeps its ``user:`` prefix (the name ADK lists and
loads it by). ``kind`` says what the stored ``google.genai`` Part carried: ``bytes``
(``inline_data``), ``text``, or ``part`` (no payload of its own, e.g. a ``file_data``
reference).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from google.genai import types
from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Artifact",
    "ArtifactKind",
    "ArtifactSummary",
    "ArtifactVersionInfo",
    "DeletedArtifacts",
    "ImportOutcome",
]

ArtifactKind = Literal["bytes", "text", "part"]
ImportOutcome = Literal["imported", "unchanged", "conflict"]
"""What importing one version did: ``imported``; ``unchanged`` (that version was stored
already with the same bytes); ``conflict`` (another version is stored under that number and
was left as it is)."""

_FROZEN = ConfigDict(frozen=True)


class ArtifactVersionInfo(BaseModel):
    """One stored version of an artifact, without its bytes."""

    model_config = _FROZEN

    app_name: str
    user_id: str
    session_id: str | None = Field(description="None for a user-scoped artifact")
    filename: str = Field(description="as stored: a user-scoped name keeps its user: prefix")
    version: int
    kind: ArtifactKind
    mime_type: str | None
    custom_metadata: dict[str, Any]
    size: int = Field(description="payload bytes (the UTF-8 bytes of a text part; 0 for part)")
    sha256: str | None = Field(description="hex SHA-256 of the payload; None for kind part")
    create_time: float = Field(description="when it was saved, seconds since the epoch")


class Artifact(ArtifactVersionInfo):
    """One stored version of an artifact with its content, as the Part that was saved."""

    part: types.Part


class ArtifactSummary(BaseModel):
    """One artifact in a listing: its latest version and what all its versions take."""

    model_config = _FROZEN

    app_name: str
    user_id: str
    session_id: str | None
    filename: str
    latest_version: int
    kind: ArtifactKind
    mime_type: str | None
    size: int = Field(description="the latest version's payload bytes")
    versions: int
    stored_bytes: int = Field(description="all versions' bytes, each distinct payload once")
    update_time: datetime


class DeletedArtifacts(BaseModel):
    """What deleting the artifacts of some sessions removed."""

    model_config = _FROZEN

    artifacts: int
    versions: int
    bytes: int
