-- name: watch_listening
-- Whether this connection is listening on the channel (false behind a pooler that hands each
-- statement another server connection, PgBouncer's transaction mode, where LISTEN is lost),
-- and whether changes are announced here at all (the setting adk_pg.change_feed, migration
-- 0012: off unless the database, the role or the connection turns it on).
-- citus: one server (the change feed: LISTEN/NOTIFY are per node)
-- $1 channel text
-- returns: one row: listening (boolean), feed_on (boolean)
SELECT $1::text = ANY (ARRAY(SELECT pg_catalog.pg_listening_channels())) AS listening,
       coalesce(current_setting('adk_pg.change_feed', true), '') = 'on' AS feed_on;
