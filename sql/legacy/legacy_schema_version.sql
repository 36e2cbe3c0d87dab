-- name: legacy_schema_version
-- The schema version ADK recorded in adk_internal_metadata (v1 databases only). Unqualified
-- table name: the reader's connection has search_path set to the --schema being read.
-- returns: one row (value), or none when the row is missing
SELECT m.value FROM adk_internal_metadata AS m WHERE m.key = 'schema_version';
