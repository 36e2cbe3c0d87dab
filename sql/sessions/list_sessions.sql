-- name: list_sessions
-- One page of an app's sessions (all users) in (update_time, user_id, id) order, after the
-- keyset position ($2, $3, $4); the first page passes (NULL, '', ''). No events.
-- The page comes back as one JSON array, each session shaped as ADK's Session without
-- events: {"id", "app_name", "user_id", "state", "last_update_time"}, the state merged as
-- ADK merges it (session keys, then app: keys, then user: keys, prefixed); the client parses
-- one document instead of decoding three jsonb values per session.
-- citus: every shard (a whole app's sessions, merged in order by the coordinator)
-- $1 app_name text
-- $2 after_update_time timestamptz
-- $3 after_user_id text
-- $4 after_id text
-- $5 page_size integer (NULL = every remaining session)
-- returns: one row: sessions (text), revisions (text, a JSON array of int), and
--          next_update_us, next_user_id, next_id: the keyset position of the page's last
--          session when more follow
WITH page AS (
    SELECT p.user_id, p.id, p.state::text AS state, p.revision, p.update_time,
           row_number() OVER (ORDER BY p.update_time, p.user_id, p.id) AS n
    FROM (SELECT s.user_id, s.id, s.state, s.revision, s.update_time
          FROM adk.sessions AS s
          -- COLLATE "POSIX" is how sessions_app_update_idx spells app_name (see migration
          -- 0007): only this query can read it, so no lookup by key is ever planned on it.
          WHERE s.app_name COLLATE "POSIX" = $1
            AND (s.update_time, s.user_id, s.id)
                > (coalesce($2::timestamptz, '-infinity'), $3::text, $4::text)
          ORDER BY s.update_time, s.user_id, s.id
          -- One more row than asked tells whether another page follows (NULL + 1: all).
          LIMIT $5::integer + 1) AS p
), app_scope AS (
    -- The app: keys every session shows, as JSON object members in their stored order;
    -- and whether floats print exactly (see adk.event_documents).
    SELECT (SELECT string_agg(to_json('app:' || kv.key)::text || ': ' || kv.value::text, ', '
                              ORDER BY kv.n)
            FROM adk.app_states AS a, jsonb_each(a.state) WITH ORDINALITY AS kv(key, value, n)
            WHERE a.app_name = $1) AS members,
           current_setting('extra_float_digits')::integer > 0 AS exact_floats
), user_scope AS (
    -- The user: keys of each user on the page, likewise.
    SELECT u.user_id,
           string_agg(to_json('user:' || kv.key)::text || ': ' || kv.value::text, ', '
                      ORDER BY kv.n) AS members
    FROM adk.user_states AS u, jsonb_each(u.state) WITH ORDINALITY AS kv(key, value, n)
    WHERE u.app_name = $1 AND u.user_id IN (SELECT page.user_id FROM page)
    GROUP BY u.user_id
), shown AS (
    SELECT page.n, page.revision,
           '{"id": ' || to_json(page.id)::text
               || ', "app_name": ' || to_json($1::text)::text
               || ', "user_id": ' || to_json(page.user_id)::text
               || ', "state": ' || CASE
                      WHEN app_scope.members IS NULL AND user_scope.members IS NULL
                          THEN page.state
                      ELSE '{' || concat_ws(', ',
                               nullif(substr(page.state, 2, length(page.state) - 2), ''),
                               app_scope.members, user_scope.members) || '}' END
               || ', "last_update_time": ' || CASE WHEN app_scope.exact_floats
                      THEN date_part('epoch', page.update_time)::text
                      ELSE adk.float8_text(date_part('epoch', page.update_time)) END
               || '}' AS document
    FROM page
    CROSS JOIN app_scope
    LEFT JOIN user_scope ON user_scope.user_id = page.user_id
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
