-- name: get_app_state
-- The app-scope state of one app (keys without the app: prefix).
-- citus: reference (app_states: a copy on every node)
-- $1 app_name text
-- returns: one row (state), or none when the app has no state yet
SELECT a.state
FROM adk.app_states AS a
WHERE a.app_name = $1;
