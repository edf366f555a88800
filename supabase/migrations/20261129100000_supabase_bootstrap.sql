-- The Supabase pieces the schema and its row-level security use, for plain Postgres (15+):
-- the API roles anon, authenticated and service_role; schema auth with a minimal
-- auth.users and Supabase's own auth.uid(), auth.role(), auth.email() and auth.jwt(); and
-- the grants and default privileges a Supabase project starts with.
--
-- On Supabase, which has all of this (and where the auth schema belongs to
-- supabase_auth_admin), it is a no-op: every step is guarded by "the role is missing" or
-- "the auth schema is missing". It sorts before the schema migration, which references
-- auth.users.

-- Roles are cluster-wide, and tests migrate many databases of one cluster at once: two
-- sessions may both see a role missing, so the loser's duplicate is not an error.
DO $roles$
DECLARE
    spec text[];
BEGIN
    FOREACH spec SLICE 1 IN ARRAY ARRAY[
        ['anon', 'NOLOGIN NOINHERIT'],
        ['authenticated', 'NOLOGIN NOINHERIT'],
        ['service_role', 'NOLOGIN NOINHERIT BYPASSRLS']
    ] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = spec[1]) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I %s', spec[1], spec[2]);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;
            END;
        END IF;
    END LOOP;
END
$roles$;

DO $auth$
BEGIN
    IF to_regnamespace('auth') IS NOT NULL THEN
        RAISE NOTICE 'schema auth exists (Supabase): bootstrap skipped';
        RETURN;
    END IF;

    CREATE SCHEMA auth;

    -- Supabase's auth.users has many more columns; the schema only references id.
    CREATE TABLE auth.users (
        id                  uuid PRIMARY KEY,
        email               text UNIQUE,
        role                text,
        raw_app_meta_data   jsonb,
        raw_user_meta_data  jsonb,
        created_at          timestamptz NOT NULL DEFAULT now(),
        updated_at          timestamptz NOT NULL DEFAULT now()
    );

    -- Supabase's definitions, verbatim: the JWT's claims as PostgREST sets them, either
    -- one setting per claim (older) or the whole claims object (current).
    CREATE FUNCTION auth.uid() RETURNS uuid
        LANGUAGE sql STABLE
        AS $fn$
  select
  coalesce(
    nullif(current_setting('request.jwt.claim.sub', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
  )::uuid
$fn$;

    CREATE FUNCTION auth.role() RETURNS text
        LANGUAGE sql STABLE
        AS $fn$
  select
  coalesce(
    nullif(current_setting('request.jwt.claim.role', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
  )::text
$fn$;

    CREATE FUNCTION auth.email() RETURNS text
        LANGUAGE sql STABLE
        AS $fn$
  select
  coalesce(
    nullif(current_setting('request.jwt.claim.email', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'email')
  )::text
$fn$;

    CREATE FUNCTION auth.jwt() RETURNS jsonb
        LANGUAGE sql STABLE
        AS $fn$
  select
    coalesce(
        nullif(current_setting('request.jwt.claim', true), ''),
        nullif(current_setting('request.jwt.claims', true), '')
    )::jsonb
$fn$;

    -- What a new Supabase project grants: the API roles may use the schemas (row-level
    -- security, not privileges, is what keeps tenants apart), and tables, sequences and
    -- functions created later in public are granted to them by default. The RLS migration
    -- therefore revokes before it grants, exactly as it must on Supabase.
    GRANT USAGE ON SCHEMA auth TO anon, authenticated, service_role;
    GRANT USAGE ON SCHEMA public TO anon, authenticated, service_role;
    CREATE SCHEMA IF NOT EXISTS extensions;
    GRANT USAGE ON SCHEMA extensions TO anon, authenticated, service_role;
    ALTER DEFAULT PRIVILEGES IN SCHEMA public
        GRANT ALL ON TABLES TO anon, authenticated, service_role;
    ALTER DEFAULT PRIVILEGES IN SCHEMA public
        GRANT ALL ON SEQUENCES TO anon, authenticated, service_role;
    ALTER DEFAULT PRIVILEGES IN SCHEMA public
        GRANT ALL ON FUNCTIONS TO anon, authenticated, service_role;

    -- Supabase sessions find extensions (pgcrypto's crypt and gen_salt) without a schema.
    EXECUTE format('ALTER DATABASE %I SET search_path = "$user", public, extensions',
                   current_database());

    -- As on Supabase, the migrating role may act as the API roles (SET ROLE in tests and
    -- in the SQL editor). A superuser already may.
    IF NOT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
        BEGIN
            EXECUTE format('GRANT anon, authenticated, service_role TO %I', current_user);
        EXCEPTION WHEN duplicate_object OR unique_violation OR insufficient_privilege THEN
            RAISE NOTICE 'could not grant the API roles to %', current_user;
        END;
    END IF;
END
$auth$;
