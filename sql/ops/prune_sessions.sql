-- name: prune_sessions
-- Examine the next $3 sessions of an app in key order after ($4, $5) and delete those the
-- server has not written since the cutoff (write_time); their events go by
-- events_session_fkey ON DELETE CASCADE, and their session-scoped artifacts (with every
-- version) are deleted with them (user: artifacts stay, as user state does). Each batch
-- reads exactly its $3 sessions through sessions_pkey, whatever the planner's statistics
-- say (the cutoff only filters what that ordered read found), so a whole prune reads each
-- session once. Rows another transaction holds are skipped (SKIP LOCKED), so a live session
-- is never waited for, and the re-check after locking keeps a session that was just written.
-- citus: one server (FOR UPDATE SKIP LOCKED over many users; prune_sessions_citus on Citus)
-- $1 app_name text
-- $2 cutoff timestamptz
-- $3 batch_size integer
-- $4 after_user_id text (the first batch passes '')
-- $5 after_id text (the first batch passes '')
-- returns: one row: sessions, events, artifacts (bigint: deleted in this batch), and
--          last_user_id, last_id: the key of the last session examined (NULL when none was
--          left)
WITH examined AS (
    SELECT s.user_id, s.id
    FROM adk.sessions AS s
    WHERE s.app_name = $1::text AND (s.user_id, s.id) > ($4::text, $5::text)
    ORDER BY s.user_id, s.id
    LIMIT $3::integer
), doomed AS (
    SELECT s.app_name, s.user_id, s.id
    FROM examined AS x
    JOIN adk.sessions AS s ON s.app_name = $1::text AND s.user_id = x.user_id AND s.id = x.id
    WHERE s.write_time < $2::timestamptz
    FOR UPDATE OF s SKIP LOCKED
), gone AS (
    DELETE FROM adk.sessions AS s
    USING doomed AS d
    WHERE s.app_name = d.app_name AND s.user_id = d.user_id AND s.id = d.id
    RETURNING 1
), gone_artifacts AS (
    -- No foreign key ties artifacts to sessions (ADK saves artifacts of sessions it never
    -- stored): they go here, by key. Their versions and contents cascade.
    DELETE FROM adk.artifacts AS a
    USING doomed AS d
    WHERE a.app_name = d.app_name AND a.user_id = d.user_id AND a.session_id = d.id
    RETURNING 1
), last AS (
    SELECT x.user_id, x.id FROM examined AS x ORDER BY x.user_id DESC, x.id DESC LIMIT 1
)
-- Every part of the statement sees the snapshot from before the delete: these are the
-- events the cascade removes.
SELECT (SELECT count(*) FROM gone) AS sessions,
       (SELECT count(*) FROM doomed AS d
        JOIN adk.events AS e
          ON e.app_name = d.app_name AND e.user_id = d.user_id AND e.session_id = d.id)
           AS events,
       (SELECT count(*) FROM gone_artifacts) AS artifacts,
       (SELECT last.user_id FROM last) AS last_user_id,
       (SELECT last.id FROM last) AS last_id;
