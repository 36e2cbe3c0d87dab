-- name: citus_functions
-- The adk functions Citus routes by an argument (run only where the citus extension is
-- installed): a call is handed whole to the node holding that argument's shard.
-- returns: rows (function_name text), by name
SELECT p.proname::text AS function_name
FROM pg_dist_object AS o
JOIN pg_catalog.pg_proc AS p ON p.oid = o.objid
WHERE o.classid = 'pg_catalog.pg_proc'::regclass
  AND o.distribution_argument_index IS NOT NULL
  AND p.pronamespace = 'adk'::regnamespace
ORDER BY p.proname;
