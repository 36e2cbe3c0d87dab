-- name: add_memories
-- Add or refresh a user's memories, in one statement. A memory already stored is rewritten
-- only when something in it changed (adding a session again writes nothing new), and a
-- deleted one stays deleted unless $5 (an explicit add_memory of that id brings it back). Rows are written in id order, so concurrent writers of
-- overlapping batches lock them in the same order.
-- citus: one shard (user_id = $2)
-- $1 app_name text
-- $2 user_id text
-- $3 search_config text (a text search configuration, e.g. english)
-- $4 memories text (a JSON array of {id, session_id, event_id, author, event_time, time_text,
--   content, custom_metadata, search_text, codes}, ids distinct)
-- $5 revive boolean (whether a deleted memory of the same id is stored again)
-- returns: one row: written (integer: memories inserted or changed)
WITH written AS (
    INSERT INTO adk.memories AS m (app_name, user_id, id, session_id, event_id, author,
                                   event_time, time_text, content, custom_metadata,
                                   search_config, search_text, search)
    SELECT $1, $2, d ->> 'id', d ->> 'session_id', d ->> 'event_id', d ->> 'author',
           (d ->> 'event_time')::float8, d ->> 'time_text', d -> 'content',
           coalesce(d -> 'custom_metadata', '{}'::jsonb), $3::regconfig, d ->> 'search_text',
           to_tsvector($3::regconfig, d ->> 'search_text')
               || to_tsvector('simple', d ->> 'codes')
    FROM jsonb_array_elements($4::text::jsonb) AS d
    ORDER BY d ->> 'id'
    ON CONFLICT ON CONSTRAINT memories_pkey DO UPDATE
    SET session_id = EXCLUDED.session_id,
        event_id = EXCLUDED.event_id,
        author = EXCLUDED.author,
        event_time = EXCLUDED.event_time,
        time_text = EXCLUDED.time_text,
        content = EXCLUDED.content,
        custom_metadata = EXCLUDED.custom_metadata,
        search_config = EXCLUDED.search_config,
        search_text = EXCLUDED.search_text,
        search = EXCLUDED.search,
        update_time = EXCLUDED.update_time,
        deleted_time = NULL
    WHERE (m.deleted_time IS NULL OR $5::boolean)
      AND (m.session_id, m.event_id, m.author, m.event_time, m.time_text, m.content,
           m.custom_metadata, m.search_config, m.search_text)
          IS DISTINCT FROM
          (EXCLUDED.session_id, EXCLUDED.event_id, EXCLUDED.author, EXCLUDED.event_time,
           EXCLUDED.time_text, EXCLUDED.content, EXCLUDED.custom_metadata,
           EXCLUDED.search_config, EXCLUDED.search_text)
    RETURNING 1
)
SELECT count(*)::integer AS written FROM written;
