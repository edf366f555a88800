-- The service: API keys and the indexing job queue.
-- Times are UTC text in one fixed format (strftime '%Y-%m-%dT%H:%M:%fZ'), so they compare as text.

CREATE TABLE api_keys (
    id               TEXT PRIMARY KEY,          -- the key_id part of kota_{tier}_{key_id}_{secret}
    organization_id  TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name             TEXT NOT NULL DEFAULT '',
    tier             TEXT NOT NULL CHECK (tier IN ('free', 'solo', 'team')),
    key_hash         TEXT NOT NULL,             -- SHA-256 of the secret, hex; the secret is never stored
    is_admin         INTEGER NOT NULL DEFAULT 0,
    usage_count      INTEGER NOT NULL DEFAULT 0,
    last_used_at     TEXT,
    expires_at       TEXT,
    revoked_at       TEXT,
    created_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX api_keys_organization ON api_keys (organization_id);

CREATE TABLE indexing_jobs (
    id                TEXT PRIMARY KEY,
    repository_id     TEXT NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    job_type          TEXT NOT NULL,            -- full_index | incremental_update
    status            TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    revision          TEXT,
    attempts          INTEGER NOT NULL DEFAULT 0,
    error             TEXT,
    run_after         TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    lease_owner       TEXT,
    lease_expires_at  TEXT,
    queued_at         TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    started_at        TEXT,
    finished_at       TEXT
);
CREATE INDEX indexing_jobs_runnable ON indexing_jobs (status, run_after);
CREATE INDEX indexing_jobs_repository ON indexing_jobs (repository_id, status);

CREATE TABLE indexing_job_events (
    id          INTEGER PRIMARY KEY,
    job_id      TEXT NOT NULL REFERENCES indexing_jobs(id) ON DELETE CASCADE,
    event_type  TEXT NOT NULL,
    message     TEXT,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX indexing_job_events_job ON indexing_job_events (job_id);
