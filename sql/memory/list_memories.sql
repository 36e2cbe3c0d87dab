-- name: list_memories
-- A user's memories, newest event first (those without a time last), deleted ones left out.
-- citus: one shard (user_id = $2)
-- $1 app_name text
-- $2 user_id text
-- $3 max_results integer
-- returns: rows (id, session_id, event_id, author, event_time, time_text, content text,
--          custom_metadata text)
-- JSON as text: the store reads it whatever codecs the caller's pool has.
SELECT m.id, m.session_id, m.event_id, m.author, m.event_time, m.time_text,
       m.content::text AS content, m.custom_metadata::text AS custom_metadata
FROM adk.memories AS m
WHERE m.app_name = $1 AND m.user_id = $2 AND m.deleted_time IS NULL
ORDER BY m.event_time DESC NULLS LAST, m.id
LIMIT $3::integer;
