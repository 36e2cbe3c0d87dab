-- name: import_session
-- Insert one exported session and its events, in one statement: the session is imported
-- whole or not at all. A session whose key already exists is left exactly as it is and none
-- of the line's events are written (so importing a file twice changes nothing). Events are
-- split into columns as append_event splits them; timestamps are taken as written. The
-- session and its events are stored under $2, the line's id as the importer normalised it.
-- citus: one shard (the user_id of the line)
-- $1 session text (an export session line: app_name, user_id, id, revision, create_time,
--   update_time, state, events, and initial_state when known)
-- $2 session_id text (the id to store: the line's id stripped, or generated when blank)
-- returns: one row: imported (boolean), events (integer: events written)
WITH doc AS (
    SELECT $1::text::jsonb AS d
), new_session AS (
    INSERT INTO adk.sessions AS s (app_name, user_id, id, state, initial_state, revision,
                                   create_time, update_time)
    SELECT doc.d ->> 'app_name',
           doc.d ->> 'user_id',
           $2::text,
           doc.d -> 'state',
           nullif(doc.d -> 'initial_state', 'null'::jsonb),
           (doc.d ->> 'revision')::bigint,
           (doc.d ->> 'create_time')::timestamptz,
           (doc.d ->> 'update_time')::timestamptz
    FROM doc
    ON CONFLICT ON CONSTRAINT sessions_pkey DO NOTHING
    RETURNING s.app_name, s.user_id, s.id
), new_events AS (
    INSERT INTO adk.events AS e (app_name, user_id, session_id, id, invocation_id, author,
                                 branch, "timestamp", content, actions, extra)
    SELECT n.app_name,
           n.user_id,
           n.id,
           ev.doc ->> 'id',
           coalesce(ev.doc ->> 'invocation_id', ''),
           coalesce(ev.doc ->> 'author', ''),
           ev.doc ->> 'branch',
           (ev.doc ->> 'timestamp')::float8,
           nullif(ev.doc -> 'content', 'null'::jsonb),
           coalesce(ev.doc -> 'actions', '{}'::jsonb),
           ev.doc - '{id,invocation_id,author,branch,timestamp,content,actions}'::text[]
    FROM new_session AS n, doc, jsonb_array_elements(doc.d -> 'events') AS ev(doc)
    ON CONFLICT ON CONSTRAINT events_pkey DO NOTHING
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM new_session) AS imported,
       (SELECT count(*) FROM new_events)::integer AS events;
