-- name: get_session
-- One session with its app and user state and the selected events, from one snapshot.
-- Events: those with timestamp >= $5 (all when NULL), the newest $4 of them (all when NULL),
-- returned oldest first as one JSON array, ties broken by id.
-- citus: one shard (user_id = $2)
-- $1 app_name text
-- $2 user_id text
-- $3 session_id text
-- $4 num_recent_events integer (NULL = no limit)
-- $5 after_timestamp text (a float8 as text that reads back exactly; NULL = no filter)
-- returns: one row, or none: state, revision, update_time, app_state, user_state, events (text)
SELECT s.state,
       s.revision,
       extract(epoch FROM s.update_time)::float8 AS update_time,
       coalesce(a.state, '{}'::jsonb) AS app_state,
       coalesce(u.state, '{}'::jsonb) AS user_state,
       (SELECT '[' || coalesce(string_agg(recent.document, ','
                                         ORDER BY recent."timestamp", recent.id), '') || ']'
        FROM (SELECT d."timestamp", d.id, d.document
              FROM adk.event_documents AS d
              WHERE d.app_name = $1 AND d.user_id = $2 AND d.session_id = $3
                AND ($5::text IS NULL OR d."timestamp" >= $5::text::float8)
              ORDER BY d."timestamp" DESC, d.id DESC
              LIMIT $4::integer) AS recent) AS events
FROM adk.sessions AS s
LEFT JOIN adk.app_states AS a ON a.app_name = s.app_name
LEFT JOIN adk.user_states AS u ON u.app_name = s.app_name AND u.user_id = s.user_id
WHERE s.app_name = $1 AND s.user_id = $2 AND s.id = $3;
