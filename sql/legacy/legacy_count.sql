-- name: legacy_count
-- How many sessions and events the ADK tables hold (for the progress bar). Unqualified table
-- names: the reader's connection has search_path set to the --schema being read.
-- returns: one row: sessions, events (bigint)
SELECT (SELECT count(*) FROM sessions AS s) AS sessions,
       (SELECT count(*) FROM events AS e) AS events;
