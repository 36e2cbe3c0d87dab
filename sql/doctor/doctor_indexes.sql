-- name: doctor_indexes
-- Each index of schema adk: its table, size, scans since the statistics were reset, and
-- whether it is unique, primary and valid (a failed CREATE INDEX CONCURRENTLY leaves it not).
-- returns: one row per index, by table, the biggest first
SELECT t.relname AS table_name,
       i.relname AS index_name,
       pg_catalog.pg_relation_size(i.oid) AS bytes,
       s.idx_scan AS scans,
       x.indisunique AS is_unique,
       x.indisprimary AS is_primary,
       x.indisvalid AS is_valid
FROM pg_catalog.pg_index AS x
JOIN pg_catalog.pg_class AS i ON i.oid = x.indexrelid
JOIN pg_catalog.pg_class AS t ON t.oid = x.indrelid
JOIN pg_catalog.pg_namespace AS n ON n.oid = t.relnamespace
LEFT JOIN pg_catalog.pg_stat_user_indexes AS s ON s.indexrelid = x.indexrelid
WHERE n.nspname = 'adk'
ORDER BY t.relname, pg_catalog.pg_relation_size(i.oid) DESC, i.relname;
