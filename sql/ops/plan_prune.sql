-- name: plan_prune
-- The prune cutoff (the server's now() minus the age) and what is older than it: the
-- sessions the server has not written since (write_time, never the client-supplied
-- update_time), and their events. Read-only: `prune --dry-run` shows this. Each count
-- computes the cutoff itself (no CTE for them to share: Citus cannot run subqueries that
-- refer to one beside distributed tables); now() is the transaction's start, so all agree.
-- citus: every shard (counts what is older than the cutoff)
-- $1 older_than_seconds float8
-- $2 app_name text (NULL = every app)
-- returns: one row: cutoff (timestamptz), sessions, events, artifacts (bigint: the
--   session-scoped artifacts of those sessions)
SELECT now() - make_interval(secs => $1::float8) AS cutoff,
       (SELECT count(*) FROM adk.sessions AS s
        WHERE s.write_time < now() - make_interval(secs => $1::float8)
          AND ($2::text IS NULL OR s.app_name = $2::text)) AS sessions,
       (SELECT count(*) FROM adk.sessions AS s
        JOIN adk.events AS e
          ON e.app_name = s.app_name AND e.user_id = s.user_id AND e.session_id = s.id
        WHERE s.write_time < now() - make_interval(secs => $1::float8)
          AND ($2::text IS NULL OR s.app_name = $2::text)) AS events,
       (SELECT count(*) FROM adk.sessions AS s
        JOIN adk.artifacts AS a
          ON a.app_name = s.app_name AND a.user_id = s.user_id AND a.session_id = s.id
        WHERE s.write_time < now() - make_interval(secs => $1::float8)
          AND ($2::text IS NULL OR s.app_name = $2::text)) AS artifacts;
