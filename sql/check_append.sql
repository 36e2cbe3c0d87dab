-- name: check_append
-- After append_event changed nothing: does the session exist, and is the event already stored?
-- $1 app_name text
-- $2 user_id text
-- $3 session_id text
-- $4 event_id text
-- returns: one row (revision, update_time, event_exists), or none when the session is missing
SELECT s.revision,
       extract(epoch FROM s.update_time)::float8 AS update_time,
       EXISTS (SELECT 1 FROM adk.events AS e
               WHERE e.app_name = $1 AND e.user_id = $2 AND e.session_id = $3
                 AND e.id = $4) AS event_exists
FROM adk.sessions AS s
WHERE s.app_name = $1 AND s.user_id = $2 AND s.id = $3;
