"""Registers the ``adkpg://`` session scheme with ADK's command line (adk web / api_server / run).

ADK imports this file as the module ``services`` from the agents directory before it builds
its services, so

    adk api_server examples/ --session_service_uri adkpg://user:pw@127.0.0.1:5432/adk_sessions

stores every session with adk-pg. ``services.yaml`` beside it registers the same scheme
without Python; when both are present ADK reads the YAML first and this file wins.
"""

from __future__ import annotations

from typing import Any

from google.adk.cli.service_registry import get_service_registry

from adk_pg.adk import PostgresSessionService

__all__ = ["adkpg_session_service"]


def adkpg_session_service(uri: str, **kwargs: Any) -> PostgresSessionService:
    """Build the session service for an ``adkpg://`` URI.

    The service reads ``adkpg://`` as ``postgresql://`` and ignores the ``agents_dir=`` ADK
    passes; other keyword arguments are pool options.

    Raises:
        TypeError: an unknown pool option.
        ValueError: a malformed URI.
    """
    return PostgresSessionService(uri, **kwargs)


get_service_registry().register_session_service("adkpg", adkpg_session_service)
