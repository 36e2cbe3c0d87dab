-- name: distribute_function
-- Make one adk function (migrations 0013, 0014) a distributed function of its user_id argument,
-- colocated with the sessions table: the coordinator hands a call whole to the node holding
-- that user's shards, where its statements run locally.
-- $1 function_name text (schema-qualified, no arguments: the function is not overloaded)
-- $2 colocate_with text (the schema-qualified sessions table)
-- returns: one row (the function's void result, unused)
SELECT create_distributed_function($1::text::regproc::regprocedure, 'user_id',
                                   colocate_with => $2::text) AS distributed;
