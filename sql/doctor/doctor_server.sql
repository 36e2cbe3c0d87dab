-- name: doctor_server
-- The server and the connected role: version, the settings that matter, connections in use
-- and what the role may see of other roles' sessions (pg_read_all_stats, part of pg_monitor).
-- Client connections of other roles show a NULL backend_type to a role without that right:
-- they are counted by their role, which stays visible.
-- returns: one row
SELECT current_setting('server_version') AS server_version,
       current_setting('server_version_num')::integer AS server_version_num,
       current_database() AS database,
       current_user AS role,
       r.rolsuper AS superuser,
       pg_catalog.pg_has_role(current_user, 'pg_read_all_stats', 'USAGE') AS reads_all_stats,
       pg_catalog.pg_is_in_recovery() AS in_recovery,
       current_setting('max_connections')::integer AS max_connections,
       current_setting('superuser_reserved_connections')::integer AS reserved_connections,
       current_setting('shared_buffers') AS shared_buffers,
       current_setting('synchronous_commit') AS synchronous_commit,
       current_setting('autovacuum') AS autovacuum,
       current_setting('track_counts') AS track_counts,
       current_setting('idle_in_transaction_session_timeout') AS idle_in_transaction_timeout,
       (SELECT count(*)::integer
        FROM pg_catalog.pg_stat_activity AS a
        WHERE a.backend_type = 'client backend'
           OR (a.backend_type IS NULL AND a.usesysid IS NOT NULL)) AS client_connections,
       (SELECT d.stats_reset
        FROM pg_catalog.pg_stat_database AS d
        WHERE d.datname = current_database()) AS stats_reset,
       EXISTS (SELECT 1 FROM pg_catalog.pg_namespace AS n WHERE n.nspname = 'adk') AS has_schema
FROM pg_catalog.pg_roles AS r
WHERE r.rolname = current_user;
