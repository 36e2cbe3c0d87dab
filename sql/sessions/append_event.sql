-- name: append_event
-- Append one event and apply its state delta, in one statement. It is written unless the
-- session is missing, its revision is not $4 (NULL: not checked), or an event with its id
-- and timestamp is stored; then nothing is written, and the row says what is stored.
-- The state delta comes split by scope ($6-$8, made by the client from the event's
-- actions.state_delta, temp: keys dropped), each merged into its row with || (shallow, null
-- kept). The session's update_time becomes the event's timestamp (ADK's last_update_time),
-- its write_time the server's now(), and its revision grows by one; the event records that
-- revision (the change feed's position; its trigger announces the event at commit).
-- citus: one shard (user_id = $2); an app: delta also writes app_states, a reference table, on every node
-- $1 app_name text
-- $2 user_id text
-- $3 session_id text
-- $4 expected_revision bigint (NULL = do not check)
-- $5 event text (the Event as a JSON object, snake_case field names, no null members; its id
--   and timestamp members are ignored: $9 and $10 are stored)
-- $6 session_delta text (a JSON object: the delta's keys without a scope prefix)
-- $7 app_delta text (a JSON object with the app: prefix removed, or NULL)
-- $8 user_delta text (a JSON object with the user: prefix removed, or NULL)
-- $9 event_id text
-- $10 event_timestamp text (epoch seconds: a float8 as text that reads back exactly)
-- returns: one row: revision, update_time (epoch float8): the session after the write, NULL
--          when nothing was written; stored_revision, stored_update_time: the session as this
--          statement found it, NULL when missing (only when nothing was written); same_event:
--          NULL when no event with this id and timestamp is stored, else whether it is this
--          one (same columns)
WITH event AS (
    SELECT $5::text::jsonb AS doc
), stored AS (
    -- The stored event with this id and timestamp, compared column by column with what this
    -- statement would insert. Every column of both events indexes is bound to a parameter,
    -- so either index finds it in one probe whatever the planner's statistics say.
    SELECT e.invocation_id = coalesce(event.doc ->> 'invocation_id', '')
               AND e.author = coalesce(event.doc ->> 'author', '')
               AND e.branch IS NOT DISTINCT FROM event.doc ->> 'branch'
               AND e.content IS NOT DISTINCT FROM event.doc -> 'content'
               AND e.actions = coalesce(event.doc -> 'actions', '{}'::jsonb)
               AND e.extra = event.doc - '{id,invocation_id,author,branch,timestamp,content,actions}'::text[]
               AS same
    FROM adk.events AS e, event
    WHERE e.app_name = $1 AND e.user_id = $2 AND e.session_id = $3
      AND e."timestamp" = $10::text::float8 AND e.id = $9::text
), updated AS (
    UPDATE adk.sessions AS s
    SET state = s.state || $6::text::jsonb,
        revision = s.revision + 1,
        update_time = to_timestamp($10::text::float8),
        write_time = now()
    WHERE s.app_name = $1 AND s.user_id = $2 AND s.id = $3
      AND ($4::bigint IS NULL OR s.revision = $4::bigint)
      AND NOT EXISTS (SELECT FROM stored)
    RETURNING s.revision, s.update_time
), app AS (
    INSERT INTO adk.app_states AS a (app_name, state)
    SELECT $1, $7::text::jsonb FROM updated WHERE $7::text IS NOT NULL
    ON CONFLICT ON CONSTRAINT app_states_pkey
    DO UPDATE SET state = a.state || EXCLUDED.state, update_time = EXCLUDED.update_time
    RETURNING 1
), usr AS (
    -- Lock order: the session row (updated), then the app row, then the user row, as in
    -- create_session. Reading app here makes its insert run, and lock, before this one.
    INSERT INTO adk.user_states AS u (app_name, user_id, state)
    SELECT $1, $2, $8::text::jsonb FROM updated
    WHERE $8::text IS NOT NULL AND (SELECT count(*) FROM app) >= 0
    ON CONFLICT ON CONSTRAINT user_states_pkey
    DO UPDATE SET state = u.state || EXCLUDED.state, update_time = EXCLUDED.update_time
), inserted AS (
    -- An event of this id with another timestamp, or one a concurrent writer committed after
    -- this statement began, makes this insert fail on events_pkey: nothing is written.
    INSERT INTO adk.events AS e (app_name, user_id, session_id, id, invocation_id, author,
                                 branch, "timestamp", content, actions, extra, revision)
    SELECT $1, $2, $3, $9::text,
           coalesce(event.doc ->> 'invocation_id', ''),
           coalesce(event.doc ->> 'author', ''),
           event.doc ->> 'branch',
           $10::text::float8,
           event.doc -> 'content',
           coalesce(event.doc -> 'actions', '{}'::jsonb),
           event.doc - '{id,invocation_id,author,branch,timestamp,content,actions}'::text[],
           updated.revision
    FROM event, updated
)
-- The session as found is read only when nothing was written (a lazily evaluated subquery).
SELECT u.revision,
       extract(epoch FROM u.update_time)::float8 AS update_time,
       CASE WHEN u.revision IS NULL THEN
           (SELECT s.revision FROM adk.sessions AS s
            WHERE s.app_name = $1 AND s.user_id = $2 AND s.id = $3) END AS stored_revision,
       CASE WHEN u.revision IS NULL THEN
           (SELECT extract(epoch FROM s.update_time)::float8 FROM adk.sessions AS s
            WHERE s.app_name = $1 AND s.user_id = $2 AND s.id = $3) END AS stored_update_time,
       (SELECT stored.same FROM stored) AS same_event
FROM (VALUES (true)) AS one (row)
LEFT JOIN updated AS u ON true;
