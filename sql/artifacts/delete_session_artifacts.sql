-- name: delete_session_artifacts
-- Delete every session-scoped artifact of the given sessions of one app (their versions and
-- bytes go by cascade); user-scoped artifacts (session_id '') always stay, as user state
-- does. For pruning: the sessions are given as two parallel arrays.
-- $1 app_name text
-- $2 user_ids text[] (the sessions' user ids)
-- $3 session_ids text[] (the sessions' ids, parallel to $2)
-- returns: one row: artifacts, versions, bytes (bigint: deleted)
WITH doomed AS (
    SELECT DISTINCT s.user_id, s.session_id
    FROM unnest($2::text[], $3::text[]) AS s(user_id, session_id)
    WHERE s.session_id <> ''
), gone AS (
    DELETE FROM adk.artifacts AS a
    USING doomed AS d
    WHERE a.app_name = $1::text AND a.user_id = d.user_id AND a.session_id = d.session_id
    RETURNING a.next_version
)
-- Every part of the statement sees the snapshot from before the delete: these are the bytes
-- the cascade removes.
SELECT (SELECT count(*) FROM gone) AS artifacts,
       (SELECT coalesce(sum(g.next_version), 0) FROM gone AS g)::bigint AS versions,
       (SELECT coalesce(sum(c.size), 0)
        FROM doomed AS d
        JOIN adk.artifact_contents AS c
          ON c.app_name = $1::text AND c.user_id = d.user_id AND c.session_id = d.session_id
       )::bigint AS bytes;
