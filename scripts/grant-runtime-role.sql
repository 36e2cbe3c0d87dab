-- grant-runtime-role.sql: give an existing role exactly what adk-pg needs at run time.
--
-- The application then connects as that role: it can read and write sessions, events and
-- app/user state, read the migration ledger (so `SessionStore.connect`, the ADK service and
-- `adk-pg migrate` on a current schema work), and nothing else: no CREATE on the database or
-- on schema adk, no DDL, no TRUNCATE, no writes to the ledger. Migrations are applied by the
-- owner of schema adk (the role that ran `adk-pg migrate` first), never by the runtime role.
--
-- Run it as that owner, in the application's database, after migrating:
--
--   psql "postgresql://owner@host:5432/adk_sessions" -v ON_ERROR_STOP=1 \
--        -v runtime_role=adk_app -f scripts/grant-runtime-role.sql
--
-- The role must exist first; create it however your platform manages secrets, e.g.
--   CREATE ROLE adk_app LOGIN PASSWORD '...' NOSUPERUSER NOCREATEDB NOCREATEROLE;
-- Running the script again is harmless (GRANT/REVOKE are idempotent).
--
-- Why a script and not a migration: roles are cluster-wide, not per database, so one role
-- serves many databases and CREATE ROLE needs CREATEROLE, which the migrating role often lacks
-- (managed services, least privilege); and the role's name is each deployment's choice, which
-- a checksummed, never-edited migration file cannot take as a parameter.

\set ON_ERROR_STOP on

\if :{?runtime_role}
\else
DO $$ BEGIN
    RAISE EXCEPTION 'set the role to grant to: psql -v runtime_role=NAME -f grant-runtime-role.sql';
END $$;
\endif

BEGIN;

-- Connect to this database (PUBLIC usually has CONNECT already; a hardened server may not).
SELECT format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), :'runtime_role')
\gexec

GRANT USAGE ON SCHEMA adk TO :"runtime_role";
REVOKE CREATE ON SCHEMA adk FROM :"runtime_role";

-- Tables: read and write rows, nothing more. Views (for people in psql) and the migration
-- ledger (written only by the migrating owner): read only. Each relation is reset first, so
-- a second run also takes back anything granted more widely before.
SELECT format('REVOKE ALL ON %I.%I FROM %I', n.nspname, c.relname, :'runtime_role'),
       format('GRANT %s ON %I.%I TO %I',
              CASE WHEN c.relkind IN ('r', 'p') AND c.relname <> 'schema_migrations'
                   THEN 'SELECT, INSERT, UPDATE, DELETE' ELSE 'SELECT' END,
              n.nspname, c.relname, :'runtime_role')
FROM pg_catalog.pg_class AS c
JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
WHERE n.nspname = 'adk' AND c.relkind IN ('r', 'p', 'v', 'm')
ORDER BY c.relname
\gexec

-- Tables that later migrations create (run by this same owner) get the same row rights
-- without waiting for this script to run again (PostgreSQL cannot tell tables from views
-- here: run the script again after a migration that adds a view to make it read-only).
ALTER DEFAULT PRIVILEGES IN SCHEMA adk
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO :"runtime_role";
-- None today; a later identity or serial column would need these to insert rows.
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA adk TO :"runtime_role";
ALTER DEFAULT PRIVILEGES IN SCHEMA adk GRANT USAGE, SELECT ON SEQUENCES TO :"runtime_role";

COMMIT;
