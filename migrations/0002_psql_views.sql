-- Read-only views for looking at sessions and events from psql: who has which sessions, with
-- their merged state, and each event as one readable row. Nothing in adk-pg reads them.

CREATE VIEW adk.session_overview AS
SELECT s.app_name,
       s.user_id,
       s.id AS session_id,
       (SELECT count(*)
        FROM adk.events AS e
        WHERE e.app_name = s.app_name AND e.user_id = s.user_id AND e.session_id = s.id)
           AS event_count,
       s.update_time AS last_update,
       s.create_time AS created,
       s.revision,
       -- ADK's merge order: session keys, then app: keys, then user: keys.
       s.state
           || coalesce((SELECT jsonb_object_agg('app:' || kv.key, kv.value)
                        FROM jsonb_each(a.state) AS kv), '{}'::jsonb)
           || coalesce((SELECT jsonb_object_agg('user:' || kv.key, kv.value)
                        FROM jsonb_each(u.state) AS kv), '{}'::jsonb) AS state
FROM adk.sessions AS s
LEFT JOIN adk.app_states AS a ON a.app_name = s.app_name
LEFT JOIN adk.user_states AS u ON u.app_name = s.app_name AND u.user_id = s.user_id;

COMMENT ON VIEW adk.session_overview IS
    'One row per session: its event count, last update and the state an agent sees (session '
    'keys merged with app: and user: keys), e.g. SELECT * FROM adk.session_overview '
    'WHERE app_name = ''my_app'' ORDER BY last_update DESC LIMIT 20;';
COMMENT ON COLUMN adk.session_overview.app_name IS 'The ADK app (agent) name.';
COMMENT ON COLUMN adk.session_overview.user_id IS 'The user the session belongs to.';
COMMENT ON COLUMN adk.session_overview.session_id IS 'The session id (adk.sessions.id).';
COMMENT ON COLUMN adk.session_overview.event_count IS 'How many events the session holds.';
COMMENT ON COLUMN adk.session_overview.last_update IS
    'The timestamp of the last appended event, or the creation time (ADK''s last_update_time).';
COMMENT ON COLUMN adk.session_overview.created IS 'When the session was created.';
COMMENT ON COLUMN adk.session_overview.revision IS 'The number of events appended so far.';
COMMENT ON COLUMN adk.session_overview.state IS
    'The merged state: session keys, app:-prefixed app state and user:-prefixed user state.';


CREATE VIEW adk.event_log AS
SELECT e.app_name,
       e.user_id,
       e.session_id,
       e.id AS event_id,
       to_timestamp(e."timestamp") AS event_time,
       e.author,
       e.invocation_id,
       e.branch,
       coalesce(p.text, 'call ' || p.function_calls, 'response ' || p.function_responses)
           AS summary,
       p.text,
       p.function_calls,
       p.function_responses,
       nullif(e.actions -> 'state_delta', '{}'::jsonb) AS state_delta,
       e."timestamp" AS epoch
FROM adk.events AS e
LEFT JOIN LATERAL (
    -- ADK stores parts with snake_case keys; camelCase is accepted for rows written by hand.
    SELECT string_agg(x.part ->> 'text', E'\n' ORDER BY x.n) AS text,
           string_agg(coalesce(x.part -> 'function_call', x.part -> 'functionCall') ->> 'name',
                      ', ' ORDER BY x.n) AS function_calls,
           string_agg(coalesce(x.part -> 'function_response',
                               x.part -> 'functionResponse') ->> 'name',
                      ', ' ORDER BY x.n) AS function_responses
    FROM jsonb_array_elements(CASE WHEN jsonb_typeof(e.content -> 'parts') = 'array'
                                   THEN e.content -> 'parts'
                                   ELSE '[]'::jsonb END) WITH ORDINALITY AS x(part, n)
) AS p ON true;

COMMENT ON VIEW adk.event_log IS
    'One row per event, readable: time, author, text or tool call, state delta, e.g. '
    'SELECT event_time, author, summary FROM adk.event_log WHERE session_id = ''...'' '
    'ORDER BY epoch, event_id;';
COMMENT ON COLUMN adk.event_log.app_name IS 'The session''s app name.';
COMMENT ON COLUMN adk.event_log.user_id IS 'The session''s user id.';
COMMENT ON COLUMN adk.event_log.session_id IS 'The session id.';
COMMENT ON COLUMN adk.event_log.event_id IS 'The event id.';
COMMENT ON COLUMN adk.event_log.event_time IS
    'The event time as timestamptz (rounded to the microsecond; epoch is exact).';
COMMENT ON COLUMN adk.event_log.author IS '"user" or the name of the agent that produced it.';
COMMENT ON COLUMN adk.event_log.invocation_id IS 'The invocation (one user turn) it belongs to.';
COMMENT ON COLUMN adk.event_log.branch IS 'The agent branch, if any.';
COMMENT ON COLUMN adk.event_log.summary IS
    'The text of its parts, else "call <function names>", else "response <function names>".';
COMMENT ON COLUMN adk.event_log.text IS 'The text parts of its content, one per line.';
COMMENT ON COLUMN adk.event_log.function_calls IS 'The names of the functions it calls.';
COMMENT ON COLUMN adk.event_log.function_responses IS
    'The names of the functions whose responses it carries.';
COMMENT ON COLUMN adk.event_log.state_delta IS
    'The state changes it made (prefixed keys), or NULL when none.';
COMMENT ON COLUMN adk.event_log.epoch IS
    'The exact float epoch ADK gave (adk.events.timestamp): order by it, then event_id.';
