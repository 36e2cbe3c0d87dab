-- The comment of the index 0007 built (that file runs outside a transaction and holds one
-- statement).
COMMENT ON INDEX adk.sessions_app_update_idx IS
    'list_sessions of a whole app, page by page, in (update_time, user_id, id) order.';
