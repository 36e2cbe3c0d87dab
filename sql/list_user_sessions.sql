-- name: list_user_sessions
-- One page of one user's sessions in (update_time, id) order, after the keyset position
-- ($3, $4); the first page passes (NULL, ''). No events.
-- $1 app_name text
-- $2 user_id text
-- $3 after_update_time timestamptz
-- $4 after_id text
-- $5 page_size integer (NULL = every remaining session)
-- returns: one row: app_state, sessions (text: a JSON array of objects with user_id, id,
--   state, revision, update_time, update_us, user_state)
SELECT coalesce((SELECT a.state FROM adk.app_states AS a WHERE a.app_name = $1), '{}'::jsonb)
           AS app_state,
       (SELECT coalesce(json_agg(page.doc ORDER BY page.update_time, page.id), '[]')::text
        FROM (SELECT s.update_time,
                     s.id,
                     json_build_object(
                         'user_id', s.user_id, 'id', s.id, 'state', s.state,
                         'revision', s.revision,
                         'update_time', extract(epoch FROM s.update_time)::float8,
                         'update_us', (extract(epoch FROM s.update_time) * 1000000)::bigint,
                         'user_state', coalesce(u.state, '{}'::jsonb)) AS doc
              FROM adk.sessions AS s
              LEFT JOIN adk.user_states AS u
                     ON u.app_name = s.app_name AND u.user_id = s.user_id
              WHERE s.app_name = $1 AND s.user_id = $2
                AND (s.update_time, s.id) > (coalesce($3::timestamptz, '-infinity'), $4::text)
              ORDER BY s.update_time, s.id
              LIMIT $5::integer) AS page) AS sessions;
