-- name: export_memories
-- Memory export lines, optionally of one app and/or one user: every column a person or an
-- import needs, deleted memories included (so that a deletion survives the move). The search
-- vector is not exported: an import builds it again from search_text.
-- citus: one shard with a user, every shard without (export)
-- $1 app_name text (NULL = every app)
-- $2 user_id text (NULL = every user)
-- returns: rows (line: a one-line JSON object: type, app_name, user_id, id, session_id,
--   event_id, author, event_time, time_text, content, custom_metadata, search_config,
--   search_text, create_time, update_time, deleted_time), by app, user and id
SELECT json_build_object(
           'type', 'memory',
           'app_name', m.app_name,
           'user_id', m.user_id,
           'id', m.id,
           'session_id', m.session_id,
           'event_id', m.event_id,
           'author', m.author,
           -- the exact double, whatever the session's extra_float_digits
           'event_time', adk.float8_text(m.event_time)::json,
           'time_text', m.time_text,
           'content', m.content,
           'custom_metadata', m.custom_metadata,
           'search_config', m.search_config::text,
           'search_text', m.search_text,
           'create_time', to_char(m.create_time AT TIME ZONE 'UTC',
                                  'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
           'update_time', to_char(m.update_time AT TIME ZONE 'UTC',
                                  'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
           'deleted_time', to_char(m.deleted_time AT TIME ZONE 'UTC',
                                   'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))::text
           AS line
FROM adk.memories AS m
WHERE ($1::text IS NULL OR m.app_name = $1::text)
  AND ($2::text IS NULL OR m.user_id = $2::text)
ORDER BY m.app_name, m.user_id, m.id;
