"""Registers the ``adkpg://`` scheme with ADK's command line (adk web / api_server / run), for
sessions, memory and artifacts.

ADK imports this file as the module ``services`` before it builds its services: from the
agents directory for ``adk web`` and ``adk api_server``, from the agent's own folder for
``adk run``. Copy it there, or run ``python -m adk_pg.adk`` instead of ``adk`` (no copy):

    adk api_server examples/ --session_service_uri adkpg://user:pw@127.0.0.1:5432/adk_sessions \
        --memory_service_uri adkpg://user:pw@127.0.0.1:5432/adk_sessions \
        --artifact_service_uri adkpg://user:pw@127.0.0.1:5432/adk_sessions
"""

from adk_pg.adk import register_services

register_services()
