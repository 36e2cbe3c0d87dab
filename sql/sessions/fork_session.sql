-- name: fork_session
-- Copy a session into a new session of the same user, in one statement: its events up to
-- and including $5 (all when NULL), in (timestamp, id) order, and its session-scope state as
-- of that event: the initial state with the session-scope keys of those events' deltas
-- applied in order (app:, user: and temp: keys are not session state). The source is only
-- read; everything comes from one snapshot, so a fork taken while another writer appends is
-- a consistent prefix. Nothing is written when the source is missing, $5 is not one of its
-- events, or the state as of $5 is unknown (a session without initial_state, cut before its
-- newest event). A new id that exists fails on sessions_pkey and writes nothing.
-- citus: one shard (user_id = $2)
-- $1 app_name text
-- $2 user_id text
-- $3 source session_id text
-- $4 new session_id text
-- $5 up_to_event_id text (NULL = every event)
-- returns: one row: source_exists, target_exists, state_known (booleans); and, when the
--          fork was written, state, revision, update_time (epoch float8), app_state,
--          user_state, events (the number copied)
WITH source AS (
    SELECT s.state, s.initial_state
    FROM adk.sessions AS s
    WHERE s.app_name = $1 AND s.user_id = $2 AND s.id = $3
), target AS (
    SELECT e."timestamp", e.id
    FROM adk.events AS e
    WHERE e.app_name = $1 AND e.user_id = $2 AND e.session_id = $3 AND e.id = $5::text
), copied AS (
    SELECT e.*
    FROM adk.events AS e
    WHERE e.app_name = $1 AND e.user_id = $2 AND e.session_id = $3
      AND ($5::text IS NULL
           OR (e."timestamp", e.id) <= (SELECT t."timestamp", t.id FROM target AS t))
), cut AS (
    SELECT $5::text IS NULL
               OR NOT EXISTS (SELECT 1 FROM adk.events AS e, target AS t
                              WHERE e.app_name = $1 AND e.user_id = $2 AND e.session_id = $3
                                AND (e."timestamp", e.id) > (t."timestamp", t.id))
               AS at_head
), fork AS (
    SELECT CASE
               WHEN cut.at_head THEN source.state
               WHEN source.initial_state IS NULL THEN NULL
               ELSE source.initial_state || coalesce(
                   (SELECT jsonb_object_agg(d.key, d.value ORDER BY c."timestamp", c.id)
                    FROM copied AS c,
                         jsonb_each(CASE WHEN jsonb_typeof(c.actions -> 'state_delta') = 'object'
                                         THEN c.actions -> 'state_delta'
                                         ELSE '{}'::jsonb END) AS d
                    WHERE d.key NOT LIKE 'app:%' AND d.key NOT LIKE 'user:%'
                      AND d.key NOT LIKE 'temp:%'),
                   '{}'::jsonb)
           END AS state,
           source.initial_state
    FROM source, cut
    WHERE $5::text IS NULL OR EXISTS (SELECT 1 FROM target)
), new_session AS (
    INSERT INTO adk.sessions AS s (app_name, user_id, id, state, initial_state, update_time)
    SELECT $1, $2, $4, fork.state, fork.initial_state,
           coalesce((SELECT to_timestamp(max(c."timestamp")) FROM copied AS c), now())
    FROM fork
    WHERE fork.state IS NOT NULL
    RETURNING s.state, s.revision, s.update_time
), new_events AS (
    INSERT INTO adk.events AS e (app_name, user_id, session_id, id, invocation_id, author,
                                 branch, "timestamp", content, actions, extra)
    SELECT c.app_name, c.user_id, $4, c.id, c.invocation_id, c.author, c.branch,
           c."timestamp", c.content, c.actions, c.extra
    FROM copied AS c, new_session
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM source) AS source_exists,
       $5::text IS NULL OR EXISTS (SELECT 1 FROM target) AS target_exists,
       EXISTS (SELECT 1 FROM fork WHERE fork.state IS NOT NULL) AS state_known,
       n.state,
       n.revision,
       extract(epoch FROM n.update_time)::float8 AS update_time,
       coalesce((SELECT a.state FROM adk.app_states AS a WHERE a.app_name = $1), '{}'::jsonb)
           AS app_state,
       coalesce((SELECT u.state FROM adk.user_states AS u
                 WHERE u.app_name = $1 AND u.user_id = $2), '{}'::jsonb) AS user_state,
       (SELECT count(*) FROM new_events)::integer AS events
FROM (SELECT 1) AS one
LEFT JOIN new_session AS n ON true;
