-- name: merge_app_state
-- Merge an app: delta into its app's state row (created when missing), shallow, null kept.
-- On Citus only, where app_states is a reference table (a copy on every node): the first
-- statement of a create or append that carries an app: delta, in the transaction of that
-- write, which is rolled back unless the write is made. Its row is locked first, so every
-- such write locks app, then session, then user row, in that order.
-- citus: reference (app_states: a copy on every node)
-- $1 app_name text
-- $2 app_delta text (a JSON object with the app: prefix removed)
-- returns: nothing (a command)
INSERT INTO adk.app_states AS a (app_name, state)
VALUES ($1::text, $2::text::jsonb)
ON CONFLICT ON CONSTRAINT app_states_pkey
DO UPDATE SET state = a.state || EXCLUDED.state, update_time = EXCLUDED.update_time;
