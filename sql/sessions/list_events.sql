-- name: list_events
-- One page of a session's events, keyset-paginated on (timestamp, id): the first $7 events
-- after the position ($4, $5) going forward, or before it going backward when $6. The first
-- page passes (-Infinity, '') forward or (Infinity, '') backward. Each branch is one range
-- scan of events_session_time_idx; the branch not taken is skipped by its one-time filter.
-- $1 app_name text
-- $2 user_id text
-- $3 session_id text
-- $4 after_timestamp float8
-- $5 after_id text
-- $6 newest_first boolean
-- $7 page_size integer (NULL = every remaining event)
-- returns: one row: session_exists (boolean), events (text: a JSON array, oldest first)
WITH page AS (
    (SELECT e.id, e."timestamp", e.document
     FROM adk.event_documents AS e
     WHERE e.app_name = $1 AND e.user_id = $2 AND e.session_id = $3
       AND NOT $6::boolean
       AND (e."timestamp", e.id) > ($4::float8, $5::text)
     ORDER BY e."timestamp", e.id
     LIMIT $7::integer)
    UNION ALL
    (SELECT e.id, e."timestamp", e.document
     FROM adk.event_documents AS e
     WHERE e.app_name = $1 AND e.user_id = $2 AND e.session_id = $3
       AND $6::boolean
       AND (e."timestamp", e.id) < ($4::float8, $5::text)
     ORDER BY e."timestamp" DESC, e.id DESC
     LIMIT $7::integer)
)
SELECT EXISTS (SELECT 1 FROM adk.sessions AS s
               WHERE s.app_name = $1 AND s.user_id = $2 AND s.id = $3) AS session_exists,
       (SELECT '[' || coalesce(string_agg(p.document, ',' ORDER BY p."timestamp", p.id), '')
               || ']'
        FROM page AS p) AS events;
