-- name: distribute_table
-- Distribute one adk table by user_id over the cluster's shards, colocated with $2 (the
-- first one distributed passes 'default'), so a user's rows of every table sit on one node
-- and a statement naming one user is routed to one shard. Its existing rows move to the
-- shards. Triggers are allowed on the shards (the change feed's: they fire there, see
-- the README's "Scaling out").
-- $1 table_name text (schema-qualified)
-- $2 colocate_with text ('default', or a schema-qualified table already distributed)
-- returns: one row (the function's void result, unused)
SELECT set_config('citus.enable_unsafe_triggers', 'on', true) AS triggers,
       create_distributed_table($1::text::regclass, 'user_id', colocate_with => $2::text)
           AS distributed;
