//! `JobStore` on SQLite: the job queue. A claim is one `UPDATE … RETURNING` (SQLite
//! serialises writers, so two claims never take the same job); heartbeats and outcomes
//! are fenced by the claim token. One process uses the file (the writer lock), so the
//! rescuer needs no lock of its own.

use super::*;
use crate::store::jobs::{event, fenced, JobEvent, Rescued};

/// The columns of a job row, for `SELECT`/`RETURNING` lists.
macro_rules! job_columns {
    ($prefix:literal) => {
        concat!(
            $prefix,
            "id, repository_id, job_type, status, revision, attempts, error, queued_at, started_at, finished_at"
        )
    };
}

/// The same columns of `indexing_jobs j`, for joins.
const JOB_COLUMNS_J: &str =
    "j.id, j.repository_id, j.job_type, j.status, j.revision, j.attempts, j.error, \
                             j.queued_at, j.started_at, j.finished_at";

fn job_from_row(row: &sqlx::sqlite::SqliteRow) -> JobRecord {
    JobRecord {
        id: row.get("id"),
        repository_id: row.get("repository_id"),
        job_type: JobType::parse(row.get("job_type")).unwrap_or(JobType::FullIndex),
        status: JobStatus::parse(row.get("status")).unwrap_or(JobStatus::Failed),
        revision: row.get("revision"),
        attempts: row.get::<i64, _>("attempts") as u32,
        error: row.get("error"),
        queued_at: row.get("queued_at"),
        started_at: row.get("started_at"),
        finished_at: row.get("finished_at"),
    }
}

async fn add_event(
    tx: &mut sqlx::Transaction<'_, Sqlite>,
    job_id: &str,
    event_type: &str,
    message: Option<&str>,
) -> StoreResult<()> {
    sqlx::query("INSERT INTO indexing_job_events (job_id, event_type, message) VALUES (?, ?, ?)")
        .bind(job_id)
        .bind(event_type)
        .bind(message)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// SQLite's `strftime` modifier for "now plus `duration`".
fn plus(duration: Duration) -> String {
    format!("+{:.3} seconds", duration.as_secs_f64())
}

#[async_trait]
impl JobStore for SqliteStore {
    async fn enqueue_job(
        &self,
        id: &RepositoryId,
        job_type: JobType,
        revision: Option<&str>,
    ) -> StoreResult<JobRecord> {
        let job_id = uuid::Uuid::new_v4().to_string();
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(job_columns!(
            "INSERT INTO indexing_jobs (id, repository_id, job_type, revision) VALUES (?, ?, ?, ?) RETURNING "
        ))
        .bind(&job_id)
        .bind(&id.0)
        .bind(job_type.name())
        .bind(revision)
        .fetch_one(&mut *tx)
        .await?;
        add_event(&mut tx, &job_id, event::QUEUED, None).await?;
        tx.commit().await?;
        Ok(job_from_row(&row))
    }

    async fn job(&self, org: &OrganizationId, job_id: &str) -> StoreResult<Option<JobRecord>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {JOB_COLUMNS_J} FROM indexing_jobs j JOIN repositories r ON r.id = j.repository_id \
             WHERE j.id = ? AND r.organization_id = ?"
        )))
        .bind(job_id)
        .bind(&org.0)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(job_from_row))
    }

    async fn recent_jobs(&self, org: &OrganizationId, limit: u32) -> StoreResult<Vec<JobRecord>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {JOB_COLUMNS_J} FROM indexing_jobs j JOIN repositories r ON r.id = j.repository_id \
             WHERE r.organization_id = ? ORDER BY j.queued_at DESC, j.id LIMIT ?"
        )))
        .bind(&org.0)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(job_from_row).collect())
    }

    async fn claim_job(&self, worker: &str, lease: Duration) -> StoreResult<Option<JobClaim>> {
        let token = ClaimToken::new_random();
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(job_columns!(
            "UPDATE indexing_jobs SET status = 'running', attempts = attempts + 1, lease_owner = ?1, \
             claim_token = ?3, lease_expires_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?2), \
             started_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), error = NULL \
             WHERE id = (SELECT j.id FROM indexing_jobs j \
                 WHERE j.status = 'queued' AND j.run_after <= strftime('%Y-%m-%dT%H:%M:%fZ', 'now') \
                   AND NOT EXISTS (SELECT 1 FROM indexing_jobs k WHERE k.repository_id = j.repository_id \
                       AND k.status = 'running') \
                 ORDER BY j.run_after, j.queued_at LIMIT 1) \
             RETURNING "
        ))
        .bind(worker)
        .bind(plus(lease))
        .bind(&token.0)
        .fetch_optional(&mut *tx)
        .await;
        let row = match row {
            // `indexing_jobs_one_running`: the filter above already skips such a job, so
            // this is only a belt to those braces; never an error for the caller.
            Err(sqlx::Error::Database(error)) if error.is_unique_violation() => return Ok(None),
            other => other?,
        };
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

    async fn heartbeat_job(
        &self,
        job_id: &str,
        token: &ClaimToken,
        lease: Duration,
    ) -> StoreResult<()> {
        let done = sqlx::query(
            "UPDATE indexing_jobs SET lease_expires_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?) \
             WHERE id = ? AND claim_token = ? AND status = 'running'",
        )
        .bind(plus(lease))
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
        // Every outcome ends the claim: the token is cleared with the lease, so a second
        // outcome for the same claim is refused too.
        const FENCE: &str = " WHERE id = ? AND claim_token = ? AND status = 'running'";
        let mut tx = self.pool.begin().await?;
        let (done, event, message) = match outcome {
            JobOutcome::Succeeded => {
                let done = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE indexing_jobs SET status = 'succeeded', error = NULL, lease_owner = NULL, \
                     lease_expires_at = NULL, claim_token = NULL, \
                     finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'){FENCE}"
                )))
                .bind(job_id)
                .bind(&token.0)
                .execute(&mut *tx)
                .await?;
                (done, event::SUCCEEDED, None)
            }
            JobOutcome::Retry { error, after } => {
                let done = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE indexing_jobs SET status = 'queued', error = ?, lease_owner = NULL, \
                     lease_expires_at = NULL, claim_token = NULL, \
                     run_after = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?){FENCE}"
                )))
                .bind(error)
                .bind(plus(*after))
                .bind(job_id)
                .bind(&token.0)
                .execute(&mut *tx)
                .await?;
                (
                    done,
                    event::RETRY,
                    Some(format!("{error}; retry in {:.1} s", after.as_secs_f64())),
                )
            }
            JobOutcome::Failed { error } => {
                let done = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE indexing_jobs SET status = 'failed', error = ?, lease_owner = NULL, \
                     lease_expires_at = NULL, claim_token = NULL, \
                     finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'){FENCE}"
                )))
                .bind(error)
                .bind(job_id)
                .bind(&token.0)
                .execute(&mut *tx)
                .await?;
                (done, event::FAILED, Some(error.clone()))
            }
            JobOutcome::Released => {
                let done = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE indexing_jobs SET status = 'queued', attempts = max(attempts - 1, 0), \
                     lease_owner = NULL, lease_expires_at = NULL, claim_token = NULL{FENCE}"
                )))
                .bind(job_id)
                .bind(&token.0)
                .execute(&mut *tx)
                .await?;
                (done, event::RELEASED, None)
            }
        };
        fenced(done.rows_affected())?;
        // Its webhook deliveries follow the job (store::webhooks).
        let (delivery, error) = crate::store::webhooks::outcome_delivery(outcome);
        super::webhooks::settle_deliveries(&mut tx, job_id, delivery, error).await?;
        add_event(&mut tx, job_id, event, message.as_deref()).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn job_events(&self, org: &OrganizationId, job_id: &str) -> StoreResult<Vec<JobEvent>> {
        let rows = sqlx::query(
            "SELECT e.event_type, e.message, e.created_at FROM indexing_job_events e \
             JOIN indexing_jobs j ON j.id = e.job_id JOIN repositories r ON r.id = j.repository_id \
             WHERE e.job_id = ? AND r.organization_id = ? ORDER BY e.id",
        )
        .bind(job_id)
        .bind(&org.0)
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
        // One statement decides and words each job's fate (SET sees the row as it was,
        // and 'now' is fixed within a statement); the events repeat what it wrote.
        let mut tx = self.pool.begin().await?;
        let rows = sqlx::query(
            "UPDATE indexing_jobs SET \
               status = CASE WHEN attempts >= ?1 THEN 'failed' ELSE 'queued' END, \
               error = 'lease expired during attempt ' || attempts || ' of ' || ?1 || ' (worker ' \
                   || coalesce(lease_owner, '?') || ' stopped without finishing it); ' \
                   || CASE WHEN attempts >= ?1 THEN 'out of attempts' ELSE 'requeued' END, \
               finished_at = CASE WHEN attempts >= ?1 THEN strftime('%Y-%m-%dT%H:%M:%fZ', 'now') END, \
               run_after = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), \
               lease_owner = NULL, lease_expires_at = NULL, claim_token = NULL \
             WHERE status = 'running' AND lease_expires_at < strftime('%Y-%m-%dT%H:%M:%fZ', 'now') \
             RETURNING id, status, error",
        )
        .bind(i64::from(max_attempts))
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
                  AND finished_at >= strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 hour')) AS failed_recent",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(QueueDepth {
            queued: row.get::<i64, _>("queued") as u64,
            running: row.get::<i64, _>("running") as u64,
            failed_recent: row.get::<i64, _>("failed_recent") as u64,
        })
    }
}
