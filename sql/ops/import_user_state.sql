-- name: import_user_state
-- Insert one exported user state unless that user already has one (then it is left as it is).
-- citus: one shard (the user_id of the line)
-- $1 user_state text (an export user_state line: app_name, user_id, state, update_time)
-- returns: one row (imported: boolean)
WITH doc AS (
    SELECT $1::text::jsonb AS d
), inserted AS (
    INSERT INTO adk.user_states AS u (app_name, user_id, state, update_time)
    SELECT doc.d ->> 'app_name', doc.d ->> 'user_id', doc.d -> 'state',
           (doc.d ->> 'update_time')::timestamptz
    FROM doc
    ON CONFLICT ON CONSTRAINT user_states_pkey DO NOTHING
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM inserted) AS imported;
