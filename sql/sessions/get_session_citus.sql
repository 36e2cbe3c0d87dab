-- name: get_session_citus
-- get_session on tables distributed by Citus: the same row (or none), from the function
-- adk.get_session_routed (migration 0014), which the coordinator hands whole to the node
-- holding the user's shards.
-- citus: one shard (user_id = $2)
-- $1 app_name text
-- $2 user_id text
-- $3 session_id text
-- $4 num_recent_events integer (NULL = no limit)
-- $5 after_timestamp text (a float8 as text that reads back exactly; NULL = no filter)
-- returns: one row, or none: state, revision, update_time, app_state, user_state, events (text)
SELECT r.state, r.revision, r.update_time, r.app_state, r.user_state, r.events
FROM adk.get_session_routed($1, $2, $3, $4, $5) AS r;
