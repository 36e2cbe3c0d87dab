-- Session writes as functions, for tables distributed by Citus (see the README's "Scaling
-- out"). On one server, create_session.sql and append_event.sql each write the session, its
-- event and the state rows in one statement of data-modifying CTEs. Citus cannot route such a
-- statement to one shard: it runs each CTE as a step of its own, through the coordinator
-- (about 10 ms an append). These functions do the same writes as plain statements, one after
-- another; `adk-pg distribute` makes them distributed functions of user_id, so the
-- coordinator hands each call whole to the node holding that user's shards, where every
-- statement is local (about 1.3 ms an append). adk-pg calls them only on a distributed schema
-- (on one server never), and only for writes without an app: delta: app_states is a
-- reference table, written on every node, which from a worker costs 20 ms against 12-15 ms
-- for the statement file from the coordinator. Each returns exactly the row of its statement
-- file, which the store reads the same way, and locks the session row, then the app and user
-- rows.
--
-- A migration that changes what either statement file does must change its function too
-- (tests run the whole store on both: `make test` and `make test-citus`).

CREATE FUNCTION adk.create_session_routed(
    app_name text, user_id text, session_id text, session_state text, app_delta text,
    user_delta text,
    OUT state jsonb, OUT revision bigint, OUT update_time float8, OUT app_state jsonb,
    OUT user_state jsonb)
    LANGUAGE plpgsql
AS $$
#variable_conflict use_column
DECLARE
    created timestamptz;
BEGIN
    -- A duplicate id fails on sessions_pkey (on a shard: sessions_pkey_<shard id>).
    INSERT INTO adk.sessions AS s (app_name, user_id, id, state, initial_state)
    VALUES ($1, $2, $3, $4::jsonb, $4::jsonb)
    RETURNING s.state, s.revision, s.update_time INTO state, revision, created;
    update_time := extract(epoch FROM created)::float8;
    IF $5 IS NOT NULL THEN
        INSERT INTO adk.app_states AS a (app_name, state) VALUES ($1, $5::jsonb)
        ON CONFLICT ON CONSTRAINT app_states_pkey
        DO UPDATE SET state = a.state || EXCLUDED.state, update_time = EXCLUDED.update_time
        RETURNING a.state INTO app_state;
    ELSE
        SELECT a.state INTO app_state FROM adk.app_states AS a WHERE a.app_name = $1;
    END IF;
    IF $6 IS NOT NULL THEN
        INSERT INTO adk.user_states AS u (app_name, user_id, state) VALUES ($1, $2, $6::jsonb)
        ON CONFLICT ON CONSTRAINT user_states_pkey
        DO UPDATE SET state = u.state || EXCLUDED.state, update_time = EXCLUDED.update_time
        RETURNING u.state INTO user_state;
    ELSE
        SELECT u.state INTO user_state
        FROM adk.user_states AS u WHERE u.app_name = $1 AND u.user_id = $2;
    END IF;
    app_state := coalesce(app_state, '{}'::jsonb);
    user_state := coalesce(user_state, '{}'::jsonb);
END
$$;

COMMENT ON FUNCTION adk.create_session_routed(text, text, text, text, text, text) IS
    'create_session.sql as statements in turn, for Citus: called only on a distributed schema.';

CREATE FUNCTION adk.append_event_routed(
    app_name text, user_id text, session_id text, expected_revision bigint, event text,
    session_delta text, app_delta text, user_delta text, event_id text,
    event_timestamp text,
    OUT revision bigint, OUT update_time float8, OUT stored_revision bigint,
    OUT stored_update_time float8, OUT same_event boolean)
    LANGUAGE plpgsql
AS $$
#variable_conflict use_column
DECLARE
    doc jsonb := $5::jsonb;
    ts float8 := $10::float8;  -- sent as text: Citus prints a float8 argument lossily
    written timestamptz;
    looked_again boolean := false;
BEGIN
    -- The stored event with this id and timestamp, compared with what would be inserted;
    -- none stored: the session is updated, unless stale or missing; then the stored event
    -- is looked for once more (a concurrent writer may have stored it since the first look).
    LOOP
        SELECT e.invocation_id = coalesce(doc ->> 'invocation_id', '')
                   AND e.author = coalesce(doc ->> 'author', '')
                   AND e.branch IS NOT DISTINCT FROM doc ->> 'branch'
                   AND e.content IS NOT DISTINCT FROM doc -> 'content'
                   AND e.actions = coalesce(doc -> 'actions', '{}'::jsonb)
                   AND e.extra = doc - '{id,invocation_id,author,branch,timestamp,content,actions}'::text[]
        INTO same_event
        FROM adk.events AS e
        WHERE e.app_name = $1 AND e.user_id = $2 AND e.session_id = $3
          AND e."timestamp" = ts AND e.id = $9;
        EXIT WHEN same_event IS NOT NULL OR looked_again;
        UPDATE adk.sessions AS s
        SET state = s.state || $6::jsonb,
            revision = s.revision + 1,
            update_time = to_timestamp(ts),
            write_time = now()
        WHERE s.app_name = $1 AND s.user_id = $2 AND s.id = $3
          AND ($4 IS NULL OR s.revision = $4)
        RETURNING s.revision, s.update_time INTO revision, written;
        EXIT WHEN revision IS NOT NULL;
        looked_again := true;
    END LOOP;
    IF revision IS NULL THEN
        -- Nothing written: the session as found (NULL when missing).
        SELECT s.revision, extract(epoch FROM s.update_time)::float8
        INTO stored_revision, stored_update_time
        FROM adk.sessions AS s
        WHERE s.app_name = $1 AND s.user_id = $2 AND s.id = $3;
        RETURN;
    END IF;
    update_time := extract(epoch FROM written)::float8;
    IF $7 IS NOT NULL THEN
        INSERT INTO adk.app_states AS a (app_name, state) VALUES ($1, $7::jsonb)
        ON CONFLICT ON CONSTRAINT app_states_pkey
        DO UPDATE SET state = a.state || EXCLUDED.state, update_time = EXCLUDED.update_time;
    END IF;
    IF $8 IS NOT NULL THEN
        INSERT INTO adk.user_states AS u (app_name, user_id, state) VALUES ($1, $2, $8::jsonb)
        ON CONFLICT ON CONSTRAINT user_states_pkey
        DO UPDATE SET state = u.state || EXCLUDED.state, update_time = EXCLUDED.update_time;
    END IF;
    -- An event of this id with another timestamp, or one a concurrent writer committed since,
    -- fails on events_pkey: the whole call is undone.
    INSERT INTO adk.events AS e (app_name, user_id, session_id, id, invocation_id, author,
                                 branch, "timestamp", content, actions, extra, revision)
    VALUES ($1, $2, $3, $9,
            coalesce(doc ->> 'invocation_id', ''),
            coalesce(doc ->> 'author', ''),
            doc ->> 'branch',
            ts,
            doc -> 'content',
            coalesce(doc -> 'actions', '{}'::jsonb),
            doc - '{id,invocation_id,author,branch,timestamp,content,actions}'::text[],
            revision);
END
$$;

COMMENT ON FUNCTION adk.append_event_routed(text, text, text, bigint, text, text, text, text,
                                            text, text) IS
    'append_event.sql as statements in turn, for Citus: called only on a distributed schema.';
