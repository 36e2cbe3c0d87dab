-- adk.event_documents printed every timestamp through adk.float8_text, whose SET clause makes
-- each call a separate function invocation with its own setting change: about a third of the
-- server's time for a long history. PostgreSQL already prints the shortest exact text when
-- extra_float_digits is above 0 (the default, 1), so the function is now used only when a
-- role, database or connection has set it to 0 or below; the check runs once per query.

CREATE OR REPLACE VIEW adk.event_documents AS
SELECT e.app_name,
       e.user_id,
       e.session_id,
       e.id,
       e."timestamp",
       '{"id":' || to_json(e.id)::text
           || ',"invocation_id":' || to_json(e.invocation_id)::text
           || ',"author":' || to_json(e.author)::text
           || coalesce(',"branch":' || to_json(e.branch)::text, '')
           || ',"timestamp":'
           || CASE WHEN (SELECT current_setting('extra_float_digits')::integer > 0)
                   THEN e."timestamp"::text
                   ELSE adk.float8_text(e."timestamp") END
           || coalesce(',"content":' || e.content::text, '')
           || ',"actions":' || e.actions::text
           -- extra's own fields follow, without its braces (none share a name with the above)
           || CASE WHEN e.extra = '{}'::jsonb THEN '}' ELSE ',' || substr(e.extra::text, 2) END
           AS document
FROM adk.events AS e;
