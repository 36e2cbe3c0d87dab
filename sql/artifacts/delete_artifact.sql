-- name: delete_artifact
-- Delete an artifact: its row, and by ON DELETE CASCADE every version and every byte. A save
-- of the same file waits for this statement (the row's lock) and then starts again at 0.
-- citus: one shard (user_id = $2)
-- $1 app_name text
-- $2 user_id text
-- $3 session_id text ('' for a user-scoped artifact)
-- $4 filename text
-- returns: one row, or none when there was no such artifact: versions (integer: how many
--   versions it had)
DELETE FROM adk.artifacts AS a
WHERE a.app_name = $1::text AND a.user_id = $2::text AND a.session_id = $3::text
  AND a.filename = $4::text
RETURNING a.next_version AS versions;
