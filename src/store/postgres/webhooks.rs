//! `WebhookStore` on Postgres, shared by every instance. A delivery's INSERT comes first:
//! a concurrent redelivery of the same id waits on the unique index and then finds the
//! row (a duplicate). Deliveries of one repository then take turns on a transaction-scoped
//! advisory lock keyed by the repository, so two pushes never both add a job; the queued
//! job to coalesce into is locked `FOR UPDATE` (a claim in progress wins, and the push
//! queues a new job instead).

use super::*;
use crate::store::webhooks::{
    DeliveryAction, DeliveryOutcome, DeliveryRecord, WebhookStore, WebhookTarget,
};

/// Text for Postgres: no NUL.
fn clean(text: &str) -> String {
    text.replace('\0', "\u{FFFD}")
}

/// Sets the status of the deliveries of `job_id` (called by the job store in the
/// transaction that claims or settles the job). `processed_at` is set when final.
pub(super) async fn settle_deliveries(
    tx: &mut sqlx::Transaction<'_, Postgres>,
    job_id: &str,
    status: &str,
    error: Option<&str>,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE webhook_deliveries SET status = $1, error_message = $2, \
         processed_at = CASE WHEN $1 IN ('processed', 'failed') THEN now() END \
         WHERE job_id = $3::uuid",
    )
    .bind(status)
    .bind(error.map(clean))
    .bind(job_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[async_trait]
impl WebhookStore for PostgresStore {
    async fn webhook_target(&self, id: &RepositoryId) -> StoreResult<Option<WebhookTarget>> {
        let Some(id) = uuid(&id.0) else {
            return Ok(None);
        };
        let row = sqlx::query(
            "SELECT id::text AS id, default_branch, webhook_secret_version, \
               CASE WHEN webhook_previous_expires_at > now() THEN webhook_previous_version END \
                 AS previous_version \
             FROM repositories WHERE id = $1::uuid",
        )
        .bind(id)
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
        let Some(repository) = uuid(&id.0) else {
            return Err(StoreError::NotFound);
        };
        let delivery_id = clean(delivery_id);
        let mut tx = self.pool.begin().await?;
        let (status, reason) = match action {
            DeliveryAction::Enqueue { .. } => ("queued", None),
            DeliveryAction::Ignore { reason } => ("processed", Some(clean(reason))),
        };
        let inserted: Option<i64> = sqlx::query_scalar(
            "INSERT INTO webhook_deliveries \
               (repository_id, delivery_id, event_type, status, ignored_reason, processed_at) \
             VALUES ($1::uuid, $2, $3, $4, $5, CASE WHEN $4 = 'processed' THEN now() END) \
             ON CONFLICT (repository_id, delivery_id) DO NOTHING RETURNING id",
        )
        .bind(&repository)
        .bind(&delivery_id)
        .bind(clean(event))
        .bind(status)
        .bind(reason)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row_id) = inserted else {
            let job_id: Option<String> = sqlx::query_scalar(
                "SELECT job_id::text FROM webhook_deliveries \
                 WHERE repository_id = $1::uuid AND delivery_id = $2",
            )
            .bind(&repository)
            .bind(&delivery_id)
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
            DeliveryAction::Enqueue { revision } => clean(revision),
        };
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext('kotadb_webhooks'), hashtext($1))")
            .bind(&repository)
            .execute(&mut *tx)
            .await?;
        let queued: Option<String> = sqlx::query_scalar(
            "SELECT id::text FROM indexing_jobs WHERE repository_id = $1::uuid AND status = 'queued' \
             ORDER BY queued_at, id LIMIT 1 FOR UPDATE",
        )
        .bind(&repository)
        .fetch_optional(&mut *tx)
        .await?;
        let (job_id, event_type) = match queued {
            Some(job_id) => {
                sqlx::query("UPDATE indexing_jobs SET revision = $1 WHERE id = $2::uuid")
                    .bind(&revision)
                    .bind(&job_id)
                    .execute(&mut *tx)
                    .await?;
                (job_id, "coalesced")
            }
            None => {
                let job_id: String = sqlx::query_scalar(
                    "INSERT INTO indexing_jobs (repository_id, job_type, revision) \
                     VALUES ($1::uuid, 'incremental_update', $2) RETURNING id::text",
                )
                .bind(&repository)
                .bind(&revision)
                .fetch_one(&mut *tx)
                .await?;
                (job_id, "queued")
            }
        };
        sqlx::query(
            "INSERT INTO indexing_job_events (job_id, event_type, message) VALUES ($1::uuid, $2, $3)",
        )
        .bind(&job_id)
        .bind(event_type)
        .bind(format!("webhook delivery {delivery_id}: {revision}"))
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE webhook_deliveries SET job_id = $1::uuid WHERE id = $2")
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
        let (Some(id), Some(org)) = (uuid(&id.0), uuid(&org.0)) else {
            return Ok(None);
        };
        let millis = i64::try_from(grace.as_millis()).unwrap_or(i64::MAX / 1_000_000);
        Ok(sqlx::query_scalar(
            "UPDATE repositories SET webhook_previous_version = webhook_secret_version, \
               webhook_previous_expires_at = now() + $1 * interval '1 millisecond', \
               webhook_secret_version = webhook_secret_version + 1 \
             WHERE id = $2::uuid AND organization_id = $3::uuid RETURNING webhook_secret_version",
        )
        .bind(millis)
        .bind(id)
        .bind(org)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn webhook_secret_version(
        &self,
        org: &OrganizationId,
        id: &RepositoryId,
    ) -> StoreResult<Option<i64>> {
        let (Some(id), Some(org)) = (uuid(&id.0), uuid(&org.0)) else {
            return Ok(None);
        };
        Ok(sqlx::query_scalar(
            "SELECT webhook_secret_version FROM repositories \
             WHERE id = $1::uuid AND organization_id = $2::uuid",
        )
        .bind(id)
        .bind(org)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn deliveries(
        &self,
        org: &OrganizationId,
        id: &RepositoryId,
        limit: u32,
    ) -> StoreResult<Vec<DeliveryRecord>> {
        let (Some(id), Some(org)) = (uuid(&id.0), uuid(&org.0)) else {
            return Ok(Vec::new());
        };
        let rows = sqlx::query(
            "SELECT d.delivery_id, d.event_type, d.status, d.job_id::text AS job_id, \
               d.ignored_reason, d.error_message, d.received_at, d.processed_at \
             FROM webhook_deliveries d JOIN repositories r ON r.id = d.repository_id \
             WHERE d.repository_id = $1::uuid AND r.organization_id = $2::uuid \
             ORDER BY d.id DESC LIMIT $3",
        )
        .bind(id)
        .bind(org)
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
