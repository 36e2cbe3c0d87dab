-- name: create_session_citus
-- create_session on tables distributed by Citus: the same row, from the function
-- adk.create_session_routed (migration 0013), which the coordinator hands whole to the node
-- holding the user's shards.
-- citus: one shard (user_id = $2); an app: delta also writes app_states, a reference table, on every node
-- $1 app_name text
-- $2 user_id text
-- $3 session_id text
-- $4 session_state text (a JSON object, no prefixes)
-- $5 app_delta text (a JSON object with the app: prefix removed, or NULL)
-- $6 user_delta text (a JSON object with the user: prefix removed, or NULL)
-- returns: one row: session state, revision, update_time (epoch float8), app_state, user_state
SELECT r.state, r.revision, r.update_time, r.app_state, r.user_state
FROM adk.create_session_routed($1, $2, $3, $4, $5, $6) AS r;
