-- name: delete_memory
-- Delete one memory: its content, text and search vector go, its ids stay (deleted_time set),
-- so that adding its session to memory again does not bring it back.
-- citus: one shard (user_id = $2)
-- $1 app_name text
-- $2 user_id text
-- $3 memory_id text
-- returns: one row if a memory was deleted, none if there was none (or it was deleted before)
UPDATE adk.memories AS m
SET content = NULL,
    search_text = NULL,
    search = NULL,
    custom_metadata = '{}'::jsonb,
    deleted_time = now(),
    update_time = now()
WHERE m.app_name = $1 AND m.user_id = $2 AND m.id = $3 AND m.deleted_time IS NULL
RETURNING m.id;
