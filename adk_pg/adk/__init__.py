"""adk-pg for ADK: the services ADK's ``Runner``, ``adk web``, ``adk run`` and ``adk api_server``
take, and the ``adkpg://`` scheme for their ``--*_service_uri`` options.

The only package of adk-pg that imports ``google.adk`` (install the ``adk`` extra). It may
import every core package; nothing but ``adk_pg.cli`` imports it.
"""

from __future__ import annotations

try:
    import google.adk  # noqa: F401 - fails here, with the fix, when the extra is missing
except ImportError as exc:  # pragma: no cover - exercised in a venv without google-adk
    raise ImportError(
        "adk_pg.adk needs google-adk, which is not installed: pip install 'adk-pg[adk]'",
        name=exc.name,
    ) from exc

from adk_pg.adk.artifacts import PostgresArtifactService
from adk_pg.adk.codec import read_as_adk_does
from adk_pg.adk.errors import (
    AlreadyExistsError,
    EventConflictError,
    InvalidArgumentError,
    SessionNotFoundError,
    StaleSessionError,
)
from adk_pg.adk.memory import PostgresMemoryService
from adk_pg.adk.services import register_services
from adk_pg.adk.session_ops import EventsPage, SessionsPage
from adk_pg.adk.sessions import PostgresSessionService

__all__ = [
    "AlreadyExistsError",
    "EventConflictError",
    "EventsPage",
    "InvalidArgumentError",
    "PostgresArtifactService",
    "PostgresMemoryService",
    "PostgresSessionService",
    "SessionNotFoundError",
    "SessionsPage",
    "StaleSessionError",
    "read_as_adk_does",
    "register_services",
]
