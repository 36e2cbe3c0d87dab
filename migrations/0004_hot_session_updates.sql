-- Every append_event updates its session row (state, revision, update_time). With an index on
-- update_time that update can never be HOT: it adds an entry to each of the three indexes of
-- adk.sessions and leaves them bloated by one dead entry per event. Without those indexes the
-- update stays on its heap page (a HOT update) and touches no index; fillfactor keeps room on
-- the page for it.
--
-- list_sessions still reads through sessions_pkey (one user's sessions, or an app's), then
-- sorts by update_time: a user's sessions are few, and listing a whole app was never cheaper
-- than a scan of that app's sessions (ADK's own service loads them all).

DROP INDEX adk.sessions_app_update_idx;
DROP INDEX adk.sessions_app_user_update_idx;
ALTER TABLE adk.sessions SET (fillfactor = 70);
