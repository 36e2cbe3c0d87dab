-- name: load_artifact
-- One version of an artifact with its bytes: the given version, or the latest when $5 is
-- NULL (artifact_versions_pkey read backwards). The bytes come back in slices of 64 KiB, one
-- row each (a version without bytes: one row, chunk NULL): asyncpg copies a row larger than
-- its 256 KiB socket reads once more and allocates it afresh (a 1 MiB load took 2.1 ms
-- instead of 1.3 ms), and a slice under 128 KiB is allocated by the client's heap, not
-- mapped and unmapped afresh (64 KiB: 1.26 ms a MiB, 128 KiB: 1.48). substring() of an
-- out-of-line value reads only the TOAST chunks of its slice, and one statement reads every
-- slice from the same row version. Each row says where its slice starts, and the caller puts
-- them in that order: an ORDER BY here would sort (copy) the whole payload in the server
-- first (1.97 ms a MiB against 1.15 ms without).
-- citus: one shard (user_id = $2)
-- $1 app_name text
-- $2 user_id text
-- $3 session_id text ('' for a user-scoped artifact)
-- $4 filename text
-- $5 version integer (NULL = the latest)
-- returns: no row when there is no such version; else one row per slice, in any order:
--   version, kind, mime_type, part (JSON text), custom_metadata (jsonb), sha256, size,
--   create_time (epoch float8), start (integer: the slice's first byte, from 1), chunk
--   (bytea; NULL for kind 'part')
WITH found AS (
    SELECT v.version,
           v.kind,
           v.mime_type,
           v.part::text AS part,
           v.custom_metadata,
           v.sha256,
           v.size,
           extract(epoch FROM v.create_time)::float8 AS create_time
    FROM adk.artifact_versions AS v
    WHERE v.app_name = $1::text AND v.user_id = $2::text AND v.session_id = $3::text
      AND v.filename = $4::text AND ($5::integer IS NULL OR v.version = $5::integer)
    ORDER BY v.version DESC
    LIMIT 1
)
SELECT f.version,
       f.kind,
       f.mime_type,
       f.part,
       f.custom_metadata,
       f.sha256,
       f.size,
       f.create_time,
       s.start,
       substring(c.data FROM s.start FOR 65536) AS chunk
FROM found AS f
LEFT JOIN adk.artifact_contents AS c
  ON c.app_name = $1::text AND c.user_id = $2::text AND c.session_id = $3::text
 AND c.filename = $4::text AND c.sha256 = f.sha256
CROSS JOIN LATERAL generate_series(1, greatest(c.size, 1)::integer, 65536) AS s(start);
