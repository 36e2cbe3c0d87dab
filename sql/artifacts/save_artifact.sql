-- name: save_artifact
-- Save a new version of an artifact, in one statement: the artifact's row is inserted (version
-- 0) or its counter incremented under the row's lock, so concurrent saves of one file get
-- distinct, gapless versions and none is lost; then the bytes (unless this artifact already
-- holds the same sha256) and the version row. All or nothing.
-- citus: one shard (user_id = $2)
-- $1 app_name text
-- $2 user_id text
-- $3 session_id text ('' for a user-scoped artifact)
-- $4 filename text
-- $5 kind text ('bytes', 'text' or 'part')
-- $6 mime_type text (or NULL)
-- $7 part text (the Part as a JSON object, without its payload)
-- $8 custom_metadata text (a JSON object)
-- $9 data bytea (the payload; NULL for kind 'part')
-- $10 sha256 bytea (of data; NULL for kind 'part')
-- returns: one row: version (integer), create_time (epoch float8), stored (boolean: the bytes
--   were written; false when this artifact already held them, or for kind 'part')
WITH head AS (
    -- The counter row is locked first: everything else below reads from it.
    INSERT INTO adk.artifacts AS a (app_name, user_id, session_id, filename, next_version,
                                    create_time, update_time)
    SELECT $1::text, $2::text, $3::text, $4::text, 1, t.now, t.now
    FROM (SELECT clock_timestamp() AS now) AS t
    ON CONFLICT ON CONSTRAINT artifacts_pkey
    DO UPDATE SET next_version = a.next_version + 1, update_time = EXCLUDED.update_time
    RETURNING a.next_version - 1 AS version, a.update_time
), content AS (
    INSERT INTO adk.artifact_contents AS c (app_name, user_id, session_id, filename, sha256,
                                            size, data)
    SELECT $1::text, $2::text, $3::text, $4::text, $10::bytea, octet_length($9::bytea),
           $9::bytea
    FROM head
    WHERE $9::bytea IS NOT NULL
    ON CONFLICT ON CONSTRAINT artifact_contents_pkey DO NOTHING
    RETURNING 1
), saved AS (
    INSERT INTO adk.artifact_versions AS v (app_name, user_id, session_id, filename, version,
                                            kind, mime_type, part, custom_metadata, sha256,
                                            size, create_time)
    SELECT $1::text, $2::text, $3::text, $4::text, h.version, $5::text, $6::text,
           $7::text::jsonb, $8::text::jsonb, $10::bytea, coalesce(octet_length($9::bytea), 0),
           h.update_time
    FROM head AS h
    RETURNING v.version, v.create_time
)
SELECT s.version,
       extract(epoch FROM s.create_time)::float8 AS create_time,
       EXISTS (SELECT 1 FROM content) AS stored
FROM saved AS s;
