-- Upkeep (the SchedulerActor, src/upkeep.rs): hourly usage roll-ups, the roll-up's
-- watermark and the alerts that are open. One instance at a time runs it, under the
-- session advisory lock store::postgres::upkeep::UPKEEP_LOCK.

-- Requests per hour, organization, subject (key:<key_id> as in rate_limits, user:<auth user id> or
-- anonymous) and endpoint, rolled up from usage_metrics. A roll-up recomputes whole hours
-- and replaces their rows, so rolling an hour again gives the same totals.
CREATE TABLE usage_hourly (
    hour_start         timestamptz NOT NULL,
    organization_id    uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    subject            text NOT NULL,
    endpoint           text NOT NULL,
    requests           bigint NOT NULL,
    client_errors      bigint NOT NULL,
    server_errors      bigint NOT NULL,
    total_response_ms  bigint NOT NULL,
    max_response_ms    integer NOT NULL,
    PRIMARY KEY (hour_start, organization_id, subject, endpoint)
);
CREATE INDEX usage_hourly_organization ON usage_hourly (organization_id, hour_start);

-- Named instants of the upkeep: `usage_rolled_up_to`, the end of the last hour rolled up.
CREATE TABLE upkeep_state (
    name  text PRIMARY KEY,
    at    timestamptz NOT NULL
);

-- Alerts posted and not yet recovered: one row per open incident, so an instance that
-- takes the upkeep over neither posts an open incident again nor misses its recovery.
CREATE TABLE upkeep_alerts (
    name       text PRIMARY KEY,
    detail     text NOT NULL,
    opened_at  timestamptz NOT NULL
);

-- Row-level security as for the other tables: members read their organization's
-- roll-ups; the upkeep's own state is the server's alone (RLS on, no policy, no grant).
ALTER TABLE public.usage_hourly ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.upkeep_state ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.upkeep_alerts ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON public.usage_hourly, public.upkeep_state, public.upkeep_alerts
    FROM PUBLIC, anon, authenticated;
GRANT ALL ON public.usage_hourly, public.upkeep_state, public.upkeep_alerts TO service_role;
GRANT SELECT ON public.usage_hourly TO authenticated;
CREATE POLICY member_read ON public.usage_hourly
    FOR SELECT TO authenticated USING (public.is_org_member(organization_id));
