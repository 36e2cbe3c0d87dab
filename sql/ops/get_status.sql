-- name: get_status
-- What `adk-pg status` shows: row counts and the on-disk size of each adk table (with its
-- indexes and TOAST). Users are distinct (app_name, user_id) pairs with a session or user
-- state; apps are distinct app names with a session, app state or user state. Memories
-- count those not deleted; artifacts count the stored files (each with its versions).
-- citus: every shard (counts every table)
-- returns: one row: sessions, events, users, apps, memories, artifacts (bigint), then
--   sessions_bytes, events_bytes, app_states_bytes, user_states_bytes, memories_bytes,
--   artifacts_bytes, artifact_versions_bytes, artifact_contents_bytes,
--   schema_migrations_bytes (bigint)
SELECT (SELECT count(*) FROM adk.sessions) AS sessions,
       (SELECT count(*) FROM adk.events) AS events,
       (SELECT count(*)
        FROM (SELECT s.app_name, s.user_id FROM adk.sessions AS s
              UNION
              SELECT u.app_name, u.user_id FROM adk.user_states AS u) AS users) AS users,
       (SELECT count(*)
        FROM (SELECT s.app_name FROM adk.sessions AS s
              UNION
              SELECT a.app_name FROM adk.app_states AS a
              UNION
              SELECT u.app_name FROM adk.user_states AS u) AS apps) AS apps,
       (SELECT count(*) FROM adk.memories AS m WHERE m.deleted_time IS NULL) AS memories,
       (SELECT count(*) FROM adk.artifacts) AS artifacts,
       pg_catalog.pg_total_relation_size('adk.sessions'::regclass) AS sessions_bytes,
       pg_catalog.pg_total_relation_size('adk.events'::regclass) AS events_bytes,
       pg_catalog.pg_total_relation_size('adk.app_states'::regclass) AS app_states_bytes,
       pg_catalog.pg_total_relation_size('adk.user_states'::regclass) AS user_states_bytes,
       pg_catalog.pg_total_relation_size('adk.memories'::regclass) AS memories_bytes,
       pg_catalog.pg_total_relation_size('adk.artifacts'::regclass) AS artifacts_bytes,
       pg_catalog.pg_total_relation_size('adk.artifact_versions'::regclass)
           AS artifact_versions_bytes,
       pg_catalog.pg_total_relation_size('adk.artifact_contents'::regclass)
           AS artifact_contents_bytes,
       pg_catalog.pg_total_relation_size('adk.schema_migrations'::regclass)
           AS schema_migrations_bytes;
