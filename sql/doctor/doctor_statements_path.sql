-- name: doctor_statements_path
-- Puts the schema of the pg_stat_statements extension on this transaction's search_path, so
-- that doctor_statements finds its view wherever it was installed.
-- returns: one row when the extension is installed in this database, else none
SELECT n.nspname AS schema,
       set_config('search_path', quote_ident(n.nspname) || ', pg_catalog', true) AS search_path
FROM pg_catalog.pg_extension AS e
JOIN pg_catalog.pg_namespace AS n ON n.oid = e.extnamespace
WHERE e.extname = 'pg_stat_statements';
