-- name: watch_channel
-- The NOTIFY channel of an app's changes (see migration 0012), for a watcher to LISTEN on.
-- citus: one server (the change feed: LISTEN/NOTIFY are per node)
-- $1 app_name text
-- returns: one row: channel (text)
SELECT adk.change_channel($1::text) AS channel;
