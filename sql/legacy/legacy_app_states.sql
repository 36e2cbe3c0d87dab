-- name: legacy_app_states
-- Every ADK app state (naive UTC update_time as stored). Unqualified table name: the
-- reader's connection has search_path set to the --schema being read.
-- returns: rows (app_name, state, update_time), by app
SELECT a.app_name, a.state, a.update_time
FROM app_states AS a
ORDER BY a.app_name;
