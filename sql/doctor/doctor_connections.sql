-- name: doctor_connections
-- Client connections to this database by application name and state. The state of another
-- role's connection is NULL to a role without pg_read_all_stats.
-- returns: one row per (application_name, state), the most connections first
SELECT coalesce(a.application_name, '') AS application_name,
       a.state,
       count(*)::integer AS connections
FROM pg_catalog.pg_stat_activity AS a
WHERE a.datname = current_database()
  AND (a.backend_type = 'client backend' OR (a.backend_type IS NULL AND a.usesysid IS NOT NULL))
GROUP BY 1, 2
ORDER BY 3 DESC, 1, 2;
