"""The schema: the migration runner (ledger, advisory lock, checksums), the migration files
of ``migrations/``, opening a pool on a current schema, and creating databases.

Imports :mod:`adk_pg.db` and :mod:`adk_pg.errors` only.
"""
