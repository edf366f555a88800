-- Row-level security: a Supabase user (role authenticated, id auth.uid()) sees only the
-- rows of the organizations they are a member of; anon sees nothing.
--
-- The server connects as the tables' owner (or service_role, BYPASSRLS) and does its own
-- tenant checks; the owner bypasses these policies because RLS is enabled, not forced.
-- The policies are for direct access with a user's token (Supabase's REST API, the
-- dashboard, a client library): defence in depth, and what keeps tenants apart if a
-- table is ever exposed.
--
-- Privileges: a Supabase project grants everything in public to anon and authenticated
-- by default (the bootstrap reproduces that), so everything is revoked first and only
-- what a member needs is granted back: reading their organization's rows (never the
-- hashes of API keys), adding and renaming repositories, naming and revoking API keys.

-- Membership tests for the policies. SECURITY DEFINER (owned by the migrating role, which
-- owns the tables) so they read organization_members and the join path without the
-- caller's RLS (no recursion, one index lookup each); fixed, empty search_path.
CREATE FUNCTION public.is_org_member(org uuid) RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = ''
    AS $$
    SELECT EXISTS (
        SELECT 1 FROM public.organization_members m
        WHERE m.organization_id = org AND m.user_id = auth.uid()
    )
$$;

CREATE FUNCTION public.is_repository_member(repository uuid) RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = ''
    AS $$
    SELECT EXISTS (
        SELECT 1 FROM public.repositories r
        JOIN public.organization_members m ON m.organization_id = r.organization_id
        WHERE r.id = repository AND m.user_id = auth.uid()
    )
$$;

-- Symbols and references reach their organization through their file's repository;
-- rows of an index run not yet committed (or retired by one) are not shown: a member
-- reads what the service answers, one commit at a time.
CREATE FUNCTION public.is_file_member(file bigint) RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = ''
    AS $$
    SELECT EXISTS (
        SELECT 1 FROM public.indexed_files f
        JOIN public.repositories r ON r.id = f.repository_id
        JOIN public.organization_members m ON m.organization_id = r.organization_id
        WHERE f.id = file AND f.update_id IS NULL AND m.user_id = auth.uid()
    )
$$;

CREATE FUNCTION public.is_job_member(job uuid) RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = ''
    AS $$
    SELECT EXISTS (
        SELECT 1 FROM public.indexing_jobs j
        JOIN public.repositories r ON r.id = j.repository_id
        JOIN public.organization_members m ON m.organization_id = r.organization_id
        WHERE j.id = job AND m.user_id = auth.uid()
    )
$$;

REVOKE ALL ON FUNCTION public.is_org_member(uuid), public.is_repository_member(uuid),
    public.is_file_member(bigint), public.is_job_member(uuid)
    FROM PUBLIC, anon;
GRANT EXECUTE ON FUNCTION public.is_org_member(uuid), public.is_repository_member(uuid),
    public.is_file_member(bigint), public.is_job_member(uuid)
    TO authenticated, service_role;

-- Every table of the schema.
ALTER TABLE public.organizations ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.organization_members ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.api_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.repositories ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.indexing_jobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.indexing_job_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.webhook_deliveries ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.indexed_files ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.symbols ENABLE ROW LEVEL SECURITY;
ALTER TABLE public."references" ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.dependencies ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.rate_limits ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.usage_metrics ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.token_usage ENABLE ROW LEVEL SECURITY;
-- The staging marker of indexing runs (store::postgres::records): the server's alone.
ALTER TABLE public.index_updates ENABLE ROW LEVEL SECURITY;

-- Privileges: none for anon; for authenticated, reads (gated by the policies below) and
-- the few writes a member makes; everything for service_role (which bypasses RLS).
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC, anon, authenticated;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM PUBLIC, anon, authenticated;
GRANT ALL ON ALL TABLES IN SCHEMA public TO service_role;
GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO service_role;

GRANT SELECT ON public.organizations, public.organization_members, public.repositories,
    public.indexing_jobs, public.indexing_job_events, public.webhook_deliveries,
    public.indexed_files, public.symbols, public."references", public.dependencies,
    public.rate_limits, public.usage_metrics, public.token_usage
    TO authenticated;
-- API keys: every column but the two hashes (a member may list and revoke keys, never
-- take a hash away to attack offline).
GRANT SELECT (id, key_id, user_id, organization_id, tier, name, permissions, is_admin,
              rate_limit, monthly_quota, usage_count, last_used_at, expires_at,
              revoked_at, created_at, updated_at)
    ON public.api_keys TO authenticated;
GRANT UPDATE (name, revoked_at) ON public.api_keys TO authenticated;
GRANT INSERT (organization_id, name, git_url, default_branch, provider),
      UPDATE (name, default_branch)
    ON public.repositories TO authenticated;

-- Policies: for authenticated only (anon has no privileges, and no policy either).
CREATE POLICY member_read ON public.organizations
    FOR SELECT TO authenticated USING (public.is_org_member(id));
CREATE POLICY member_read ON public.organization_members
    FOR SELECT TO authenticated USING (public.is_org_member(organization_id));

CREATE POLICY member_read ON public.api_keys
    FOR SELECT TO authenticated USING (public.is_org_member(organization_id));
CREATE POLICY member_update ON public.api_keys
    FOR UPDATE TO authenticated
    USING (public.is_org_member(organization_id))
    WITH CHECK (public.is_org_member(organization_id));

CREATE POLICY member_read ON public.repositories
    FOR SELECT TO authenticated USING (public.is_org_member(organization_id));
CREATE POLICY member_insert ON public.repositories
    FOR INSERT TO authenticated WITH CHECK (public.is_org_member(organization_id));
CREATE POLICY member_update ON public.repositories
    FOR UPDATE TO authenticated
    USING (public.is_org_member(organization_id))
    WITH CHECK (public.is_org_member(organization_id));

CREATE POLICY member_read ON public.indexing_jobs
    FOR SELECT TO authenticated USING (public.is_repository_member(repository_id));
CREATE POLICY member_read ON public.indexing_job_events
    FOR SELECT TO authenticated USING (public.is_job_member(job_id));
CREATE POLICY member_read ON public.webhook_deliveries
    FOR SELECT TO authenticated USING (public.is_repository_member(repository_id));
CREATE POLICY member_read ON public.indexed_files
    FOR SELECT TO authenticated USING (update_id IS NULL AND public.is_repository_member(repository_id));
CREATE POLICY member_read ON public.symbols
    FOR SELECT TO authenticated USING (public.is_file_member(file_id));
CREATE POLICY member_read ON public."references"
    FOR SELECT TO authenticated USING (public.is_file_member(file_id));
CREATE POLICY member_read ON public.dependencies
    FOR SELECT TO authenticated USING (update_id IS NULL AND public.is_repository_member(repository_id));
CREATE POLICY member_read ON public.rate_limits
    FOR SELECT TO authenticated USING (public.is_org_member(organization_id));
CREATE POLICY member_read ON public.usage_metrics
    FOR SELECT TO authenticated USING (public.is_org_member(organization_id));
CREATE POLICY member_read ON public.token_usage
    FOR SELECT TO authenticated USING (public.is_org_member(organization_id));

-- sqlx's own bookkeeping table lives in public too (created before the first migration):
-- on Supabase, the default privileges would hand it to anon and authenticated. The
-- REVOKE above covers its privileges; RLS without policies keeps it the owner's.
DO $$
BEGIN
    IF to_regclass('public._sqlx_migrations') IS NOT NULL THEN
        ALTER TABLE public._sqlx_migrations ENABLE ROW LEVEL SECURITY;
    END IF;
END
$$;
