-- name: delete_user_memories
-- Forget a user: delete every memory of the user in the app, deleted ones included (nothing
-- of theirs is kept). Adding their sessions again remembers them again.
-- citus: one shard (user_id = $2)
-- $1 app_name text
-- $2 user_id text
-- returns: one row: deleted (integer: rows removed)
WITH gone AS (
    DELETE FROM adk.memories AS m
    WHERE m.app_name = $1 AND m.user_id = $2
    RETURNING 1
)
SELECT count(*)::integer AS deleted FROM gone;
