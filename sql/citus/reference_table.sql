-- name: reference_table
-- Make one adk table a reference table: a copy on every node, so a statement of one shard
-- can read it locally (app_states: every session of an app reads its app state). A write
-- goes to every copy.
-- $1 table_name text (schema-qualified)
-- returns: one row (the function's void result, unused)
SELECT create_reference_table($1::text::regclass) AS referenced;
