-- name: list_session_summaries
-- The most recently updated sessions, optionally of one app and/or one user, with their
-- number of events (counted on events_session_time_idx); for `adk-pg sessions list`.
-- citus: one shard with a user, every shard without (adk-pg sessions list)
-- $1 app_name text (NULL = every app)
-- $2 user_id text (NULL = every user)
-- $3 limit integer
-- returns: rows (app_name, user_id, id, revision, create_time, update_time, events),
--   newest update first
SELECT s.app_name,
       s.user_id,
       s.id,
       s.revision,
       s.create_time,
       s.update_time,
       (SELECT count(*) FROM adk.events AS e
        WHERE e.app_name = s.app_name AND e.user_id = s.user_id AND e.session_id = s.id)
           AS events
FROM adk.sessions AS s
WHERE ($1::text IS NULL OR s.app_name = $1::text)
  AND ($2::text IS NULL OR s.user_id = $2::text)
ORDER BY s.update_time DESC, s.app_name, s.user_id, s.id
LIMIT $3::integer;
