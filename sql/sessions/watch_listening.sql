-- name: watch_listening
-- Whether this connection is listening on the channel: false behind a pooler that hands each
-- statement another server connection (PgBouncer's transaction mode), where LISTEN is lost.
-- $1 channel text
-- returns: one row: listening (boolean)
SELECT $1::text = ANY (ARRAY(SELECT pg_catalog.pg_listening_channels())) AS listening;
