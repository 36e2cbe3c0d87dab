-- name: doctor_tables
-- Each table of schema adk: sizes, the row estimate of the catalog (never a count), live and
-- dead tuples, the last (auto)vacuum and (auto)analyze, and whether autovacuum is on for it.
-- returns: one row per table, the biggest first
SELECT c.relname AS table_name,
       pg_catalog.pg_total_relation_size(c.oid) AS total_bytes,
       pg_catalog.pg_relation_size(c.oid) AS table_bytes,
       pg_catalog.pg_indexes_size(c.oid) AS index_bytes,
       CASE WHEN c.reltuples < 0 THEN NULL ELSE c.reltuples::bigint END AS estimated_rows,
       s.n_live_tup AS live_tuples,
       s.n_dead_tup AS dead_tuples,
       greatest(s.last_vacuum, s.last_autovacuum) AS last_vacuum,
       s.last_autovacuum,
       greatest(s.last_analyze, s.last_autoanalyze) AS last_analyze,
       extract(epoch FROM now() - s.last_autovacuum)::float8 AS autovacuum_age_seconds,
       extract(epoch FROM now() - greatest(s.last_vacuum, s.last_autovacuum))::float8
           AS vacuum_age_seconds,
       NOT EXISTS (
           SELECT 1
           FROM unnest(c.reloptions) AS o(option)
           WHERE lower(o.option) IN ('autovacuum_enabled=false', 'autovacuum_enabled=off',
                                     'autovacuum_enabled=f', 'autovacuum_enabled=no',
                                     'autovacuum_enabled=0')
       ) AS autovacuum_enabled
FROM pg_catalog.pg_class AS c
JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_stat_user_tables AS s ON s.relid = c.oid
WHERE n.nspname = 'adk' AND c.relkind IN ('r', 'p')
ORDER BY pg_catalog.pg_total_relation_size(c.oid) DESC, c.relname;
