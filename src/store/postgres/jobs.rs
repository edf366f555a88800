//! `JobStore` on Postgres: the job queue shared by every instance.
//!
//! A claim is one `UPDATE … WHERE id = (SELECT … FOR UPDATE SKIP LOCKED LIMIT 1)
//! RETURNING …`; claims of all instances run side by side. "One running job per
//! repository" is the partial unique index `indexing_jobs_one_running`: two instances
//! claiming two jobs of one repository at the same moment both pass the claim's filter
//! (neither sees the other's uncommitted claim), and the second then waits for the first
//! to commit and violates the index. That claim is rolled back and tried again — its new
//! snapshot sees the running job and skips the repository — so a violation never reaches
//! the caller. (Claims used to take turns on an advisory lock for this; the index makes
//! that unnecessary.)
//!
//! The rescuer runs under `pg_try_advisory_xact_lock`: one instance at a time, the others
//! skip the round. Heartbeats and outcomes are fenced by the claim token; every time is
//! the database's `now()`. A trigger (`kotadb_notify_jobs`) sends `NOTIFY kotadb_jobs` in
//! every transaction that queues a job or ends a running one.

use super::*;
use crate::store::jobs::{event, fenced, JobEvent, Rescued};

/// The key of the advisory lock the rescuer holds (any constant unique to KotaDB).
const RESCUE_LOCK: i64 = 0x6b6f_7461_7265_7363; // "kotaresc"

/// How often a claim that lost a race on `indexing_jobs_one_running` is tried again
/// before the round gives up (each retry sees the winner and skips its repository).
const CLAIM_RACES: usize = 8;

/// The channel of `kotadb_notify_jobs`.
pub(super) const JOBS_CHANNEL: &str = "kotadb_jobs";

/// The columns of a job row, for `SELECT`/`RETURNING` lists.
macro_rules! job_columns {
    ($prefix:literal) => {
        concat!(
            $prefix,
            "id::text AS id, repository_id::text AS repository_id, job_type, status, revision, \
             attempts, error, queued_at, started_at, finished_at"
        )
    };
}

/// The same columns of `indexing_jobs j`, for joins.
macro_rules! job_columns_j {
    ($rest:literal) => {
        concat!(
            "SELECT j.id::text AS id, j.repository_id::text AS repository_id, j.job_type, j.status, \
             j.revision, j.attempts, j.error, j.queued_at, j.started_at, j.finished_at \
             FROM indexing_jobs j JOIN repositories r ON r.id = j.repository_id ",
            $rest
        )
    };
}

fn job_from_row(row: &PgRow) -> JobRecord {
    JobRecord {
        id: row.get("id"),
        repository_id: row.get("repository_id"),
        job_type: JobType::parse(row.get("job_type")).unwrap_or(JobType::FullIndex),
        status: JobStatus::parse(row.get("status")).unwrap_or(JobStatus::Failed),
        revision: row.get("revision"),
        attempts: row.get::<i32, _>("attempts").max(0) as u32,
        error: row.get("error"),
        queued_at: row.get("queued_at"),
        started_at: row.get("started_at"),
        finished_at: row.get("finished_at"),
    }
}

/// A duration as whole milliseconds, for `now() + $n * interval '1 millisecond'`.
fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX / 1_000_000)
}

async fn add_event(
    tx: &mut sqlx::Transaction<'_, Postgres>,
    job_id: &str,
    event_type: &str,
    message: Option<&str>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO indexing_job_events (job_id, event_type, message) VALUES ($1::uuid, $2, $3)",
    )
    .bind(job_id)
    .bind(event_type)
    .bind(message.map(|m| m.replace('\0', "\u{FFFD}")))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl PostgresStore {
    /// One claim (see the module docs); a unique violation means another instance
    /// claimed a job of the same repository at the same moment.
    async fn try_claim_job(&self, worker: &str, lease: Duration) -> StoreResult<Option<JobClaim>> {
        let token = ClaimToken::new_random();
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(job_columns!(
            "UPDATE indexing_jobs SET status = 'running', attempts = attempts + 1, lease_owner = $1, \
             claim_token = $3, lease_expires_at = now() + $2 * interval '1 millisecond', \
             started_at = now(), error = NULL \
             WHERE id = (SELECT j.id FROM indexing_jobs j \
                 WHERE j.status = 'queued' AND j.run_after <= now() \
                   AND NOT EXISTS (SELECT 1 FROM indexing_jobs k WHERE k.repository_id = j.repository_id \
                       AND k.status = 'running') \
                 ORDER BY j.run_after, j.queued_at \
                 FOR UPDATE SKIP LOCKED LIMIT 1) \
             RETURNING "
        ))
        .bind(worker.replace('\0', "\u{FFFD}"))
        .bind(millis(lease))
        .bind(&token.0)
        .fetch_optional(&mut *tx)
        .await?;
        let claim = row.as_ref().map(|row| JobClaim {
            job: job_from_row(row),
            token: token.clone(),
        });
        if let Some(claim) = &claim {
            add_event(
                &mut tx,
                &claim.job.id,
                event::CLAIMED,
                Some(&format!("attempt {} by {worker}", claim.job.attempts)),
            )
            .await?;
            // Its webhook deliveries are being processed (store::webhooks).
            super::webhooks::settle_deliveries(&mut tx, &claim.job.id, "processing", None).await?;
        }
        tx.commit().await?;
        Ok(claim)
    }
}

#[async_trait]
impl JobStore for PostgresStore {
    async fn enqueue_job(
        &self,
        id: &RepositoryId,
        job_type: JobType,
        revision: Option<&str>,
    ) -> StoreResult<JobRecord> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(job_columns!(
            "INSERT INTO indexing_jobs (repository_id, job_type, revision) VALUES ($1::uuid, $2, $3) RETURNING "
        ))
        .bind(&id.0)
        .bind(job_type.name())
        .bind(revision.map(|r| r.replace('\0', "\u{FFFD}")))
        .fetch_one(&mut *tx)
        .await?;
        let job = job_from_row(&row);
        add_event(&mut tx, &job.id, event::QUEUED, None).await?;
        tx.commit().await?;
        Ok(job)
    }

    async fn job(&self, org: &OrganizationId, job_id: &str) -> StoreResult<Option<JobRecord>> {
        let (Some(job_id), Some(org)) = (uuid(job_id), uuid(&org.0)) else {
            return Ok(None);
        };
        let row = sqlx::query(job_columns_j!(
            "WHERE j.id = $1::uuid AND r.organization_id = $2::uuid"
        ))
        .bind(job_id)
        .bind(org)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(job_from_row))
    }

    async fn recent_jobs(&self, org: &OrganizationId, limit: u32) -> StoreResult<Vec<JobRecord>> {
        let Some(org) = uuid(&org.0) else {
            return Ok(Vec::new());
        };
        let rows = sqlx::query(job_columns_j!(
            "WHERE r.organization_id = $1::uuid ORDER BY j.queued_at DESC, j.id LIMIT $2"
        ))
        .bind(org)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(job_from_row).collect())
    }

    async fn claim_job(&self, worker: &str, lease: Duration) -> StoreResult<Option<JobClaim>> {
        for _ in 0..CLAIM_RACES {
            match self.try_claim_job(worker, lease).await {
                Err(StoreError::Database(sqlx::Error::Database(error)))
                    if error.is_unique_violation() =>
                {
                    tracing::debug!("a claim raced another instance's claim of the same repository; trying again");
                }
                other => return other,
            }
        }
        Ok(None)
    }

    async fn heartbeat_job(
        &self,
        job_id: &str,
        token: &ClaimToken,
        lease: Duration,
    ) -> StoreResult<()> {
        let Some(job_id) = uuid(job_id).filter(|_| storable(&token.0)) else {
            return Err(StoreError::LeaseLost);
        };
        let done = sqlx::query(
            "UPDATE indexing_jobs SET lease_expires_at = now() + $1 * interval '1 millisecond' \
             WHERE id = $2::uuid AND claim_token = $3 AND status = 'running'",
        )
        .bind(millis(lease))
        .bind(job_id)
        .bind(&token.0)
        .execute(&self.pool)
        .await?;
        fenced(done.rows_affected())
    }

    async fn finish_job(
        &self,
        job_id: &str,
        token: &ClaimToken,
        outcome: &JobOutcome,
    ) -> StoreResult<()> {
        let Some(job_id) = uuid(job_id).filter(|_| storable(&token.0)) else {
            return Err(StoreError::LeaseLost);
        };
        // Every outcome ends the claim: the token is cleared with the lease, so a second
        // outcome for the same claim is refused too.
        let mut tx = self.pool.begin().await?;
        let (done, event, message) = match outcome {
            JobOutcome::Succeeded => {
                let done = sqlx::query(
                    "UPDATE indexing_jobs SET status = 'succeeded', error = NULL, lease_owner = NULL, \
                     lease_expires_at = NULL, claim_token = NULL, finished_at = now() \
                     WHERE id = $1::uuid AND claim_token = $2 AND status = 'running'",
                )
                .bind(&job_id)
                .bind(&token.0)
                .execute(&mut *tx)
                .await?;
                (done, event::SUCCEEDED, None)
            }
            JobOutcome::Retry { error, after } => {
                let error = error.replace('\0', "\u{FFFD}");
                let done = sqlx::query(
                    "UPDATE indexing_jobs SET status = 'queued', error = $3, lease_owner = NULL, \
                     lease_expires_at = NULL, claim_token = NULL, \
                     run_after = now() + $4 * interval '1 millisecond' \
                     WHERE id = $1::uuid AND claim_token = $2 AND status = 'running'",
                )
                .bind(&job_id)
                .bind(&token.0)
                .bind(&error)
                .bind(millis(*after))
                .execute(&mut *tx)
                .await?;
                (
                    done,
                    event::RETRY,
                    Some(format!("{error}; retry in {:.1} s", after.as_secs_f64())),
                )
            }
            JobOutcome::Failed { error } => {
                let error = error.replace('\0', "\u{FFFD}");
                let done = sqlx::query(
                    "UPDATE indexing_jobs SET status = 'failed', error = $3, lease_owner = NULL, \
                     lease_expires_at = NULL, claim_token = NULL, finished_at = now() \
                     WHERE id = $1::uuid AND claim_token = $2 AND status = 'running'",
                )
                .bind(&job_id)
                .bind(&token.0)
                .bind(&error)
                .execute(&mut *tx)
                .await?;
                (done, event::FAILED, Some(error))
            }
            JobOutcome::Released => {
                let done = sqlx::query(
                    "UPDATE indexing_jobs SET status = 'queued', attempts = greatest(attempts - 1, 0), \
                     lease_owner = NULL, lease_expires_at = NULL, claim_token = NULL \
                     WHERE id = $1::uuid AND claim_token = $2 AND status = 'running'",
                )
                .bind(&job_id)
                .bind(&token.0)
                .execute(&mut *tx)
                .await?;
                (done, event::RELEASED, None)
            }
        };
        fenced(done.rows_affected())?;
        // Its webhook deliveries follow the job (store::webhooks).
        let (delivery, error) = crate::store::webhooks::outcome_delivery(outcome);
        super::webhooks::settle_deliveries(&mut tx, &job_id, delivery, error).await?;
        add_event(&mut tx, &job_id, event, message.as_deref()).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn job_events(&self, org: &OrganizationId, job_id: &str) -> StoreResult<Vec<JobEvent>> {
        let (Some(job_id), Some(org)) = (uuid(job_id), uuid(&org.0)) else {
            return Ok(Vec::new());
        };
        let rows = sqlx::query(
            "SELECT e.event_type, e.message, e.created_at FROM indexing_job_events e \
             JOIN indexing_jobs j ON j.id = e.job_id JOIN repositories r ON r.id = j.repository_id \
             WHERE e.job_id = $1::uuid AND r.organization_id = $2::uuid ORDER BY e.id",
        )
        .bind(job_id)
        .bind(org)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|row| JobEvent {
                event_type: row.get("event_type"),
                message: row.get("message"),
                created_at: row.get("created_at"),
            })
            .collect())
    }

    async fn rescue_expired_jobs(&self, max_attempts: u32) -> StoreResult<Rescued> {
        let mut tx = self.pool.begin().await?;
        let leader: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
            .bind(RESCUE_LOCK)
            .fetch_one(&mut *tx)
            .await?;
        if !leader {
            // Another instance is rescuing right now.
            tx.rollback().await?;
            return Ok(Rescued::default());
        }
        // One statement decides and words each job's fate (SET sees the row as it was);
        // the events repeat what it wrote. Rows a claimant is settling right now are
        // skipped (SKIP LOCKED) and looked at again next round.
        let rows = sqlx::query(
            "UPDATE indexing_jobs j SET \
               status = CASE WHEN j.attempts >= $1::int THEN 'failed' ELSE 'queued' END, \
               error = 'lease expired during attempt ' || j.attempts || ' of ' || $1::int || ' (worker ' \
                   || coalesce(j.lease_owner, '?') || ' stopped without finishing it); ' \
                   || CASE WHEN j.attempts >= $1::int THEN 'out of attempts' ELSE 'requeued' END, \
               finished_at = CASE WHEN j.attempts >= $1::int THEN now() END, \
               run_after = now(), lease_owner = NULL, lease_expires_at = NULL, claim_token = NULL \
             FROM (SELECT id FROM indexing_jobs WHERE status = 'running' AND lease_expires_at < now() \
                   FOR UPDATE SKIP LOCKED) expired \
             WHERE j.id = expired.id \
             RETURNING j.id::text AS id, j.status, j.error",
        )
        .bind(i32::try_from(max_attempts).unwrap_or(i32::MAX))
        .fetch_all(&mut *tx)
        .await?;
        let mut rescued = Rescued::default();
        for row in &rows {
            let id: String = row.get("id");
            let message: Option<String> = row.get("error");
            if row.get::<&str, _>("status") == "failed" {
                rescued.failed += 1;
            } else {
                rescued.requeued += 1;
            }
            add_event(&mut tx, &id, event::RESCUED, message.as_deref()).await?;
            // Its webhook deliveries follow it: back to queued, or failed for good.
            let (delivery, error) = match row.get::<&str, _>("status") {
                "failed" => ("failed", message.as_deref()),
                _ => ("queued", None),
            };
            super::webhooks::settle_deliveries(&mut tx, &id, delivery, error).await?;
        }
        tx.commit().await?;
        Ok(rescued)
    }

    async fn queue_depth(&self) -> StoreResult<QueueDepth> {
        let row = sqlx::query(
            "SELECT \
               (SELECT count(*) FROM indexing_jobs WHERE status = 'queued') AS queued, \
               (SELECT count(*) FROM indexing_jobs WHERE status = 'running') AS running, \
               (SELECT count(*) FROM indexing_jobs WHERE status = 'failed' \
                  AND finished_at >= now() - interval '1 hour') AS failed_recent",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(QueueDepth {
            queued: row.get::<i64, _>("queued").max(0) as u64,
            running: row.get::<i64, _>("running").max(0) as u64,
            failed_recent: row.get::<i64, _>("failed_recent").max(0) as u64,
        })
    }
}
