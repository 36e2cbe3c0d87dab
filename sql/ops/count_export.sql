-- name: count_export
-- How many sessions and events an export with these filters will write (for the header and
-- the progress bar); run in the export's snapshot.
-- citus: one shard with a user, every shard without (export)
-- $1 app_name text (NULL = every app)
-- $2 user_id text (NULL = every user)
-- returns: one row: sessions, events (bigint)
SELECT (SELECT count(*) FROM adk.sessions AS s
        WHERE ($1::text IS NULL OR s.app_name = $1::text)
          AND ($2::text IS NULL OR s.user_id = $2::text)) AS sessions,
       (SELECT count(*) FROM adk.events AS e
        WHERE ($1::text IS NULL OR e.app_name = $1::text)
          AND ($2::text IS NULL OR e.user_id = $2::text)) AS events;
