"""What only the ``adk-pg`` command needs: status and listings, export and import, prune, and
the reader of the tables of ADK's own ``DatabaseSessionService`` (``import-adk``).

Imports the core packages; never ``google.adk`` (what reading ADK's v0 tables needs from ADK
is handed in by the command, from :mod:`adk_pg.adk.legacy`).
"""
