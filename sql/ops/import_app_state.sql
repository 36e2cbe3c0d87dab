-- name: import_app_state
-- Insert one exported app state unless the app already has one (then it is left as it is).
-- citus: reference (app_states: a copy on every node)
-- $1 app_state text (an export app_state line: app_name, state, update_time)
-- returns: one row (imported: boolean)
WITH doc AS (
    SELECT $1::text::jsonb AS d
), inserted AS (
    INSERT INTO adk.app_states AS a (app_name, state, update_time)
    SELECT doc.d ->> 'app_name', doc.d -> 'state', (doc.d ->> 'update_time')::timestamptz
    FROM doc
    ON CONFLICT ON CONSTRAINT app_states_pkey DO NOTHING
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM inserted) AS imported;
