-- name: export_app_states
-- App-state export lines: the app filter's app (every app when NULL); with a user filter,
-- only the apps where that user has a session or user state.
-- citus: reference (app_states: a copy on every node)
-- $1 app_name text (NULL = every app)
-- $2 user_id text (NULL = no user filter)
-- returns: rows (line: a one-line JSON object: type, app_name, state, update_time), by app
SELECT json_build_object(
           'type', 'app_state',
           'app_name', a.app_name,
           'state', a.state,
           'update_time',
           to_char(a.update_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))::text
           AS line
FROM adk.app_states AS a
WHERE ($1::text IS NULL OR a.app_name = $1::text)
  AND ($2::text IS NULL
       OR EXISTS (SELECT 1 FROM adk.sessions AS s
                  WHERE s.app_name = a.app_name AND s.user_id = $2::text)
       OR EXISTS (SELECT 1 FROM adk.user_states AS u
                  WHERE u.app_name = a.app_name AND u.user_id = $2::text))
ORDER BY a.app_name;
