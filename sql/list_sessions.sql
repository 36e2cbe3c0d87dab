-- name: list_sessions
-- One page of an app's sessions (all users) in (update_time, user_id, id) order, after the
-- keyset position ($2, $3, $4); the first page passes (NULL, '', ''). No events.
-- $1 app_name text
-- $2 after_update_time timestamptz
-- $3 after_user_id text
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
WHERE s.app_name = $1
  AND (s.update_time, s.user_id, s.id)
      > (coalesce($2::timestamptz, '-infinity'), $3::text, $4::text)
ORDER BY s.update_time, s.user_id, s.id
LIMIT $5::integer;
