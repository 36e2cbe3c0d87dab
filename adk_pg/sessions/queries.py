"""The session store's statements: ``sql/sessions/``, one registry attribute per file."""

from __future__ import annotations

from dataclasses import dataclass

from adk_pg.db.queries import Query, load_queries

__all__ = ["QUERIES", "SessionQueries"]


@dataclass(frozen=True)
class SessionQueries:
    """The registry of ``sql/sessions/``: the file name is the query name."""

    append_event: Query
    append_event_citus: Query
    create_session: Query
    create_session_citus: Query
    delete_session: Query
    fork_session: Query
    get_app_state: Query
    get_session: Query
    get_session_citus: Query
    get_user_state: Query
    list_events: Query
    list_sessions: Query
    list_user_sessions: Query
    watch_channel: Query
    watch_events: Query
    watch_listening: Query
    watch_sessions: Query


QUERIES = load_queries("sessions", SessionQueries)
