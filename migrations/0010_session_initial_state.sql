-- The session-scope state each session was created with, so that the state as of any event
-- can be rebuilt: this state, with the session-scope keys of the events' state deltas up to
-- that event applied in order (as append_event merges them, with ||). fork_session reads it.
--
-- Sessions that exist before this migration have no recorded initial state (NULL): their
-- state is known only at their newest event, so they can be forked there and nowhere else.
-- Adding a nullable column rewrites no row; it is not indexed, so appends stay HOT.

ALTER TABLE adk.sessions
    ADD COLUMN initial_state jsonb,
    ADD CONSTRAINT sessions_initial_state_is_object
        CHECK (initial_state IS NULL OR jsonb_typeof(initial_state) = 'object');

COMMENT ON COLUMN adk.sessions.initial_state IS
    'The session-scope state (no prefixes) the session was created with; the state as of an '
    'event is this with the session-scope deltas of the events up to it applied. NULL for '
    'sessions created before adk-pg recorded it (those can be forked only at their newest '
    'event).';
