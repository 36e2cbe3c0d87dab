-- name: doctor_statements
-- The statements on schema adk that took the most time in this database, from
-- pg_stat_statements (run after doctor_statements_path, in the same transaction). The text
-- is normalised by the extension: constants are $n placeholders. Another role's statements
-- read '<insufficient privilege>' without pg_read_all_stats, and do not match. Utility
-- statements (the migrations' DDL, SET, BEGIN) are left out: only queries are ranked.
-- $1 max_rows integer
-- returns: at most $1 rows, the most total time first
SELECT s.query,
       s.calls,
       s.total_exec_time AS total_ms,
       s.mean_exec_time AS mean_ms,
       s.rows,
       s.shared_blks_hit,
       s.shared_blks_read
FROM pg_stat_statements AS s
WHERE s.dbid = (SELECT d.oid FROM pg_catalog.pg_database AS d
                WHERE d.datname = current_database())
  AND s.query LIKE '%adk.%'
  AND s.query ~* '^\s*(select|insert|update|delete|with|merge)\M'
ORDER BY s.total_exec_time DESC
LIMIT $1;
