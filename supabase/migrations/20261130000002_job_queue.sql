-- The crash-proof job queue.
--
-- At most one running job per repository across every instance, enforced by the
-- database and not only by the claim's filter: a second claim of a repository's job
-- while one runs violates this index (the claim then skips that job). Any duplicates left
-- by an older version are given back to the queue first (keeping the latest lease).
UPDATE indexing_jobs j SET status = 'queued', lease_owner = NULL, lease_expires_at = NULL,
    claim_token = NULL, attempts = greatest(j.attempts - 1, 0)
WHERE j.status = 'running' AND EXISTS (
    SELECT 1 FROM indexing_jobs k
    WHERE k.repository_id = j.repository_id AND k.status = 'running'
      AND (coalesce(k.lease_expires_at, '-infinity'), k.id::text)
          > (coalesce(j.lease_expires_at, '-infinity'), j.id::text));
CREATE UNIQUE INDEX indexing_jobs_one_running ON indexing_jobs (repository_id)
    WHERE status = 'running';

-- Pollers wake at once (LISTEN kotadb_jobs) instead of at their next poll: whenever a
-- job becomes runnable (queued by any writer: an enqueue, a retry, a release, a rescue)
-- or a running job ends (the repository's next job may now run). A claim (queued ->
-- running) notifies nobody, so pollers never wake each other in a loop. The
-- notification is sent when the writing transaction commits; through a
-- transaction-mode pooler it never arrives, and polling still finds the job.
CREATE FUNCTION kotadb_notify_jobs() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public AS $$
BEGIN
    PERFORM pg_notify('kotadb_jobs', '');
    RETURN NULL;
END;
$$;
CREATE TRIGGER indexing_jobs_notify_insert AFTER INSERT ON indexing_jobs
    FOR EACH ROW WHEN (NEW.status = 'queued') EXECUTE FUNCTION kotadb_notify_jobs();
CREATE TRIGGER indexing_jobs_notify_update AFTER UPDATE OF status ON indexing_jobs
    FOR EACH ROW WHEN (NEW.status = 'queued' OR (OLD.status = 'running' AND NEW.status <> 'running'))
    EXECUTE FUNCTION kotadb_notify_jobs();
