-- name: doctor_replica
-- On a standby: how long ago the last replayed transaction committed on the primary (NULL
-- before any was replayed), and whether WAL is still arriving.
-- returns: one row
SELECT extract(epoch FROM now() - pg_catalog.pg_last_xact_replay_timestamp())::float8
           AS replay_delay_seconds,
       pg_catalog.pg_last_wal_receive_lsn() IS NOT NULL AS receiving;
