-- name: count_artifact_versions
-- How many artifacts and versions an export with these filters writes, and their payload
-- bytes (each version counted, as the export writes each version's bytes).
-- citus: one shard with a user, every shard without (export)
-- $1 app_name text (NULL = every app)
-- $2 user_id text (NULL = every user)
-- returns: one row: artifacts, versions, bytes (bigint)
SELECT a.artifacts, v.versions, v.bytes
FROM (SELECT count(*) AS artifacts
      FROM adk.artifacts AS a
      WHERE ($1::text IS NULL OR a.app_name = $1::text)
        AND ($2::text IS NULL OR a.user_id = $2::text)) AS a,
     (SELECT count(*) AS versions, coalesce(sum(v.size), 0)::bigint AS bytes
      FROM adk.artifact_versions AS v
      WHERE ($1::text IS NULL OR v.app_name = $1::text)
        AND ($2::text IS NULL OR v.user_id = $2::text)) AS v;
