-- name: citus_tables
-- How each adk table is laid out on Citus (run only where the citus extension is installed:
-- it reads the extension's own view): distributed or reference, by which column, with which
-- others colocated, on how many shards, and its size over every node
-- (citus_total_relation_size: the shards' tables, indexes and TOAST; the coordinator's own
-- copy is an empty shell). Tables of the schema that Citus does not manage are not listed.
-- returns: rows (table_name text: unqualified, citus_table_type text, distribution_column
--   text, colocation_id integer, shard_count integer, total_bytes bigint), by table_name
SELECT c.relname::text AS table_name,
       t.citus_table_type::text AS citus_table_type,
       nullif(t.distribution_column::text, '<none>') AS distribution_column,
       t.colocation_id::integer AS colocation_id,
       t.shard_count::integer AS shard_count,
       citus_total_relation_size(t.table_name)::bigint AS total_bytes
FROM citus_tables AS t
JOIN pg_catalog.pg_class AS c ON c.oid = t.table_name
WHERE c.relnamespace = 'adk'::regnamespace
ORDER BY c.relname;
