-- name: import_artifact_version
-- Insert one exported version, idempotently, in one statement: a version already stored
-- under its number is left exactly as it is (whatever it holds) and nothing is written but
-- the artifact's counter, which never goes down (next_version = greatest of the stored one and
-- version + 1), so later saves continue after the imported versions.
-- citus: one shard (user_id = $2)
-- $1 app_name text
-- $2 user_id text
-- $3 session_id text ('' for a user-scoped artifact)
-- $4 filename text
-- $5 version integer
-- $6 kind text
-- $7 mime_type text (or NULL)
-- $8 part text (a JSON object)
-- $9 custom_metadata text (a JSON object)
-- $10 data bytea (NULL for kind 'part')
-- $11 sha256 bytea (of data; NULL for kind 'part')
-- $12 create_time timestamptz
-- returns: one row: imported (boolean), same_content (boolean: the stored version has this
--   sha256 and kind; NULL when none is stored), stored (bigint: 1 when new bytes were written)
WITH head AS (
    INSERT INTO adk.artifacts AS a (app_name, user_id, session_id, filename, next_version,
                                    create_time, update_time)
    VALUES ($1::text, $2::text, $3::text, $4::text, $5::integer + 1, $12::timestamptz,
            $12::timestamptz)
    ON CONFLICT ON CONSTRAINT artifacts_pkey
    DO UPDATE SET next_version = greatest(a.next_version, EXCLUDED.next_version),
                  create_time = least(a.create_time, EXCLUDED.create_time),
                  update_time = greatest(a.update_time, EXCLUDED.update_time)
    RETURNING 1
), content AS (
    -- The bytes first (a version row names them), and only for a version not stored yet.
    INSERT INTO adk.artifact_contents AS c (app_name, user_id, session_id, filename, sha256,
                                            size, data)
    SELECT $1::text, $2::text, $3::text, $4::text, $11::bytea, octet_length($10::bytea),
           $10::bytea
    FROM head
    WHERE $10::bytea IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM adk.artifact_versions AS v
                      WHERE v.app_name = $1::text AND v.user_id = $2::text
                        AND v.session_id = $3::text AND v.filename = $4::text
                        AND v.version = $5::integer)
    ON CONFLICT ON CONSTRAINT artifact_contents_pkey DO NOTHING
    RETURNING 1
), saved AS (
    INSERT INTO adk.artifact_versions AS v (app_name, user_id, session_id, filename, version,
                                            kind, mime_type, part, custom_metadata, sha256,
                                            size, create_time)
    SELECT $1::text, $2::text, $3::text, $4::text, $5::integer, $6::text, $7::text,
           $8::text::jsonb, $9::text::jsonb, $11::bytea, coalesce(octet_length($10::bytea), 0),
           $12::timestamptz
    FROM head
    ON CONFLICT ON CONSTRAINT artifact_versions_pkey DO NOTHING
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM saved) AS imported,
       (SELECT v.sha256 IS NOT DISTINCT FROM $11::bytea AND v.kind = $6::text
        FROM adk.artifact_versions AS v
        WHERE v.app_name = $1::text AND v.user_id = $2::text AND v.session_id = $3::text
          AND v.filename = $4::text AND v.version = $5::integer) AS same_content,
       (SELECT count(*) FROM content) AS stored;
