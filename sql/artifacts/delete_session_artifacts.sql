-- name: delete_session_artifacts
-- Delete every session-scoped artifact of the given sessions of one app (their versions and
-- bytes go by cascade); user-scoped artifacts (session_id '') always stay, as user state
-- does. For pruning: the sessions are given as two parallel arrays.
-- citus: every shard of the users in $2 (prune)
-- $1 app_name text
-- $2 user_ids text[] (the sessions' user ids)
-- $3 session_ids text[] (the sessions' ids, parallel to $2)
-- returns: one row: artifacts, versions, bytes (bigint: deleted)
WITH doomed AS (
    SELECT DISTINCT s.user_id, s.session_id
    FROM unnest($2::text[], $3::text[]) AS s(user_id, session_id)
    WHERE s.session_id <> ''
), doomed_bytes AS MATERIALIZED (
    -- Read before the delete (Citus runs each part in the order written): the bytes the
    -- cascade removes.
    SELECT coalesce(sum(c.size), 0)::bigint AS n
    FROM doomed AS d
    JOIN adk.artifact_contents AS c
      ON c.app_name = $1::text AND c.user_id = d.user_id AND c.session_id = d.session_id
), gone AS (
    DELETE FROM adk.artifacts AS a
    USING doomed AS d
    WHERE a.app_name = $1::text AND a.user_id = d.user_id AND a.session_id = d.session_id
    RETURNING a.next_version
)
SELECT (SELECT count(*) FROM gone) AS artifacts,
       (SELECT coalesce(sum(g.next_version), 0) FROM gone AS g)::bigint AS versions,
       (SELECT b.n FROM doomed_bytes AS b) AS bytes;
