"""Memory: ADK's long-term memory on PostgreSQL full-text search. ``MemoryStore`` adds,
searches and deletes a user's memories, one statement per call; ``text`` cuts words and reads
queries; the models are what goes in and comes out.

Core: imports :mod:`adk_pg.db`, :mod:`adk_pg.schema` and :mod:`adk_pg.errors`, never
``google.adk`` (the ADK adapter, :mod:`adk_pg.adk.memory`, turns ADK's events into memories).
"""
