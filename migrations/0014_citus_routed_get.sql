-- get_session as a function, for tables distributed by Citus (see the README's "Scaling
-- out"), as migration 0013 did for the session writes. On one server get_session.sql reads
-- the session, its app and user state and its newest events in one statement. On Citus that
-- statement is a router query: the coordinator plans it (a join, a subquery over a view),
-- then the worker plans it again as sent, every call (about 1.5 ms). `adk-pg distribute`
-- makes this function a distributed function of user_id: the coordinator hands each call
-- whole to the node holding that user's shards, where each statement reads one table by its
-- key and Citus plans it without a deparse (about 1.0 ms). adk-pg calls it only on a
-- distributed schema. It returns exactly the row of get_session.sql, or no row, read from
-- one snapshot (a STABLE function's statements all see the calling statement's snapshot);
-- each event's document is adk.event_documents' text for it.
--
-- A migration that changes what get_session.sql or adk.event_documents return must change
-- this function too (`tests/test_routed_reads.py` compares the two on one server, and `make
-- test-citus` runs the whole store through it).

CREATE FUNCTION adk.get_session_routed(
    app_name text, user_id text, session_id text, num_recent_events integer,
    after_timestamp text,
    OUT state jsonb, OUT revision bigint, OUT update_time float8, OUT app_state jsonb,
    OUT user_state jsonb, OUT events text)
    RETURNS SETOF record
    LANGUAGE plpgsql STABLE
AS $$
#variable_conflict use_column
DECLARE
    -- As adk.event_documents: the shortest exact text of a float8, however the role or the
    -- connection has set extra_float_digits.
    exact boolean := current_setting('extra_float_digits')::integer > 0;
    newest_first text[] := '{}';
    document text;
BEGIN
    SELECT s.state, s.revision, extract(epoch FROM s.update_time)::float8
    INTO state, revision, update_time
    FROM adk.sessions AS s
    WHERE s.app_name = $1 AND s.user_id = $2 AND s.id = $3;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    SELECT a.state INTO app_state FROM adk.app_states AS a WHERE a.app_name = $1;
    SELECT u.state INTO user_state
    FROM adk.user_states AS u WHERE u.app_name = $1 AND u.user_id = $2;
    -- One table read by its key per statement: Citus plans each without a deparse. The
    -- newest first, then reversed: oldest first, ties broken by id, as get_session.sql.
    FOR document IN
        SELECT '{"id":' || to_json(e.id)::text
                   || ',"invocation_id":' || to_json(e.invocation_id)::text
                   || ',"author":' || to_json(e.author)::text
                   || coalesce(',"branch":' || to_json(e.branch)::text, '')
                   || ',"timestamp":'
                   || CASE WHEN exact THEN e."timestamp"::text
                           ELSE adk.float8_text(e."timestamp") END
                   || coalesce(',"content":' || e.content::text, '')
                   || ',"actions":' || e.actions::text
                   || CASE WHEN e.extra = '{}'::jsonb THEN '}'
                           ELSE ',' || substr(e.extra::text, 2) END
        FROM adk.events AS e
        WHERE e.app_name = $1 AND e.user_id = $2 AND e.session_id = $3
          AND ($5 IS NULL OR e."timestamp" >= $5::float8)
        ORDER BY e."timestamp" DESC, e.id DESC
        LIMIT $4
    LOOP
        newest_first := newest_first || document;
    END LOOP;
    events := '[' || array_to_string(
        ARRAY(SELECT newest_first[i]
              FROM generate_subscripts(newest_first, 1) AS i
              ORDER BY i DESC), ',') || ']';
    app_state := coalesce(app_state, '{}'::jsonb);
    user_state := coalesce(user_state, '{}'::jsonb);
    RETURN NEXT;
END
$$;

COMMENT ON FUNCTION adk.get_session_routed(text, text, text, integer, text) IS
    'get_session.sql as statements in turn, for Citus: called only on a distributed schema.';
