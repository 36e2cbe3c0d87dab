-- name: doctor_long_sessions
-- Sessions of this database that hold a lock on a table of schema adk and have been
-- running one statement, or idle inside a transaction, for at least $1 seconds. Their query
-- text is not read: it can quote values.
-- $1 min_seconds float8
-- returns: one row per session, the longest first
SELECT a.pid,
       coalesce(a.usename::text, '') AS role,
       coalesce(a.application_name, '') AS application_name,
       a.state,
       extract(epoch FROM now() - CASE WHEN a.state = 'active' THEN a.query_start
                                       ELSE a.state_change END)::float8 AS seconds,
       extract(epoch FROM now() - a.xact_start)::float8 AS transaction_seconds,
       a.wait_event_type,
       a.wait_event,
       locked.tables
FROM pg_catalog.pg_stat_activity AS a
CROSS JOIN LATERAL (
    SELECT array_agg(DISTINCT n.nspname || '.' || c.relname ORDER BY n.nspname || '.' || c.relname)
               AS tables
    FROM pg_catalog.pg_locks AS l
    JOIN pg_catalog.pg_class AS c ON c.oid = l.relation
    JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
    WHERE l.pid = a.pid
      AND l.database = (SELECT d.oid FROM pg_catalog.pg_database AS d
                        WHERE d.datname = current_database())
      AND n.nspname = 'adk'
      AND c.relkind IN ('r', 'p')
) AS locked
WHERE a.datname = current_database()
  AND a.pid <> pg_catalog.pg_backend_pid()
  AND a.state IN ('active', 'idle in transaction', 'idle in transaction (aborted)')
  AND locked.tables IS NOT NULL
  AND extract(epoch FROM now() - CASE WHEN a.state = 'active' THEN a.query_start
                                      ELSE a.state_change END) >= $1
ORDER BY seconds DESC, a.pid;
