-- The change feed (SessionStore.watch): each appended event records the session revision its
-- append produced, and every session created or deleted and every event appended is announced
-- with NOTIFY on a channel of its app, at commit. A notification carries ids and the revision,
-- never content: it is a hint, and a watcher reads what changed from the tables, by revision,
-- so nothing is missed or repeated when notifications are lost (a dropped connection).
-- Announcing costs every write a trigger call and the server's commit-time NOTIFY queue lock
-- (appends from concurrent writers serialize on it), so it is opt-in: the triggers fire only
-- on connections where the setting adk_pg.change_feed is 'on', e.g. after
--   ALTER DATABASE mydb SET adk_pg.change_feed = on;
-- Events stored before this migration (and events copied by a fork or an import: history
-- before the session's first revision) have no revision; no feed position points at them.

ALTER TABLE adk.events ADD COLUMN revision bigint;

COMMENT ON COLUMN adk.events.revision IS
    'The session revision this event''s append produced (1 for the first append), NULL for '
    'events stored before the change feed, or copied by a fork or an import.';

-- The same view, with the revision at the end: what a watcher reads, by revision.
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
           AS document,
       e.revision
FROM adk.events AS e;

COMMENT ON COLUMN adk.event_documents.revision IS
    'The session revision the event''s append produced (adk.events.revision).';

CREATE FUNCTION adk.change_channel(app_name text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT 'adk_pg_' || left(md5('adk' || '/' || app_name), 24) $$;

COMMENT ON FUNCTION adk.change_channel(text) IS
    'The NOTIFY channel of an app''s changes (LISTEN "<this>"): a name of fixed length, '
    'whatever the app name, distinct per schema.';

CREATE FUNCTION adk.notify_change() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF TG_TABLE_NAME = 'events' THEN
        PERFORM pg_notify(adk.change_channel(NEW.app_name), json_build_object(
            'kind', 'event', 'user_id', NEW.user_id, 'session_id', NEW.session_id,
            'revision', NEW.revision, 'event_id', NEW.id)::text);
    ELSIF TG_OP = 'INSERT' THEN
        PERFORM pg_notify(adk.change_channel(NEW.app_name), json_build_object(
            'kind', 'created', 'user_id', NEW.user_id, 'session_id', NEW.id,
            'revision', NEW.revision)::text);
    ELSE
        PERFORM pg_notify(adk.change_channel(OLD.app_name), json_build_object(
            'kind', 'deleted', 'user_id', OLD.user_id, 'session_id', OLD.id,
            'revision', OLD.revision)::text);
    END IF;
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION adk.notify_change() IS
    'Announces a created or deleted session, or an appended event, on adk.change_channel().';

CREATE TRIGGER events_notify_change
    AFTER INSERT ON adk.events
    FOR EACH ROW
    WHEN (NEW.revision IS NOT NULL AND current_setting('adk_pg.change_feed', true) = 'on')
    EXECUTE FUNCTION adk.notify_change();

CREATE TRIGGER sessions_notify_change
    AFTER INSERT OR DELETE ON adk.sessions
    FOR EACH ROW
    WHEN (current_setting('adk_pg.change_feed', true) = 'on')
    EXECUTE FUNCTION adk.notify_change();
