-- The adk-pg schema: the four tables of ADK's DatabaseSessionService, in schema `adk`, with an
-- integer revision for optimistic concurrency and events stored as plain JSON (never pickle).
-- Key columns use the "C" collation: ids compare byte-wise, the same on every server.

CREATE TABLE adk.sessions (
    app_name    varchar(128) COLLATE "C" NOT NULL,
    user_id     varchar(128) COLLATE "C" NOT NULL,
    id          varchar(128) COLLATE "C" NOT NULL,
    state       jsonb        NOT NULL DEFAULT '{}'::jsonb,
    revision    bigint       NOT NULL DEFAULT 0,
    create_time timestamptz  NOT NULL DEFAULT now(),
    update_time timestamptz  NOT NULL DEFAULT now(),
    CONSTRAINT sessions_pkey PRIMARY KEY (app_name, user_id, id),
    CONSTRAINT sessions_state_is_object CHECK (jsonb_typeof(state) = 'object'),
    CONSTRAINT sessions_revision_not_negative CHECK (revision >= 0)
);

COMMENT ON TABLE adk.sessions IS
    'One row per ADK session. Session-scope state only: app: and user: keys live in '
    'adk.app_states and adk.user_states, temp: keys are never stored.';
COMMENT ON COLUMN adk.sessions.app_name IS 'The ADK app (agent) name.';
COMMENT ON COLUMN adk.sessions.user_id IS 'The end user the session belongs to.';
COMMENT ON COLUMN adk.sessions.id IS 'The session id (a uuid unless the caller chose one).';
COMMENT ON COLUMN adk.sessions.state IS
    'Session-scope state: a JSON object, keys without prefix. Merged shallowly, null kept.';
COMMENT ON COLUMN adk.sessions.revision IS
    'Optimistic-concurrency counter: +1 per appended event. An append carrying an older '
    'revision is refused as stale.';
COMMENT ON COLUMN adk.sessions.create_time IS 'When the session was created.';
COMMENT ON COLUMN adk.sessions.update_time IS
    'The timestamp of the last appended event (or the creation time): ADK''s last_update_time.';

CREATE INDEX sessions_app_update_idx
    ON adk.sessions (app_name, update_time, user_id, id);
COMMENT ON INDEX adk.sessions_app_update_idx IS
    'list_sessions of a whole app, in (update_time, user_id, id) order.';
CREATE INDEX sessions_app_user_update_idx
    ON adk.sessions (app_name, user_id, update_time, id);
COMMENT ON INDEX adk.sessions_app_user_update_idx IS
    'list_sessions of one user, in (update_time, id) order.';


CREATE TABLE adk.events (
    app_name      varchar(128) COLLATE "C" NOT NULL,
    user_id       varchar(128) COLLATE "C" NOT NULL,
    session_id    varchar(128) COLLATE "C" NOT NULL,
    id            varchar(128) COLLATE "C" NOT NULL,
    invocation_id text             NOT NULL DEFAULT '',
    author        text             NOT NULL DEFAULT '',
    branch        text,
    "timestamp"   double precision NOT NULL,
    content       jsonb,
    actions       jsonb            NOT NULL DEFAULT '{}'::jsonb,
    extra         jsonb            NOT NULL DEFAULT '{}'::jsonb,
    CONSTRAINT events_pkey PRIMARY KEY (app_name, user_id, session_id, id),
    CONSTRAINT events_session_fkey FOREIGN KEY (app_name, user_id, session_id)
        REFERENCES adk.sessions (app_name, user_id, id) ON DELETE CASCADE,
    CONSTRAINT events_actions_is_object CHECK (jsonb_typeof(actions) = 'object'),
    CONSTRAINT events_extra_is_object CHECK (jsonb_typeof(extra) = 'object')
);

COMMENT ON TABLE adk.events IS
    'The append-only event history of each session. Every field of ADK''s Event is kept: the '
    'common ones as columns, the rest in extra.';
COMMENT ON COLUMN adk.events.app_name IS 'The session''s app name.';
COMMENT ON COLUMN adk.events.user_id IS 'The session''s user id.';
COMMENT ON COLUMN adk.events.session_id IS 'The session id (adk.sessions.id).';
COMMENT ON COLUMN adk.events.id IS 'The event id, unique within its session.';
COMMENT ON COLUMN adk.events.invocation_id IS 'The invocation (one user turn) that produced it.';
COMMENT ON COLUMN adk.events.author IS '"user" or the name of the agent that produced it.';
COMMENT ON COLUMN adk.events.branch IS 'The agent branch (agent_1.agent_2...), if any.';
COMMENT ON COLUMN adk.events."timestamp" IS
    'The event time as ADK gave it: float seconds since the epoch, kept bit for bit. '
    'Read it with to_timestamp("timestamp").';
COMMENT ON COLUMN adk.events.content IS
    'The message: google.genai Content as JSON ({"role": ..., "parts": [...]}), bytes in base64.';
COMMENT ON COLUMN adk.events.actions IS
    'EventActions as JSON: state_delta (prefixed keys, temp: removed), artifact_delta, '
    'transfer_to_agent, escalate, ... Never pickled.';
COMMENT ON COLUMN adk.events.extra IS
    'Every other non-null Event field under its snake_case name (usage_metadata, '
    'grounding_metadata, custom_metadata, long_running_tool_ids, node_info, ...).';

CREATE INDEX events_session_time_idx
    ON adk.events (app_name, user_id, session_id, "timestamp", id);
COMMENT ON INDEX adk.events_session_time_idx IS
    'A session''s events in (timestamp, id) order; read backwards for the newest N.';


CREATE TABLE adk.app_states (
    app_name    varchar(128) COLLATE "C" NOT NULL,
    state       jsonb        NOT NULL DEFAULT '{}'::jsonb,
    update_time timestamptz  NOT NULL DEFAULT now(),
    CONSTRAINT app_states_pkey PRIMARY KEY (app_name),
    CONSTRAINT app_states_state_is_object CHECK (jsonb_typeof(state) = 'object')
);

COMMENT ON TABLE adk.app_states IS
    'App-scope state, shared by every user and session of an app (the app: keys).';
COMMENT ON COLUMN adk.app_states.app_name IS 'The ADK app name.';
COMMENT ON COLUMN adk.app_states.state IS
    'The app: keys, stored without the prefix. Merged shallowly, null kept.';
COMMENT ON COLUMN adk.app_states.update_time IS 'When the app state last changed.';


CREATE TABLE adk.user_states (
    app_name    varchar(128) COLLATE "C" NOT NULL,
    user_id     varchar(128) COLLATE "C" NOT NULL,
    state       jsonb        NOT NULL DEFAULT '{}'::jsonb,
    update_time timestamptz  NOT NULL DEFAULT now(),
    CONSTRAINT user_states_pkey PRIMARY KEY (app_name, user_id),
    CONSTRAINT user_states_state_is_object CHECK (jsonb_typeof(state) = 'object')
);

COMMENT ON TABLE adk.user_states IS
    'User-scope state, shared by every session of one user of one app (the user: keys).';
COMMENT ON COLUMN adk.user_states.app_name IS 'The ADK app name.';
COMMENT ON COLUMN adk.user_states.user_id IS 'The user id.';
COMMENT ON COLUMN adk.user_states.state IS
    'The user: keys, stored without the prefix. Merged shallowly, null kept.';
COMMENT ON COLUMN adk.user_states.update_time IS 'When the user state last changed.';
