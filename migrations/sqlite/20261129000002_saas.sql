-- The tables of SaaS mode (migrations/postgres), minus row-level security, so both
-- backends hold the same records: key permissions and limits, organization members,
-- shared rate windows, usage, token usage and webhook deliveries.

ALTER TABLE api_keys ADD COLUMN user_id TEXT;
-- SHA-256 (hex) of the whole plaintext of a key made in SQL with a bcrypt key_hash.
ALTER TABLE api_keys ADD COLUMN lookup_hash TEXT;
ALTER TABLE api_keys ADD COLUMN permissions TEXT NOT NULL DEFAULT '{"read": true, "write": true}';
ALTER TABLE api_keys ADD COLUMN rate_limit INTEGER;      -- per hour; NULL: the tier's
ALTER TABLE api_keys ADD COLUMN monthly_quota INTEGER;   -- per calendar month; NULL: none
CREATE UNIQUE INDEX api_keys_lookup_hash ON api_keys (lookup_hash) WHERE lookup_hash IS NOT NULL;

CREATE TABLE organization_members (
    organization_id  TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    user_id          TEXT NOT NULL,
    role             TEXT NOT NULL DEFAULT 'member' CHECK (role IN ('owner', 'member')),
    created_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (organization_id, user_id)
);
CREATE INDEX organization_members_user ON organization_members (user_id);

CREATE TABLE rate_limits (
    subject          TEXT NOT NULL,
    window_kind      TEXT NOT NULL CHECK (window_kind IN ('hour', 'month')),
    window_start     TEXT NOT NULL,
    organization_id  TEXT REFERENCES organizations(id) ON DELETE CASCADE,
    leased           INTEGER NOT NULL DEFAULT 0,
    last_granted     INTEGER NOT NULL DEFAULT 0,
    updated_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (subject, window_kind, window_start)
);

CREATE TABLE usage_metrics (
    id                INTEGER PRIMARY KEY,
    api_key_id        TEXT,
    user_id           TEXT,
    organization_id   TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    endpoint          TEXT NOT NULL,
    method            TEXT NOT NULL,
    status_code       INTEGER NOT NULL,
    response_time_ms  INTEGER NOT NULL,
    tokens_used       INTEGER NOT NULL DEFAULT 0,
    created_at        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX usage_metrics_api_key ON usage_metrics (api_key_id, created_at);
CREATE INDEX usage_metrics_organization ON usage_metrics (organization_id, created_at);

CREATE TABLE token_usage (
    id               INTEGER PRIMARY KEY,
    api_key_id       TEXT,
    organization_id  TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    repository_id    TEXT REFERENCES repositories(id) ON DELETE SET NULL,
    job_id           TEXT REFERENCES indexing_jobs(id) ON DELETE SET NULL,
    usage_type       TEXT NOT NULL,
    tokens_used      INTEGER NOT NULL,
    created_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE webhook_deliveries (
    id             INTEGER PRIMARY KEY,
    repository_id  TEXT NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    delivery_id    TEXT NOT NULL,
    event_type     TEXT,
    status         TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'processing', 'processed', 'failed')),
    job_id         TEXT REFERENCES indexing_jobs(id) ON DELETE SET NULL,
    received_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    processed_at   TEXT,
    error_message  TEXT,
    UNIQUE (repository_id, delivery_id)
);
