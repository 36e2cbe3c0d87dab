-- adk-pg: no-transaction
-- Paging through a whole app's sessions (list_sessions with page_size and no user) read every
-- session of the app for each page, since 0004 dropped the update_time indexes: a walk through
-- a 100,000-session app was quadratic. One index in listing order makes each page a range
-- scan of page_size entries. Session updates are no longer HOT (update_time changes with every
-- append): measured, the append's latency moved within noise (0.598 vs 0.611 ms median p50 over
-- 7 interleaved rounds of 400 appends) for a walk 4x faster at 100,000 sessions. A user's own
-- listing still reads through sessions_pkey (a user's sessions are few).
--
-- app_name is indexed with the collation "POSIX", not the column's "C" (the same byte order):
-- a lookup by key (the append, the foreign key check of every event insert) compares with "C"
-- and cannot use this index, so it never scans an app's sessions through it, even when the
-- planner has no statistics; list_sessions.sql asks for the "POSIX" spelling.
-- Built CONCURRENTLY: writers are not blocked while an existing table is indexed.
CREATE INDEX CONCURRENTLY IF NOT EXISTS sessions_app_update_idx
    ON adk.sessions (app_name COLLATE "POSIX", update_time, user_id, id);
