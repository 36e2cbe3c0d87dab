-- name: legacy_v1_events
-- The events (schema v1: event_data jsonb) of a set of sessions, given as three parallel
-- arrays of keys, in session then (timestamp, id) order. Unqualified table names: the
-- reader's connection has search_path set to the --schema being read.
-- $1 app_names text[]
-- $2 user_ids text[]
-- $3 session_ids text[]
-- returns: rows (app_name, user_id, session_id, id, invocation_id, timestamp, event_data)
SELECT e.app_name, e.user_id, e.session_id, e.id, e.invocation_id, e."timestamp",
       e.event_data
FROM unnest($1::text[], $2::text[], $3::text[]) AS k(app_name, user_id, session_id)
JOIN events AS e
  ON e.app_name = k.app_name AND e.user_id = k.user_id AND e.session_id = k.session_id
ORDER BY e.app_name, e.user_id, e.session_id, e."timestamp", e.id;
