"""The operators' statements: ``sql/ops/`` (adk-pg's tables), ``sql/doctor/`` (the server's
catalog and statistics) and ``sql/legacy/`` (ADK's tables).

The files of ``sql/legacy/`` name ADK's tables unqualified (the reader's connection sets
``search_path`` to the schema holding them), so they cannot be prepared against adk-pg's own
schema as the other folders' files are.
"""

from __future__ import annotations

from dataclasses import dataclass

from adk_pg.db.queries import Query, load_queries

__all__ = [
    "DOCTOR_QUERIES",
    "LEGACY_QUERIES",
    "QUERIES",
    "DoctorQueries",
    "LegacyQueries",
    "OpsQueries",
]


@dataclass(frozen=True)
class OpsQueries:
    """The registry of ``sql/ops/``: status, listing, export, import and prune (sessions and
    memories)."""

    count_export: Query
    export_app_states: Query
    export_memories: Query
    export_sessions: Query
    export_user_states: Query
    get_status: Query
    import_app_state: Query
    import_memory: Query
    import_session: Query
    import_user_state: Query
    list_apps: Query
    list_apps_citus: Query
    list_session_summaries: Query
    plan_key_walks: Query
    plan_prune: Query
    plan_prune_memories: Query
    prune_memories: Query
    prune_memories_citus: Query
    prune_sessions: Query
    prune_sessions_citus: Query


@dataclass(frozen=True)
class DoctorQueries:
    """The registry of ``sql/doctor/``: what ``adk-pg doctor`` reads from the catalog and the
    statistics views (``doctor_statements`` needs the pg_stat_statements extension)."""

    doctor_connections: Query
    doctor_indexes: Query
    doctor_long_sessions: Query
    doctor_replica: Query
    doctor_server: Query
    doctor_standbys: Query
    doctor_statements: Query
    doctor_statements_path: Query
    doctor_tables: Query


@dataclass(frozen=True)
class LegacyQueries:
    """The registry of ``sql/legacy/``: reading the tables of ADK's DatabaseSessionService."""

    legacy_app_states: Query
    legacy_count: Query
    legacy_schema_version: Query
    legacy_sessions: Query
    legacy_tables: Query
    legacy_user_states: Query
    legacy_v0_events: Query
    legacy_v1_events: Query


QUERIES = load_queries("ops", OpsQueries)
DOCTOR_QUERIES = load_queries("doctor", DoctorQueries)
LEGACY_QUERIES = load_queries("legacy", LegacyQueries)
