-- GitHub webhooks (POST /webhooks/github/{repository_id}).
--
-- Secret rotation: a repository's webhook secret is HMAC(KOTADB_WEBHOOK_KEY, id) at
-- version 0 (the secrets handed out before rotation existed) and
-- HMAC(KOTADB_WEBHOOK_KEY, id || ':' || version) after a rotation, so every instance
-- derives it from the server key and this row; no secret is stored (the version alone
-- reveals nothing without the server key). The version before the last rotation keeps
-- verifying until webhook_previous_expires_at (a grace period while the new secret is
-- entered at GitHub) or the next rotation. No new table: RLS of repositories and
-- webhook_deliveries covers these columns.
ALTER TABLE public.repositories ADD COLUMN webhook_secret_version bigint NOT NULL DEFAULT 0;
ALTER TABLE public.repositories ADD COLUMN webhook_previous_version bigint;
ALTER TABLE public.repositories ADD COLUMN webhook_previous_expires_at timestamptz;

-- A delivery that queued nothing (ping, another branch, a tag, a deletion, another
-- event) is recorded as processed with the reason here.
ALTER TABLE public.webhook_deliveries ADD COLUMN ignored_reason text;

-- Settling a job settles its deliveries: find them by job.
CREATE INDEX webhook_deliveries_job ON public.webhook_deliveries (job_id);
