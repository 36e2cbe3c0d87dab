-- name: import_memory
-- Insert one exported memory unless the user already has a memory with its id (then it is
-- left as it is). The search vector is built as add_memories builds it, from search_text in
-- the exported configuration and the codes the importer cut from it.
-- citus: one shard (the user_id of the line)
-- $1 memory text (an export memory line)
-- $2 codes text (the hex codes of search_text's words; see adk_pg.memory.text)
-- returns: one row (imported: boolean)
WITH doc AS (
    SELECT $1::text::jsonb AS d
), inserted AS (
    INSERT INTO adk.memories AS m (app_name, user_id, id, session_id, event_id, author,
                                   event_time, time_text, content, custom_metadata,
                                   search_config, search_text, search, create_time,
                                   update_time, deleted_time)
    SELECT d ->> 'app_name', d ->> 'user_id', d ->> 'id', d ->> 'session_id',
           d ->> 'event_id', d ->> 'author', (d ->> 'event_time')::float8, d ->> 'time_text',
           nullif(d -> 'content', 'null'::jsonb), d -> 'custom_metadata',
           (d ->> 'search_config')::regconfig,
           d ->> 'search_text',
           CASE WHEN d ->> 'deleted_time' IS NULL
                THEN to_tsvector((d ->> 'search_config')::regconfig, d ->> 'search_text')
                     || to_tsvector('simple', $2::text) END,
           (d ->> 'create_time')::timestamptz, (d ->> 'update_time')::timestamptz,
           (d ->> 'deleted_time')::timestamptz
    FROM doc
    ON CONFLICT ON CONSTRAINT memories_pkey DO NOTHING
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM inserted) AS imported;
