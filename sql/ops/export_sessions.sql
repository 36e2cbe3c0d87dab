-- name: export_sessions
-- One page of sessions as export lines, in (app_name, user_id, id) order after the keyset
-- position ($3, $4, $5) (the first page passes '', '', ''). Each line is a one-line JSON
-- object: type, app_name, user_id, id, revision, create_time and update_time (UTC,
-- microseconds, 'Z'), state (session scope), initial_state (the session state it was created
-- with; null when not recorded) and events -- each event as ADK's Event JSON
-- (snake_case, no null branch/content; adk.event_documents), oldest first.
-- citus: one shard with a user, every shard without (export)
-- $1 app_name text (NULL = every app)
-- $2 user_id text (NULL = every user)
-- $3 after_app_name text
-- $4 after_user_id text
-- $5 after_id text
-- $6 page_size integer
-- returns: rows (app_name, user_id, id, event_count, line)
WITH page AS MATERIALIZED (
    -- The page first, then its events: the page is one ordered read of sessions_pkey.
    SELECT s.app_name, s.user_id, s.id, s.revision, s.create_time, s.update_time, s.state,
           s.initial_state
    FROM adk.sessions AS s
    WHERE ($1::text IS NULL OR s.app_name = $1::text)
      AND ($2::text IS NULL OR s.user_id = $2::text)
      AND (s.app_name, s.user_id, s.id) > ($3::text, $4::text, $5::text)
    ORDER BY s.app_name, s.user_id, s.id
    LIMIT $6::integer
), ev AS (
    -- The page's events, each session's as one JSON array (an inner join grouped by the
    -- session's key: Citus runs it on each shard against the page it was sent).
    SELECT e.app_name, e.user_id, e.session_id,
           count(*) AS event_count,
           '[' || string_agg(e.document, ',' ORDER BY e."timestamp", e.id) || ']' AS events
    FROM page AS p
    JOIN adk.event_documents AS e
      ON e.app_name = p.app_name AND e.user_id = p.user_id AND e.session_id = p.id
    GROUP BY e.app_name, e.user_id, e.session_id
)
SELECT p.app_name,
       p.user_id,
       p.id,
       coalesce(ev.event_count, 0) AS event_count,
       json_build_object(
           'type', 'session',
           'app_name', p.app_name,
           'user_id', p.user_id,
           'id', p.id,
           'revision', p.revision,
           'create_time',
           to_char(p.create_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
           'update_time',
           to_char(p.update_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
           'state', p.state,
           'initial_state', p.initial_state,
           'events', coalesce(ev.events, '[]')::json)::text AS line
FROM page AS p
LEFT JOIN ev ON ev.app_name = p.app_name AND ev.user_id = p.user_id AND ev.session_id = p.id
ORDER BY p.app_name, p.user_id, p.id;
