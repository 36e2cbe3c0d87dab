-- name: list_apps
-- The distinct app names that have sessions, by a loose index scan of sessions_pkey (one
-- index probe per app, not a scan of every session).
-- citus: one server (a recursive loose index scan; list_apps_citus on Citus)
-- returns: rows (app_name), in order
WITH RECURSIVE apps AS (
    (SELECT s.app_name FROM adk.sessions AS s ORDER BY s.app_name LIMIT 1)
    UNION ALL
    SELECT (SELECT s.app_name FROM adk.sessions AS s
            WHERE s.app_name > apps.app_name
            ORDER BY s.app_name LIMIT 1)
    FROM apps
    WHERE apps.app_name IS NOT NULL
)
SELECT apps.app_name FROM apps WHERE apps.app_name IS NOT NULL;
