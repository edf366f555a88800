//! `WebhookStore` on SQLite. A delivery's transaction starts with its INSERT, so it holds
//! SQLite's write lock from its first statement: its reads (the queued job to coalesce
//! into) see every earlier delivery and claim, and two deliveries never both add a job.

use super::*;
use crate::store::webhooks::{
    DeliveryAction, DeliveryOutcome, DeliveryRecord, WebhookStore, WebhookTarget,
};

const NOW: &str = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

/// Sets the status of the deliveries of `job_id` (called by the job store in the
/// transaction that claims or settles the job). `processed_at` is set when final.
pub(super) async fn settle_deliveries(
    tx: &mut sqlx::Transaction<'_, Sqlite>,
    job_id: &str,
    status: &str,
    error: Option<&str>,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE webhook_deliveries SET status = ?1, error_message = ?2, \
         processed_at = CASE WHEN ?1 IN ('processed', 'failed') \
             THEN strftime('%Y-%m-%dT%H:%M:%fZ', 'now') END \
         WHERE job_id = ?3",
    )
    .bind(status)
    .bind(error)
    .bind(job_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[async_trait]
impl WebhookStore for SqliteStore {
    async fn webhook_target(&self, id: &RepositoryId) -> StoreResult<Option<WebhookTarget>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT id, default_branch, webhook_secret_version, \
               CASE WHEN webhook_previous_expires_at > {NOW} THEN webhook_previous_version END \
                 AS previous_version \
             FROM repositories WHERE id = ?"
        )))
        .bind(&id.0)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|row| WebhookTarget {
            repository_id: RepositoryId(row.get("id")),
            default_branch: row.get("default_branch"),
            secret_version: row.get("webhook_secret_version"),
            previous_version: row.get("previous_version"),
        }))
    }

    async fn record_delivery(
        &self,
        id: &RepositoryId,
        delivery_id: &str,
        event: &str,
        action: &DeliveryAction,
    ) -> StoreResult<DeliveryOutcome> {
        let mut tx = self.pool.begin().await?;
        let (status, reason) = match action {
            DeliveryAction::Enqueue { .. } => ("queued", None),
            DeliveryAction::Ignore { reason } => ("processed", Some(reason.as_str())),
        };
        let inserted: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "INSERT INTO webhook_deliveries \
               (repository_id, delivery_id, event_type, status, ignored_reason, processed_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, CASE WHEN ?4 = 'processed' THEN {NOW} END) \
             ON CONFLICT (repository_id, delivery_id) DO NOTHING RETURNING id"
        )))
        .bind(&id.0)
        .bind(delivery_id)
        .bind(event)
        .bind(status)
        .bind(reason)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row_id) = inserted else {
            let job_id: Option<String> = sqlx::query_scalar(
                "SELECT job_id FROM webhook_deliveries WHERE repository_id = ? AND delivery_id = ?",
            )
            .bind(&id.0)
            .bind(delivery_id)
            .fetch_optional(&mut *tx)
            .await?
            .flatten();
            tx.commit().await?;
            return Ok(DeliveryOutcome::Duplicate { job_id });
        };
        let revision = match action {
            DeliveryAction::Ignore { reason } => {
                tx.commit().await?;
                return Ok(DeliveryOutcome::Ignored {
                    reason: reason.clone(),
                });
            }
            DeliveryAction::Enqueue { revision } => revision,
        };
        let queued: Option<String> = sqlx::query_scalar(
            "SELECT id FROM indexing_jobs WHERE repository_id = ? AND status = 'queued' \
             ORDER BY queued_at, id LIMIT 1",
        )
        .bind(&id.0)
        .fetch_optional(&mut *tx)
        .await?;
        let (job_id, event_type) = match queued {
            Some(job_id) => {
                sqlx::query("UPDATE indexing_jobs SET revision = ? WHERE id = ?")
                    .bind(revision)
                    .bind(&job_id)
                    .execute(&mut *tx)
                    .await?;
                (job_id, "coalesced")
            }
            None => {
                let job_id = uuid::Uuid::new_v4().to_string();
                sqlx::query(
                    "INSERT INTO indexing_jobs (id, repository_id, job_type, revision) \
                     VALUES (?, ?, 'incremental_update', ?)",
                )
                .bind(&job_id)
                .bind(&id.0)
                .bind(revision)
                .execute(&mut *tx)
                .await?;
                (job_id, "queued")
            }
        };
        sqlx::query(
            "INSERT INTO indexing_job_events (job_id, event_type, message) VALUES (?, ?, ?)",
        )
        .bind(&job_id)
        .bind(event_type)
        .bind(format!("webhook delivery {delivery_id}: {revision}"))
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE webhook_deliveries SET job_id = ? WHERE id = ?")
            .bind(&job_id)
            .bind(row_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(if event_type == "coalesced" {
            DeliveryOutcome::Coalesced { job_id }
        } else {
            DeliveryOutcome::Queued { job_id }
        })
    }

    async fn rotate_webhook_secret(
        &self,
        org: &OrganizationId,
        id: &RepositoryId,
        grace: Duration,
    ) -> StoreResult<Option<i64>> {
        let version = sqlx::query_scalar(
            "UPDATE repositories SET webhook_previous_version = webhook_secret_version, \
               webhook_previous_expires_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?), \
               webhook_secret_version = webhook_secret_version + 1 \
             WHERE id = ? AND organization_id = ? RETURNING webhook_secret_version",
        )
        .bind(format!("+{:.3} seconds", grace.as_secs_f64()))
        .bind(&id.0)
        .bind(&org.0)
        .fetch_optional(&self.pool)
        .await?;
        Ok(version)
    }

    async fn webhook_secret_version(
        &self,
        org: &OrganizationId,
        id: &RepositoryId,
    ) -> StoreResult<Option<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT webhook_secret_version FROM repositories WHERE id = ? AND organization_id = ?",
        )
        .bind(&id.0)
        .bind(&org.0)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn deliveries(
        &self,
        org: &OrganizationId,
        id: &RepositoryId,
        limit: u32,
    ) -> StoreResult<Vec<DeliveryRecord>> {
        let rows = sqlx::query(
            "SELECT d.delivery_id, d.event_type, d.status, d.job_id, d.ignored_reason, \
               d.error_message, d.received_at, d.processed_at \
             FROM webhook_deliveries d JOIN repositories r ON r.id = d.repository_id \
             WHERE d.repository_id = ? AND r.organization_id = ? \
             ORDER BY d.id DESC LIMIT ?",
        )
        .bind(&id.0)
        .bind(&org.0)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|row| DeliveryRecord {
                delivery_id: row.get("delivery_id"),
                event_type: row.get("event_type"),
                status: row.get("status"),
                job_id: row.get("job_id"),
                ignored_reason: row.get("ignored_reason"),
                error_message: row.get("error_message"),
                received_at: row.get("received_at"),
                processed_at: row.get("processed_at"),
            })
            .collect())
    }
}
