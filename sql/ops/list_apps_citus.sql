-- name: list_apps_citus
-- list_apps for tables distributed by Citus: the distinct app names that have sessions, each
-- shard reading its own (a loose index scan is a recursive query, which Citus cannot run
-- over a distributed table).
-- citus: every shard (each shard's distinct app names)
-- returns: rows (app_name), in order
SELECT DISTINCT s.app_name FROM adk.sessions AS s ORDER BY s.app_name;
