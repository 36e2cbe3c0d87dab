-- name: list_artifact_keys
-- The names of a session's artifacts and of the user's user-scoped ones ("user:" kept), or
-- of the user-scoped ones only when $3 is NULL, in code point order (Python's sorted()): the
-- "C" collation orders UTF-8 byte-wise. Reads artifacts_pkey only. One JSON array, which
-- the pool's json codec decodes (an array type would cost asyncpg a type introspection).
-- citus: one shard (user_id = $2)
-- $1 app_name text
-- $2 user_id text
-- $3 session_id text (NULL = user-scoped artifacts only)
-- returns: one row: filenames (json: an array of strings, sorted)
SELECT coalesce(json_agg(a.filename ORDER BY a.filename), '[]'::json) AS filenames
FROM adk.artifacts AS a
WHERE a.app_name = $1::text AND a.user_id = $2::text
  AND a.session_id IN ('', $3::text);
