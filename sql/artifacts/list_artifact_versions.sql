-- name: list_artifact_versions
-- The metadata of every version of an artifact (no bytes), oldest first.
-- citus: one shard (user_id = $2)
-- $1 app_name text
-- $2 user_id text
-- $3 session_id text ('' for a user-scoped artifact)
-- $4 filename text
-- returns: rows (version, kind, mime_type, custom_metadata, sha256, size, create_time
--   as epoch float8), in version order; none when the artifact does not exist
SELECT v.version,
       v.kind,
       v.mime_type,
       v.custom_metadata,
       v.sha256,
       v.size,
       extract(epoch FROM v.create_time)::float8 AS create_time
FROM adk.artifact_versions AS v
WHERE v.app_name = $1::text AND v.user_id = $2::text AND v.session_id = $3::text
  AND v.filename = $4::text
ORDER BY v.version;
