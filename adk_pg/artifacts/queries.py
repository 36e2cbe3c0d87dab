"""The artifact store's statements: ``sql/artifacts/``, one registry attribute per file."""

from __future__ import annotations

from dataclasses import dataclass

from adk_pg.db.queries import Query, load_queries

__all__ = ["QUERIES", "ArtifactQueries"]


@dataclass(frozen=True)
class ArtifactQueries:
    """The registry of ``sql/artifacts/``: the file name is the query name."""

    count_artifact_versions: Query
    delete_artifact: Query
    delete_session_artifacts: Query
    export_artifact_versions: Query
    get_artifact_version: Query
    import_artifact_version: Query
    list_artifact_keys: Query
    list_artifact_versions: Query
    list_artifacts: Query
    list_versions: Query
    load_artifact: Query
    save_artifact: Query


QUERIES = load_queries("artifacts", ArtifactQueries)
