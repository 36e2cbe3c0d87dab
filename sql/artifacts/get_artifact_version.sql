-- name: get_artifact_version
-- The metadata of one version of an artifact (no bytes): the given version, or the latest
-- when $5 is NULL.
-- citus: one shard (user_id = $2)
-- $1 app_name text
-- $2 user_id text
-- $3 session_id text ('' for a user-scoped artifact)
-- $4 filename text
-- $5 version integer (NULL = the latest)
-- returns: one row, or none: version, kind, mime_type, custom_metadata
--   (jsonb), sha256, size, create_time (epoch float8)
SELECT v.version,
       v.kind,
       v.mime_type,
       v.custom_metadata,
       v.sha256,
       v.size,
       extract(epoch FROM v.create_time)::float8 AS create_time
FROM adk.artifact_versions AS v
WHERE v.app_name = $1::text AND v.user_id = $2::text AND v.session_id = $3::text
  AND v.filename = $4::text AND ($5::integer IS NULL OR v.version = $5::integer)
ORDER BY v.version DESC
LIMIT 1;
