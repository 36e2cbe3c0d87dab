-- name: citus_nodes
-- The cluster's active primary nodes (run only where the citus extension is installed) and
-- how many shards of adk tables each holds (a reference table's one shard is on every node).
-- returns: rows (node text: host:port, is_coordinator boolean, shards bigint), coordinator
--   first
SELECT n.nodename || ':' || n.nodeport AS node,
       n.groupid = 0 AS is_coordinator,
       (SELECT count(*)
        FROM pg_dist_placement AS p
        JOIN pg_dist_shard AS s ON s.shardid = p.shardid
        JOIN pg_catalog.pg_class AS c ON c.oid = s.logicalrelid
        WHERE p.groupid = n.groupid AND c.relnamespace = 'adk'::regnamespace) AS shards
FROM pg_dist_node AS n
WHERE n.isactive AND n.noderole = 'primary'
ORDER BY n.groupid;
