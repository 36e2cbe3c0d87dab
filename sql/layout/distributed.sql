-- name: distributed
-- Whether the adk tables of this schema are distributed by Citus (run only where the citus
-- extension is installed: it reads the extension's catalog).
-- returns: one row (distributed boolean)
SELECT EXISTS (SELECT FROM pg_dist_partition AS p
               WHERE p.logicalrelid = to_regclass('adk.sessions')
                 AND p.partmethod = 'h') AS distributed;
