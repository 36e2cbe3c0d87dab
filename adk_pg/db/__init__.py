"""The database connection: DSN parsing and redaction, pool options, the asyncpg pool and its
connection hooks, and the loader of the SQL files in ``sql/``.

Imports nothing of adk-pg but :mod:`adk_pg.errors`; every other package builds on it.
"""
