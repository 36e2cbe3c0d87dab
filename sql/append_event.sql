-- name: append_event
-- Append one event and apply its state delta, in one statement: nothing is written unless the
-- session exists, its revision is still $4 (NULL: not checked) and the event id is new.
-- The delta comes split by scope ($6-$8, read from the event's actions.state_delta by the
-- client, temp: keys dropped): each is merged into its row with || (shallow, null kept).
-- The session's update_time becomes the event's timestamp and its revision grows by one.
-- Zero rows back means nothing was written; check_append then says why.
-- $1 app_name text
-- $2 user_id text
-- $3 session_id text
-- $4 expected_revision bigint (NULL = do not check)
-- $5 event text (the Event as a JSON object, snake_case field names)
-- $6 session_delta text (a JSON object: the delta's keys without a scope prefix)
-- $7 app_delta text (a JSON object with the app: prefix removed, or NULL)
-- $8 user_delta text (a JSON object with the user: prefix removed, or NULL)
-- returns: one row (revision, update_time), or none when nothing was written
WITH event AS (
    SELECT $5::text::jsonb AS doc
), updated AS (
    UPDATE adk.sessions AS s
    SET state = s.state || $6::text::jsonb,
        revision = s.revision + 1,
        update_time = to_timestamp((event.doc ->> 'timestamp')::float8)
    FROM event
    WHERE s.app_name = $1 AND s.user_id = $2 AND s.id = $3
      AND ($4::bigint IS NULL OR s.revision = $4::bigint)
      AND NOT EXISTS (SELECT 1 FROM adk.events AS e
                      WHERE e.app_name = $1 AND e.user_id = $2 AND e.session_id = $3
                        AND e.id = event.doc ->> 'id')
    RETURNING s.revision, s.update_time
), app AS (
    INSERT INTO adk.app_states AS a (app_name, state)
    SELECT $1, $7::text::jsonb FROM updated WHERE $7::text IS NOT NULL
    ON CONFLICT ON CONSTRAINT app_states_pkey
    DO UPDATE SET state = a.state || EXCLUDED.state, update_time = now()
    RETURNING 1
), usr AS (
    INSERT INTO adk.user_states AS u (app_name, user_id, state)
    SELECT $1, $2, $8::text::jsonb FROM updated WHERE $8::text IS NOT NULL
    ON CONFLICT ON CONSTRAINT user_states_pkey
    DO UPDATE SET state = u.state || EXCLUDED.state, update_time = now()
    RETURNING 1
), inserted AS (
    INSERT INTO adk.events AS e (app_name, user_id, session_id, id, invocation_id, author,
                                 branch, "timestamp", content, actions, extra)
    SELECT $1, $2, $3,
           event.doc ->> 'id',
           coalesce(event.doc ->> 'invocation_id', ''),
           coalesce(event.doc ->> 'author', ''),
           event.doc ->> 'branch',
           (event.doc ->> 'timestamp')::float8,
           event.doc -> 'content',
           coalesce(event.doc -> 'actions', '{}'::jsonb),
           event.doc - '{id,invocation_id,author,branch,timestamp,content,actions}'::text[]
    FROM event, updated
    RETURNING 1
)
-- Lock order: the session row (updated), then app, then user, as in create_session.
SELECT updated.revision,
       extract(epoch FROM updated.update_time)::float8 AS update_time,
       (SELECT count(*) FROM app) AS app_rows,
       (SELECT count(*) FROM usr) AS user_rows,
       (SELECT count(*) FROM inserted) AS event_rows
FROM updated;
