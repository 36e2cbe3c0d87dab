-- name: doctor_standbys
-- The standbys streaming from this server (run on a primary only: pg_current_wal_lsn fails
-- during recovery) and how far behind each one is. Lags are NULL to a role without
-- pg_read_all_stats, and while a standby is idle.
-- returns: one row per standby
SELECT coalesce(r.application_name, '') AS application_name,
       host(r.client_addr) AS client_addr,
       r.state,
       r.sync_state,
       extract(epoch FROM r.replay_lag)::float8 AS replay_lag_seconds,
       pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), r.replay_lsn)::bigint
           AS replay_lag_bytes
FROM pg_catalog.pg_stat_replication AS r
ORDER BY r.application_name, r.pid;
