-- Events as ADK's JSON, built in one place for get_session, list_events and export: the view
-- adk.event_documents. Text is concatenated (no jsonb rebuilt per event), and the float epoch
-- is printed by adk.float8_text, which is exact whatever the session's extra_float_digits.

CREATE FUNCTION adk.float8_text(value double precision) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    -- 1 (PostgreSQL's default) prints the shortest text that reads back to the same double;
    -- a role or database set to 0 would print 15 digits and lose the last bits.
    SET extra_float_digits = 1
    AS $$ SELECT value::text $$;

COMMENT ON FUNCTION adk.float8_text(double precision) IS
    'A float8 as the shortest text that reads back to the same value, whatever the '
    'extra_float_digits setting: the exact event timestamps in JSON.';

CREATE VIEW adk.event_documents AS
SELECT e.app_name,
       e.user_id,
       e.session_id,
       e.id,
       e."timestamp",
       '{"id":' || to_json(e.id)::text
           || ',"invocation_id":' || to_json(e.invocation_id)::text
           || ',"author":' || to_json(e.author)::text
           || coalesce(',"branch":' || to_json(e.branch)::text, '')
           || ',"timestamp":' || adk.float8_text(e."timestamp")
           || coalesce(',"content":' || e.content::text, '')
           || ',"actions":' || e.actions::text
           -- extra's own fields follow, without its braces (none share a name with the above)
           || CASE WHEN e.extra = '{}'::jsonb THEN '}' ELSE ',' || substr(e.extra::text, 2) END
           AS document
FROM adk.events AS e;

COMMENT ON VIEW adk.event_documents IS
    'Each event as the JSON object of ADK''s Event (snake_case fields), as the store returns '
    'it: the columns of adk.events and its extra fields in one text value.';
COMMENT ON COLUMN adk.event_documents.app_name IS 'The session''s app name.';
COMMENT ON COLUMN adk.event_documents.user_id IS 'The session''s user id.';
COMMENT ON COLUMN adk.event_documents.session_id IS 'The session id.';
COMMENT ON COLUMN adk.event_documents.id IS 'The event id.';
COMMENT ON COLUMN adk.event_documents."timestamp" IS 'The exact float epoch, for ordering.';
COMMENT ON COLUMN adk.event_documents.document IS 'The event as JSON text (ADK''s Event).';
