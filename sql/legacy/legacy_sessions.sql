-- name: legacy_sessions
-- One page of ADK sessions (v0 and v1 share this table) in (app_name, user_id, id) order
-- after the keyset position ($1, $2, $3); the first page passes ('', '', ''). The times are
-- ADK's naive UTC timestamps, returned as stored. Unqualified table names: the reader's
-- connection has search_path set to the --schema being read.
-- $1 after_app_name text
-- $2 after_user_id text
-- $3 after_id text
-- $4 page_size integer
-- returns: rows (app_name, user_id, id, state, create_time, update_time)
SELECT s.app_name, s.user_id, s.id, s.state, s.create_time, s.update_time
FROM sessions AS s
WHERE (s.app_name, s.user_id, s.id) > ($1::text, $2::text, $3::text)
ORDER BY s.app_name, s.user_id, s.id
LIMIT $4::integer;
