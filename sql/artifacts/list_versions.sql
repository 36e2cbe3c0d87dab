-- name: list_versions
-- The version numbers of an artifact, as one JSON array (decoded by the pool's json codec;
-- an array type would cost asyncpg a type introspection): a read of artifact_versions_pkey.
-- citus: one shard (user_id = $2)
-- $1 app_name text
-- $2 user_id text
-- $3 session_id text ('' for a user-scoped artifact)
-- $4 filename text
-- returns: one row: versions (json: an array of integers, ascending; empty when the artifact
--   does not exist)
SELECT coalesce(json_agg(v.version ORDER BY v.version), '[]'::json) AS versions
FROM adk.artifact_versions AS v
WHERE v.app_name = $1::text AND v.user_id = $2::text AND v.session_id = $3::text
  AND v.filename = $4::text;
