-- name: get_user_state
-- The user-scope state of one user of one app (keys without the user: prefix).
-- citus: one shard (user_id = $2)
-- $1 app_name text
-- $2 user_id text
-- returns: one row (state), or none when the user has no state yet
SELECT u.state
FROM adk.user_states AS u
WHERE u.app_name = $1 AND u.user_id = $2;
