-- name: delete_session
-- Delete one session; its events go with it (events_session_fkey ON DELETE CASCADE).
-- App and user state are left alone. A missing session is not an error.
-- citus: one shard (user_id = $2)
-- $1 app_name text
-- $2 user_id text
-- $3 session_id text
-- returns: nothing (the command tag says how many sessions were deleted)
DELETE FROM adk.sessions AS s
WHERE s.app_name = $1 AND s.user_id = $2 AND s.id = $3;
