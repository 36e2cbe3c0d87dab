-- name: export_artifact_versions
-- One page of artifact versions with their bytes, in key order (app_name, user_id,
-- session_id, filename, version) after the keyset position ($3 .. $7; the first page passes
-- '', '', '', '', -1). A page holds at most $8 versions and stops before the version that
-- would take its payload past $9 bytes (it always holds at least one version): a page of big
-- artifacts stays bounded in memory. Bytes are read only for the versions returned.
-- citus: one shard with a user, every shard without (export)
-- $1 app_name text (NULL = every app)
-- $2 user_id text (NULL = every user)
-- $3 after_app_name text
-- $4 after_user_id text
-- $5 after_session_id text
-- $6 after_filename text
-- $7 after_version integer
-- $8 page_size integer
-- $9 page_bytes bigint
-- returns: rows (app_name, user_id, session_id ('' for user scope), filename, version, kind,
--   mime_type, part and custom_metadata (JSON text: the same on a connection without the
--   pool's jsonb codec), sha256, size, create_time (timestamptz), data)
WITH page AS (
    SELECT v.app_name, v.user_id, v.session_id, v.filename, v.version, v.kind, v.mime_type,
           v.part, v.custom_metadata, v.sha256, v.size, v.create_time,
           sum(v.size) OVER (ORDER BY v.app_name, v.user_id, v.session_id, v.filename,
                                      v.version
                             ROWS UNBOUNDED PRECEDING) AS running
    FROM adk.artifact_versions AS v
    WHERE ($1::text IS NULL OR v.app_name = $1::text)
      AND ($2::text IS NULL OR v.user_id = $2::text)
      AND (v.app_name, v.user_id, v.session_id, v.filename, v.version)
          > ($3::text, $4::text, $5::text, $6::text, $7::integer)
    ORDER BY v.app_name, v.user_id, v.session_id, v.filename, v.version
    LIMIT $8::integer
)
SELECT p.app_name,
       p.user_id,
       p.session_id,
       p.filename,
       p.version,
       p.kind,
       p.mime_type,
       p.part::text AS part,
       p.custom_metadata::text AS custom_metadata,
       p.sha256,
       p.size,
       p.create_time,
       c.data
FROM page AS p
LEFT JOIN adk.artifact_contents AS c
  ON c.app_name = p.app_name AND c.user_id = p.user_id AND c.session_id = p.session_id
 AND c.filename = p.filename AND c.sha256 = p.sha256
WHERE p.running - p.size < $9::bigint OR p.running = p.size
ORDER BY p.app_name, p.user_id, p.session_id, p.filename, p.version;
