-- name: legacy_v0_events
-- The events (schema v0: one column per field, actions pickled) of a set of sessions, given
-- as three parallel arrays of keys, in session then (timestamp, id) order. The pickles are
-- returned as bytes and never unpickled here. Unqualified table names: the reader's
-- connection has search_path set to the --schema being read.
-- $1 app_names text[]
-- $2 user_ids text[]
-- $3 session_ids text[]
-- returns: rows (app_name, user_id, session_id, id, invocation_id, author, actions,
--   long_running_tool_ids_json, branch, timestamp, content, grounding_metadata,
--   custom_metadata, usage_metadata, citation_metadata, partial, turn_complete, error_code,
--   error_message, interrupted, input_transcription, output_transcription)
SELECT e.app_name, e.user_id, e.session_id, e.id, e.invocation_id, e.author, e.actions,
       e.long_running_tool_ids_json, e.branch, e."timestamp", e.content,
       e.grounding_metadata, e.custom_metadata, e.usage_metadata, e.citation_metadata,
       e.partial, e.turn_complete, e.error_code, e.error_message, e.interrupted,
       e.input_transcription, e.output_transcription
FROM unnest($1::text[], $2::text[], $3::text[]) AS k(app_name, user_id, session_id)
JOIN events AS e
  ON e.app_name = k.app_name AND e.user_id = k.user_id AND e.session_id = k.session_id
ORDER BY e.app_name, e.user_id, e.session_id, e."timestamp", e.id;
