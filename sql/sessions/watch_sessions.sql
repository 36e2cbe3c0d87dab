-- name: watch_sessions
-- The sessions a watcher follows, with their revisions: what it compares with what it has
-- seen when it (re)connects. One range scan of sessions_pkey.
-- citus: one server (the change feed: LISTEN/NOTIFY are per node)
-- $1 app_name text
-- $2 user_id text (NULL = every user of the app)
-- $3 session_id text (NULL = every session; needs $2)
-- returns: one row per session: user_id, id, revision
SELECT s.user_id, s.id, s.revision
FROM adk.sessions AS s
WHERE s.app_name = $1
  AND ($2::text IS NULL OR s.user_id = $2::text)
  AND ($3::text IS NULL OR s.id = $3::text)
ORDER BY s.user_id, s.id;
