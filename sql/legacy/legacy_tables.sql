-- name: legacy_tables
-- The ADK DatabaseSessionService tables found in schema $1, each with its column names:
-- enough to tell schema v1 (events.event_data, adk_internal_metadata) from v0
-- (events.actions, no metadata table). Reads only the catalogs.
-- $1 schema_name text
-- returns: rows (table_name, columns text[])
SELECT c.relname AS table_name,
       array_agg(a.attname::text ORDER BY a.attnum) AS columns
FROM pg_catalog.pg_class AS c
JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_attribute AS a
  ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE n.nspname = $1::text
  AND c.relkind IN ('r', 'p')
  AND c.relname IN ('adk_internal_metadata', 'sessions', 'events', 'app_states', 'user_states')
GROUP BY c.relname;
