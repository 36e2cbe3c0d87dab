-- name: prune_sessions_citus
-- prune_sessions for tables distributed by Citus: examine the next $3 sessions of an app in
-- key order after ($4, $5) (each shard sends its first ones, the coordinator keeps the
-- first of all) and delete those the server has not written since the cutoff, with their
-- session-scoped artifacts; their events go by cascade. Citus cannot lock rows of several
-- shards in one statement (no FOR UPDATE SKIP LOCKED), so a session another transaction is
-- writing is waited for, then re-checked: one just written stays. Citus runs each part as a
-- step of its own, in the order written: the events are counted before the delete.
-- citus: every shard (a batch of many users' sessions)
-- $1 app_name text
-- $2 cutoff timestamptz
-- $3 batch_size integer
-- $4 after_user_id text (the first batch passes '')
-- $5 after_id text (the first batch passes '')
-- returns: one row: sessions, events, artifacts (bigint: deleted in this batch), and
--          last_user_id, last_id: the key of the last session examined (NULL when none was
--          left)
WITH examined AS MATERIALIZED (
    SELECT s.user_id, s.id
    FROM adk.sessions AS s
    WHERE s.app_name = $1::text AND (s.user_id, s.id) > ($4::text, $5::text)
    ORDER BY s.user_id, s.id
    LIMIT $3::integer
), doomed_events AS MATERIALIZED (
    SELECT count(*) AS n
    FROM adk.sessions AS s
    JOIN adk.events AS e
      ON e.app_name = s.app_name AND e.user_id = s.user_id AND e.session_id = s.id
    WHERE s.app_name = $1::text AND s.write_time < $2::timestamptz
      AND (s.user_id, s.id) IN (SELECT x.user_id, x.id FROM examined AS x)
), gone AS (
    DELETE FROM adk.sessions AS s
    WHERE s.app_name = $1::text AND s.write_time < $2::timestamptz
      AND (s.user_id, s.id) IN (SELECT x.user_id, x.id FROM examined AS x)
    RETURNING s.user_id, s.id
), gone_artifacts AS (
    -- No foreign key ties artifacts to sessions (ADK saves artifacts of sessions it never
    -- stored): they go here, by key. Their versions and contents cascade.
    DELETE FROM adk.artifacts AS a
    WHERE a.app_name = $1::text AND a.session_id <> ''
      AND (a.user_id, a.session_id) IN (SELECT g.user_id, g.id FROM gone AS g)
    RETURNING 1
)
SELECT (SELECT count(*) FROM gone) AS sessions,
       (SELECT d.n FROM doomed_events AS d) AS events,
       (SELECT count(*) FROM gone_artifacts) AS artifacts,
       (SELECT x.user_id FROM examined AS x ORDER BY x.user_id DESC, x.id DESC LIMIT 1)
           AS last_user_id,
       (SELECT x.id FROM examined AS x ORDER BY x.user_id DESC, x.id DESC LIMIT 1) AS last_id;
