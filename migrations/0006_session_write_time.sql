-- The server's clock of each session's last write, for retention: adk.sessions.update_time is
-- ADK's last_update_time, the timestamp of the last appended event, which the client chooses
-- (a backdated event or a skewed clock makes a live session look old). `adk-pg prune` decides
-- what is old by write_time instead, which only now() of the server that wrote it sets.
--
-- Sessions that exist before this migration count as written when it runs: their true last
-- write is unknown, and an older guess could delete a session in use. Adding a column with a
-- DEFAULT of now() (a stable function) rewrites no row. The column is not indexed, so the
-- update of a session row by append_event stays HOT.

ALTER TABLE adk.sessions
    ADD COLUMN write_time timestamptz NOT NULL DEFAULT now();

COMMENT ON COLUMN adk.sessions.write_time IS
    'The database server''s clock (now()) when the session was last written: created, appended '
    'to, or imported. Retention (adk-pg prune) goes by this, never by the client-supplied '
    'update_time.';
