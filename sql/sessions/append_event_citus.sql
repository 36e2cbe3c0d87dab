-- name: append_event_citus
-- append_event on tables distributed by Citus: the same row, from the function
-- adk.append_event_routed (migration 0013), which the coordinator hands whole to the node
-- holding the user's shards.
-- citus: one shard (user_id = $2); an app: delta also writes app_states, a reference table, on every node
-- $1 app_name text
-- $2 user_id text
-- $3 session_id text
-- $4 expected_revision bigint (NULL = do not check)
-- $5 event text (the Event as a JSON object; see append_event)
-- $6 session_delta text (a JSON object: the delta's keys without a scope prefix)
-- $7 app_delta text (a JSON object with the app: prefix removed, or NULL)
-- $8 user_delta text (a JSON object with the user: prefix removed, or NULL)
-- $9 event_id text
-- $10 event_timestamp text (epoch seconds: a float8 as text that reads back exactly)
-- returns: one row, as append_event's: revision, update_time, stored_revision,
--          stored_update_time, same_event
SELECT r.revision, r.update_time, r.stored_revision, r.stored_update_time, r.same_event
FROM adk.append_event_routed($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) AS r;
