-- name: legacy_user_states
-- Every ADK user state (naive UTC update_time as stored). Unqualified table name: the
-- reader's connection has search_path set to the --schema being read.
-- returns: rows (app_name, user_id, state, update_time), by app and user
SELECT u.app_name, u.user_id, u.state, u.update_time
FROM user_states AS u
ORDER BY u.app_name, u.user_id;
