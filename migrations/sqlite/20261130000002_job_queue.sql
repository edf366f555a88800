-- The crash-proof job queue.
--
-- At most one running job per repository, enforced by the database and not only by the
-- claim's filter: a second claim of a repository's job while one runs violates this
-- index (the claim then skips that job). Any duplicates left by an older version are
-- given back to the queue first (keeping the one with the latest lease).
UPDATE indexing_jobs SET status = 'queued', lease_owner = NULL, lease_expires_at = NULL,
    claim_token = NULL, attempts = max(attempts - 1, 0)
WHERE status = 'running' AND EXISTS (
    SELECT 1 FROM indexing_jobs k
    WHERE k.repository_id = indexing_jobs.repository_id AND k.status = 'running'
      AND (coalesce(k.lease_expires_at, ''), k.id)
          > (coalesce(indexing_jobs.lease_expires_at, ''), indexing_jobs.id));
CREATE UNIQUE INDEX indexing_jobs_one_running ON indexing_jobs (repository_id)
    WHERE status = 'running';
-- The rescuer's scan: running jobs by lease expiry.
CREATE INDEX indexing_jobs_expired ON indexing_jobs (lease_expires_at) WHERE status = 'running';
