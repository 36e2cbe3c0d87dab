-- name: plan_prune_memories
-- The memory prune cutoff (the server's now() minus the age) and the memories older than it:
-- not written since (update_time, set by the server). A deleted memory is kept while its
-- session exists, and always when it has none (events added without a session): adding them
-- again must not bring the memory back. Read-only.
-- citus: every shard (counts what is older than the cutoff)
-- $1 older_than_seconds float8
-- $2 app_name text (NULL = every app)
-- returns: one row: cutoff (timestamptz), memories (bigint)
SELECT now() - make_interval(secs => $1::float8) AS cutoff,
       (SELECT count(*) FROM adk.memories AS m
        WHERE m.update_time < now() - make_interval(secs => $1::float8)
          AND ($2::text IS NULL OR m.app_name = $2::text)
          AND NOT (m.deleted_time IS NOT NULL
                   AND (m.session_id IS NULL OR EXISTS (SELECT 1 FROM adk.sessions AS s
                               WHERE s.app_name = m.app_name AND s.user_id = m.user_id
                                 AND s.id = m.session_id)))) AS memories;
