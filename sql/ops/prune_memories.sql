-- name: prune_memories
-- Examine the next $3 memories in key order after ($4, $5, $6) (of app $1, or of every app
-- when it is NULL) and delete those not written since the cutoff (update_time), but a
-- deleted memory that must stay deleted (see plan_prune_memories). Rows another
-- transaction holds are skipped (SKIP LOCKED), and the re-check after locking keeps a
-- memory that was just written.
-- citus: one server (FOR UPDATE SKIP LOCKED over many users; prune_memories_citus on Citus)
-- $1 app_name text (NULL = every app)
-- $2 cutoff timestamptz
-- $3 batch_size integer
-- $4 after_app_name text (the first batch passes '')
-- $5 after_user_id text (the first batch passes '')
-- $6 after_id text (the first batch passes '')
-- returns: one row: memories (bigint: deleted in this batch), and last_app_name,
--          last_user_id, last_id: the key of the last memory examined (NULL when none was left)
WITH examined AS (
    SELECT m.app_name, m.user_id, m.id
    FROM adk.memories AS m
    WHERE ($1::text IS NULL OR m.app_name = $1::text)
      AND (m.app_name, m.user_id, m.id) > ($4::text, $5::text, $6::text)
    ORDER BY m.app_name, m.user_id, m.id
    LIMIT $3::integer
), doomed AS (
    SELECT m.app_name, m.user_id, m.id
    FROM examined AS x
    JOIN adk.memories AS m
      ON m.app_name = x.app_name AND m.user_id = x.user_id AND m.id = x.id
    WHERE m.update_time < $2::timestamptz
      AND NOT (m.deleted_time IS NOT NULL
               AND (m.session_id IS NULL OR EXISTS (SELECT 1 FROM adk.sessions AS s
                           WHERE s.app_name = m.app_name AND s.user_id = m.user_id
                             AND s.id = m.session_id)))
    FOR UPDATE OF m SKIP LOCKED
), gone AS (
    DELETE FROM adk.memories AS m
    USING doomed AS d
    WHERE m.app_name = d.app_name AND m.user_id = d.user_id AND m.id = d.id
    RETURNING 1
), last AS (
    SELECT x.app_name, x.user_id, x.id FROM examined AS x
    ORDER BY x.app_name DESC, x.user_id DESC, x.id DESC LIMIT 1
)
SELECT (SELECT count(*) FROM gone) AS memories,
       (SELECT last.app_name FROM last) AS last_app_name,
       (SELECT last.user_id FROM last) AS last_user_id,
       (SELECT last.id FROM last) AS last_id;
