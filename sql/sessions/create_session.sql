-- name: create_session
-- Insert a new session (its state recorded as its initial_state too, for fork_session) and
-- merge its initial app: and user: state, in one statement.
-- A duplicate id fails on sessions_pkey and writes nothing. Locks: session, app, user.
-- citus: one shard (user_id = $2); an app: delta also writes app_states, a reference table, on every node
-- $1 app_name text
-- $2 user_id text
-- $3 session_id text
-- $4 session_state text (a JSON object, no prefixes)
-- $5 app_delta text (a JSON object with the app: prefix removed, or NULL)
-- $6 user_delta text (a JSON object with the user: prefix removed, or NULL)
-- returns: one row: session state, revision, update_time (epoch float8), app_state, user_state
WITH new_session AS (
    INSERT INTO adk.sessions AS s (app_name, user_id, id, state, initial_state)
    VALUES ($1, $2, $3, $4::text::jsonb, $4::text::jsonb)
    RETURNING s.state, s.revision, s.update_time
), app AS (
    INSERT INTO adk.app_states AS a (app_name, state)
    SELECT $1, $5::text::jsonb FROM new_session WHERE $5::text IS NOT NULL
    ON CONFLICT ON CONSTRAINT app_states_pkey
    DO UPDATE SET state = a.state || EXCLUDED.state, update_time = EXCLUDED.update_time
    RETURNING a.state
), usr AS (
    INSERT INTO adk.user_states AS u (app_name, user_id, state)
    SELECT $1, $2, $6::text::jsonb FROM new_session WHERE $6::text IS NOT NULL
    ON CONFLICT ON CONSTRAINT user_states_pkey
    DO UPDATE SET state = u.state || EXCLUDED.state, update_time = EXCLUDED.update_time
    RETURNING u.state
)
-- The scalar subqueries run left to right, so the app row is locked before the user row,
-- the same order append_event uses: two writers never wait on each other in a cycle.
SELECT n.state,
       n.revision,
       extract(epoch FROM n.update_time)::float8 AS update_time,
       coalesce((SELECT app.state FROM app),
                (SELECT a.state FROM adk.app_states AS a WHERE a.app_name = $1),
                '{}'::jsonb) AS app_state,
       coalesce((SELECT usr.state FROM usr),
                (SELECT u.state FROM adk.user_states AS u
                 WHERE u.app_name = $1 AND u.user_id = $2),
                '{}'::jsonb) AS user_state
FROM new_session AS n;
