-- name: list_events
-- One page of a session's events, keyset-paginated on (timestamp, id): the first $7 events
-- after the position ($4, $5) going forward, or before it going backward when $6. The first
-- page passes (-Infinity, '') forward or (Infinity, '') backward. Each branch is one range
-- scan of events_session_time_idx; the branch not taken is skipped by its one-time filter.
-- One more event than the page is read: when it exists, the position of the page's last
-- event (in the direction read) is where the next page starts.
-- citus: one shard (user_id = $2)
-- $1 app_name text
-- $2 user_id text
-- $3 session_id text
-- $4 after_timestamp text (a float8 as text that reads back exactly)
-- $5 after_id text
-- $6 newest_first boolean
-- $7 page_size integer (NULL = every remaining event)
-- returns: one row: session_exists (boolean), events (text: a JSON array of the page's
--          events, oldest first), next_timestamp (float8), next_id (text): the position after
--          the page, NULL when no event follows it
WITH numbered AS (
    -- n: the place in the direction read (1 = nearest the position), numbered as the index
    -- scan returns the rows, so nothing is sorted.
    (SELECT e.id, e."timestamp", e.document,
            row_number() OVER (ORDER BY e."timestamp", e.id) AS n
     FROM adk.event_documents AS e
     WHERE e.app_name = $1 AND e.user_id = $2 AND e.session_id = $3
       AND NOT $6::boolean
       AND (e."timestamp", e.id) > ($4::text::float8, $5::text)
     ORDER BY e."timestamp", e.id
     LIMIT $7::integer + 1)
    UNION ALL
    (SELECT e.id, e."timestamp", e.document,
            row_number() OVER (ORDER BY e."timestamp" DESC, e.id DESC) AS n
     FROM adk.event_documents AS e
     WHERE e.app_name = $1 AND e.user_id = $2 AND e.session_id = $3
       AND $6::boolean
       AND (e."timestamp", e.id) < ($4::text::float8, $5::text)
     ORDER BY e."timestamp" DESC, e.id DESC
     LIMIT $7::integer + 1)
), page AS (
    SELECT * FROM numbered AS p WHERE $7::integer IS NULL OR p.n <= $7::integer
), next AS (
    SELECT p."timestamp", p.id FROM page AS p
    WHERE p.n = $7::integer AND EXISTS (SELECT 1 FROM numbered AS q WHERE q.n > $7::integer)
)
SELECT EXISTS (SELECT 1 FROM adk.sessions AS s
               WHERE s.app_name = $1 AND s.user_id = $2 AND s.id = $3) AS session_exists,
       (SELECT '[' || coalesce(string_agg(p.document, ',' ORDER BY p."timestamp", p.id), '')
               || ']'
        FROM page AS p) AS events,
       (SELECT next."timestamp" FROM next) AS next_timestamp,
       (SELECT next.id FROM next) AS next_id;
