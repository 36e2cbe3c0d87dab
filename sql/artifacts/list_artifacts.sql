-- name: list_artifacts
-- Artifacts for `adk-pg artifacts list`, most recently saved first, each with its latest
-- version's number, kind, MIME type and size, its number of versions and the bytes they take.
-- citus: one shard with a user, every shard without (adk-pg artifacts list)
-- $1 app_name text (NULL = every app)
-- $2 user_id text (NULL = every user)
-- $3 session_id text (NULL = every scope; a session id = that session's artifacts only)
-- $4 row_limit integer
-- returns: rows (app_name, user_id, session_id ('' for user scope), filename, version, kind,
--   mime_type, size, versions, stored_bytes, update_time (timestamptz))
SELECT a.app_name,
       a.user_id,
       a.session_id,
       a.filename,
       v.version,
       v.kind,
       v.mime_type,
       v.size,
       (SELECT count(*)
        FROM adk.artifact_versions AS n
        WHERE n.app_name = a.app_name AND n.user_id = a.user_id
          AND n.session_id = a.session_id AND n.filename = a.filename) AS versions,
       (SELECT coalesce(sum(c.size), 0)
        FROM adk.artifact_contents AS c
        WHERE c.app_name = a.app_name AND c.user_id = a.user_id
          AND c.session_id = a.session_id AND c.filename = a.filename)::bigint AS stored_bytes,
       a.update_time
FROM adk.artifacts AS a
LEFT JOIN LATERAL (
    SELECT lv.version, lv.kind, lv.mime_type, lv.size
    FROM adk.artifact_versions AS lv
    WHERE lv.app_name = a.app_name AND lv.user_id = a.user_id
      AND lv.session_id = a.session_id AND lv.filename = a.filename
    ORDER BY lv.version DESC
    LIMIT 1
) AS v ON true
WHERE ($1::text IS NULL OR a.app_name = $1::text)
  AND ($2::text IS NULL OR a.user_id = $2::text)
  AND ($3::text IS NULL OR a.session_id = $3::text)
ORDER BY a.update_time DESC, a.app_name, a.user_id, a.session_id, a.filename
LIMIT $4::integer;
