-- name: watch_events
-- The events of one session appended after revision $4, in the order they were appended
-- (by revision), at most $5: what a watcher yields. Events without a revision (stored before
-- the change feed, or copied by a fork or an import) are never returned.
-- citus: one server (the change feed: LISTEN/NOTIFY are per node)
-- $1 app_name text
-- $2 user_id text
-- $3 session_id text
-- $4 after_revision bigint
-- $5 limit integer
-- returns: one row per event: revision (bigint), id (text), document (text: the Event JSON)
SELECT e.revision, e.id, e.document
FROM adk.event_documents AS e
WHERE e.app_name = $1 AND e.user_id = $2 AND e.session_id = $3
  AND e.revision > $4::bigint
ORDER BY e.revision
LIMIT $5::integer;
