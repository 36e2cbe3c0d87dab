-- name: list_user_sessions
-- One page of one user's sessions in (update_time, id) order, after the keyset position
-- ($3, $4); the first page passes (NULL, ''). No events. The page comes back as one JSON
-- array built here (see list_sessions.sql for its shape), so that the client parses one
-- document instead of decoding three jsonb values per session.
-- citus: one shard (user_id = $2)
-- $1 app_name text
-- $2 user_id text
-- $3 after_update_time timestamptz
-- $4 after_id text
-- $5 page_size integer (NULL = every remaining session)
-- returns: one row: sessions (text), revisions (text, a JSON array of int), and
--          next_update_us, next_user_id, next_id: the keyset position of the page's last
--          session when more follow
WITH page AS (
    SELECT p.user_id, p.id, p.state::text AS state, p.revision, p.update_time,
           row_number() OVER (ORDER BY p.update_time, p.id) AS n
    FROM (SELECT s.user_id, s.id, s.state, s.revision, s.update_time
          FROM adk.sessions AS s
          WHERE s.app_name = $1 AND s.user_id = $2
            AND (s.update_time, s.id) > (coalesce($3::timestamptz, '-infinity'), $4::text)
          ORDER BY s.update_time, s.id
          -- One more row than asked tells whether another page follows (NULL + 1: all).
          LIMIT $5::integer + 1) AS p
), scope AS (
    -- The app: and user: keys every session of this user shows, as JSON object members
    -- in their stored order; and whether floats print exactly (see adk.event_documents).
    SELECT (SELECT string_agg(to_json('app:' || kv.key)::text || ': ' || kv.value::text, ', '
                              ORDER BY kv.n)
            FROM adk.app_states AS a, jsonb_each(a.state) WITH ORDINALITY AS kv(key, value, n)
            WHERE a.app_name = $1) AS app_members,
           (SELECT string_agg(to_json('user:' || kv.key)::text || ': ' || kv.value::text, ', '
                              ORDER BY kv.n)
            FROM adk.user_states AS u, jsonb_each(u.state) WITH ORDINALITY AS kv(key, value, n)
            WHERE u.app_name = $1 AND u.user_id = $2) AS user_members,
           current_setting('extra_float_digits')::integer > 0 AS exact_floats
), shown AS (
    SELECT page.n, page.revision,
           '{"id": ' || to_json(page.id)::text
               || ', "app_name": ' || to_json($1::text)::text
               || ', "user_id": ' || to_json(page.user_id)::text
               -- Session keys, then app: keys, then user: keys, as ADK merges them.
               || ', "state": ' || CASE
                      WHEN scope.app_members IS NULL AND scope.user_members IS NULL THEN page.state
                      ELSE '{' || concat_ws(', ',
                               nullif(substr(page.state, 2, length(page.state) - 2), ''),
                               scope.app_members, scope.user_members) || '}' END
               || ', "last_update_time": ' || CASE WHEN scope.exact_floats
                      THEN date_part('epoch', page.update_time)::text
                      ELSE adk.float8_text(date_part('epoch', page.update_time)) END
               || '}' AS document
    FROM page, scope
    WHERE $5::integer IS NULL OR page.n <= $5::integer
), next AS (
    SELECT last.user_id, last.id,
           (extract(epoch FROM last.update_time) * 1000000)::bigint AS update_us
    FROM page AS last
    WHERE last.n = $5::integer AND (SELECT count(*) FROM page) > $5::integer
)
SELECT '[' || coalesce(string_agg(shown.document, ', ' ORDER BY shown.n), '') || ']' AS sessions,
       -- A JSON array, not bigint[]: arrays cost a type lookup on each new connection.
       '[' || coalesce(string_agg(shown.revision::text, ',' ORDER BY shown.n), '') || ']'
           AS revisions,
       (SELECT next.update_us FROM next) AS next_update_us,
       (SELECT next.user_id FROM next) AS next_user_id,
       (SELECT next.id FROM next) AS next_id
FROM shown;
