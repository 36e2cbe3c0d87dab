"""The memory store's statements: ``sql/memory/``, one registry attribute per file."""

from __future__ import annotations

from dataclasses import dataclass

from adk_pg.db.queries import Query, load_queries

__all__ = ["QUERIES", "MemoryQueries"]


@dataclass(frozen=True)
class MemoryQueries:
    """The registry of ``sql/memory/``: the file name is the query name."""

    add_memories: Query
    delete_memory: Query
    delete_user_memories: Query
    list_memories: Query
    search_memories: Query


QUERIES = load_queries("memory", MemoryQueries)
