-- name: list_user_sessions
-- One page of one user's sessions in (update_time, id) order, after the keyset position
-- ($3, $4); the first page passes (NULL, ''). No events.
-- $1 app_name text
-- $2 user_id text
-- $3 after_update_time timestamptz
-- $4 after_id text
-- $5 page_size integer (NULL = every remaining session)
-- returns: rows (user_id, id, state, revision, update_time, update_us, user_state, app_state)
SELECT s.user_id,
       s.id,
       s.state,
       s.revision,
       extract(epoch FROM s.update_time)::float8 AS update_time,
       (extract(epoch FROM s.update_time) * 1000000)::bigint AS update_us,
       coalesce(u.state, '{}'::jsonb) AS user_state,
       coalesce(a.state, '{}'::jsonb) AS app_state
FROM adk.sessions AS s
LEFT JOIN adk.user_states AS u ON u.app_name = s.app_name AND u.user_id = s.user_id
LEFT JOIN adk.app_states AS a ON a.app_name = s.app_name
WHERE s.app_name = $1 AND s.user_id = $2
  AND (s.update_time, s.id) > (coalesce($3::timestamptz, '-infinity'), $4::text)
ORDER BY s.update_time, s.id
LIMIT $5::integer;
