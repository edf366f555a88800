-- Fenced claims: every claim of a job sets a fresh token; heartbeats and outcomes must
-- present it, so a worker whose lease lapsed cannot extend or overwrite its successor's
-- claim of the same job.
ALTER TABLE indexing_jobs ADD COLUMN claim_token TEXT;
