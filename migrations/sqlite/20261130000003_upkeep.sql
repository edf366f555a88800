-- Upkeep (the SchedulerActor, src/upkeep.rs): hourly usage roll-ups, the roll-up's
-- watermark and the alerts that are open.

-- Requests per hour, organization, subject (key:<key_id> as in rate_limits, user:<auth user id> or
-- anonymous) and endpoint, rolled up from usage_metrics. A roll-up recomputes whole hours
-- and replaces their rows, so rolling an hour again gives the same totals.
CREATE TABLE usage_hourly (
    hour_start         TEXT NOT NULL,
    organization_id    TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    subject            TEXT NOT NULL,
    endpoint           TEXT NOT NULL,
    requests           INTEGER NOT NULL,
    client_errors      INTEGER NOT NULL,
    server_errors      INTEGER NOT NULL,
    total_response_ms  INTEGER NOT NULL,
    max_response_ms    INTEGER NOT NULL,
    PRIMARY KEY (hour_start, organization_id, subject, endpoint)
);
CREATE INDEX usage_hourly_organization ON usage_hourly (organization_id, hour_start);

-- Named instants of the upkeep: `usage_rolled_up_to`, the end of the last hour rolled up.
CREATE TABLE upkeep_state (
    name  TEXT PRIMARY KEY,
    at    TEXT NOT NULL
);

-- Alerts posted and not yet recovered: one row per open incident, so an instance that
-- takes the upkeep over neither posts an open incident again nor misses its recovery.
CREATE TABLE upkeep_alerts (
    name       TEXT PRIMARY KEY,
    detail     TEXT NOT NULL,
    opened_at  TEXT NOT NULL
);
