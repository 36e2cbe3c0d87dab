-- name: export_user_states
-- User-state export lines, optionally of one app and/or one user.
-- citus: one shard with a user, every shard without (export)
-- $1 app_name text (NULL = every app)
-- $2 user_id text (NULL = every user)
-- returns: rows (line: a one-line JSON object: type, app_name, user_id, state, update_time),
--   by app and user
SELECT json_build_object(
           'type', 'user_state',
           'app_name', u.app_name,
           'user_id', u.user_id,
           'state', u.state,
           'update_time',
           to_char(u.update_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))::text
           AS line
FROM adk.user_states AS u
WHERE ($1::text IS NULL OR u.app_name = $1::text)
  AND ($2::text IS NULL OR u.user_id = $2::text)
ORDER BY u.app_name, u.user_id;
