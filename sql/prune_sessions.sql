-- name: prune_sessions
-- Delete one batch of an app's sessions not updated since the cutoff, oldest first; their
-- events go by events_session_fkey ON DELETE CASCADE. Rows another transaction holds are
-- skipped (SKIP LOCKED), so a live session is never waited for, and the re-check after
-- locking keeps a session that was just updated. One short statement per batch.
-- $1 app_name text
-- $2 cutoff timestamptz
-- $3 batch_size integer
-- returns: one row: sessions, events (bigint: deleted in this batch)
WITH doomed AS (
    SELECT s.app_name, s.user_id, s.id
    FROM adk.sessions AS s
    WHERE s.app_name = $1::text AND s.update_time < $2::timestamptz
    ORDER BY s.update_time
    LIMIT $3::integer
    FOR UPDATE SKIP LOCKED
), gone AS (
    DELETE FROM adk.sessions AS s
    USING doomed AS d
    WHERE s.app_name = d.app_name AND s.user_id = d.user_id AND s.id = d.id
    RETURNING 1
)
-- Every part of the statement sees the snapshot from before the delete: these are the
-- events the cascade removes.
SELECT (SELECT count(*) FROM gone) AS sessions,
       (SELECT count(*) FROM doomed AS d
        JOIN adk.events AS e
          ON e.app_name = d.app_name AND e.user_id = d.user_id AND e.session_id = d.id)
           AS events;
