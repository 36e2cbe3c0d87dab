-- name: prune_memories_citus
-- prune_memories for tables distributed by Citus: examine the next $3 memories in key order
-- after ($4, $5, $6) (of app $1, or of every app when it is NULL) and delete those not
-- written since the cutoff, but a deleted memory that must stay deleted (see
-- plan_prune_memories). Citus cannot lock rows of several shards in one statement (no FOR
-- UPDATE SKIP LOCKED), so a memory another transaction is writing is waited for, then
-- re-checked: one just written stays.
-- citus: every shard (a batch of many users' memories)
-- $1 app_name text (NULL = every app)
-- $2 cutoff timestamptz
-- $3 batch_size integer
-- $4 after_app_name text (the first batch passes '')
-- $5 after_user_id text (the first batch passes '')
-- $6 after_id text (the first batch passes '')
-- returns: one row: memories (bigint: deleted in this batch), and last_app_name,
--          last_user_id, last_id: the key of the last memory examined (NULL when none was left)
WITH examined AS MATERIALIZED (
    SELECT m.app_name, m.user_id, m.id
    FROM adk.memories AS m
    WHERE ($1::text IS NULL OR m.app_name = $1::text)
      AND (m.app_name, m.user_id, m.id) > ($4::text, $5::text, $6::text)
    ORDER BY m.app_name, m.user_id, m.id
    LIMIT $3::integer
), gone AS (
    DELETE FROM adk.memories AS m
    WHERE (m.app_name, m.user_id, m.id) IN (SELECT x.app_name, x.user_id, x.id
                                            FROM examined AS x)
      AND m.update_time < $2::timestamptz
      AND NOT (m.deleted_time IS NOT NULL
               AND (m.session_id IS NULL OR EXISTS (SELECT 1 FROM adk.sessions AS s
                           WHERE s.app_name = m.app_name AND s.user_id = m.user_id
                             AND s.id = m.session_id)))
    RETURNING 1
)
SELECT (SELECT count(*) FROM gone) AS memories,
       (SELECT x.app_name FROM examined AS x
        ORDER BY x.app_name DESC, x.user_id DESC, x.id DESC LIMIT 1) AS last_app_name,
       (SELECT x.user_id FROM examined AS x
        ORDER BY x.app_name DESC, x.user_id DESC, x.id DESC LIMIT 1) AS last_user_id,
       (SELECT x.id FROM examined AS x
        ORDER BY x.app_name DESC, x.user_id DESC, x.id DESC LIMIT 1) AS last_id;
