-- name: plan_key_walks
-- For the rest of the current transaction, plan key-ordered walks (export pages, prune
-- batches) as ordered index scans, never as a scan of the whole table and a sort: without
-- statistics (a new database, autovacuum off) the planner believes tables tiny and would
-- pick the latter for every page, which makes a whole export or prune quadratic.
-- citus: no table (planner settings of the transaction)
-- returns: one row (the settings, unused)
SELECT set_config('enable_seqscan', 'off', true) AS seqscan,
       set_config('enable_bitmapscan', 'off', true) AS bitmapscan,
       set_config('enable_sort', 'off', true) AS sort;
