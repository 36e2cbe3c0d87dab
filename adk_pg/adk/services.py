"""The ``adkpg://`` scheme for ADK's ``--session_service_uri``, ``--memory_service_uri`` and
``--artifact_service_uri``.

ADK's command line (``adk web``, ``adk run``, ``adk api_server``) builds its services from
URIs through its service registry. :func:`register_services` adds ``adkpg://`` to it;
``adkpg://user:pw@host:5432/db?sslmode=require`` means ``postgresql://...``. Three ways to
have it registered before ADK builds its services:

* ``python -m adk_pg.adk web|run|api_server ...``: ADK's own command, with the scheme
  registered first (nothing to copy);
* a ``services.py`` holding ``from adk_pg.adk import register_services; register_services()``
  in the directory ADK loads it from: the agents directory for ``adk web`` and ``adk
  api_server``, the agent's own folder for ``adk run``;
* a ``services.yaml`` in that same directory (see ``examples/services.yaml``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from adk_pg.adk.artifacts import PostgresArtifactService
from adk_pg.adk.memory import PostgresMemoryService
from adk_pg.adk.sessions import PostgresSessionService

if TYPE_CHECKING:  # ADK's command-line package is imported only when registering
    from google.adk.cli.service_registry import ServiceRegistry

__all__ = [
    "SCHEME",
    "artifact_service",
    "memory_service",
    "register_services",
    "session_service",
]

SCHEME = "adkpg"


def session_service(uri: str, **kwargs: Any) -> PostgresSessionService:
    """Build the session service for an ``adkpg://`` URI (ADK's factory signature).

    ``agents_dir=``, which ADK passes, is ignored; other keyword arguments are pool options.

    Raises:
        TypeError: an unknown pool option.
        ValueError: a malformed URI.
    """
    return PostgresSessionService(uri, **kwargs)


def memory_service(uri: str, **kwargs: Any) -> PostgresMemoryService:
    """Build the memory service for an ``adkpg://`` URI (ADK's factory signature).

    ``agents_dir=``, which ADK passes, is ignored; other keyword arguments are pool options.

    Raises:
        TypeError: an unknown pool option.
        ValueError: a malformed URI.
    """
    return PostgresMemoryService(uri, **kwargs)


def artifact_service(uri: str, **kwargs: Any) -> PostgresArtifactService:
    """Build the artifact service for an ``adkpg://`` URI (ADK's factory signature).

    ``agents_dir=``, which ADK passes, is ignored; other keyword arguments are pool options.

    Raises:
        TypeError: an unknown pool option.
        ValueError: a malformed URI.
    """
    return PostgresArtifactService(uri, **kwargs)


def register_services(registry: ServiceRegistry | None = None) -> None:
    """Register ``adkpg://`` with ADK's service registry (default: the process-wide one), for
    sessions, memory and artifacts (``--session_service_uri``, ``--memory_service_uri``,
    ``--artifact_service_uri``)."""
    from google.adk.cli.service_registry import get_service_registry

    target = registry if registry is not None else get_service_registry()
    target.register_session_service(SCHEME, session_service)
    target.register_memory_service(SCHEME, memory_service)
    target.register_artifact_service(SCHEME, artifact_service)
