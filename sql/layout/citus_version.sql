-- name: citus_version
-- The version of the citus extension installed in this database, or no row without it.
-- returns: rows (version text): one, or none
SELECT e.extversion AS version
FROM pg_catalog.pg_extension AS e
WHERE e.extname = 'citus';
