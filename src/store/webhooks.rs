//! GitHub webhook deliveries (`webhook_deliveries`) and the jobs they queue.
//!
//! A delivery is recorded and its job queued in one transaction, deduplicated by
//! `(repository_id, delivery_id)`: a redelivery, to any instance, finds the first one's row
//! and queues nothing. Bursts coalesce: a push to a repository that already has a queued
//! (not yet running) job moves that job to the newer commit instead of adding one, and the
//! delivery points at it. A delivery's status follows its job: `queued` → `processing`
//! (claimed) → `processed` (succeeded) or `failed`; the job store updates it in the same
//! transaction as the job (see each backend's `settle_deliveries`).

use super::{JobStatus, OrganizationId, RepositoryId, StoreResult, Timestamp};
use async_trait::async_trait;
use serde::Serialize;

/// What the webhook route needs to verify a delivery: the repository's tracked branch and
/// the versions of its secret that verify now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookTarget {
    pub repository_id: RepositoryId,
    pub default_branch: Option<String>,
    /// The current secret version.
    pub secret_version: i64,
    /// The version before the last rotation, while its grace period lasts.
    pub previous_version: Option<i64>,
}

/// What a verified delivery asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryAction {
    /// A push to the tracked branch: index `revision` (an `incremental_update` job).
    Enqueue { revision: String },
    /// Nothing to do (ping, another branch, a tag, a deletion, another event).
    Ignore { reason: String },
}

/// What recording a delivery did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// A new job was queued for the delivery.
    Queued { job_id: String },
    /// The repository's queued job now targets the delivery's commit.
    Coalesced { job_id: String },
    /// Recorded; nothing queued.
    Ignored { reason: String },
    /// This delivery id was recorded before (a redelivery): nothing changed.
    Duplicate { job_id: Option<String> },
}

/// A row of `webhook_deliveries`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeliveryRecord {
    pub delivery_id: String,
    pub event_type: Option<String>,
    /// `queued`, `processing`, `processed` or `failed`.
    pub status: String,
    pub job_id: Option<String>,
    pub ignored_reason: Option<String>,
    pub error_message: Option<String>,
    pub received_at: Timestamp,
    pub processed_at: Option<Timestamp>,
}

/// The status a delivery takes when its job moves to `status` (a retry or a release puts
/// the job, and so the delivery, back in the queue).
pub fn delivery_status(job: JobStatus) -> &'static str {
    match job {
        JobStatus::Queued => "queued",
        JobStatus::Running => "processing",
        JobStatus::Succeeded => "processed",
        JobStatus::Failed => "failed",
    }
}

#[async_trait]
pub trait WebhookStore: Send + Sync {
    /// The repository a webhook URL names, whatever its organization: the route has no
    /// caller, the signature (checked against this target's secrets) is the credential.
    async fn webhook_target(&self, id: &RepositoryId) -> StoreResult<Option<WebhookTarget>>;
    /// Records a verified delivery and does what it asks, in one transaction (see the
    /// module's description). `event` is the `X-GitHub-Event` header.
    async fn record_delivery(
        &self,
        id: &RepositoryId,
        delivery_id: &str,
        event: &str,
        action: &DeliveryAction,
    ) -> StoreResult<DeliveryOutcome>;
    /// Moves one of the org's repositories to a new secret version; the current one keeps
    /// verifying for `grace`. Returns the new version, or None when the repository is not
    /// the org's.
    async fn rotate_webhook_secret(
        &self,
        org: &OrganizationId,
        id: &RepositoryId,
        grace: std::time::Duration,
    ) -> StoreResult<Option<i64>>;
    /// The current secret version of one of the org's repositories.
    async fn webhook_secret_version(
        &self,
        org: &OrganizationId,
        id: &RepositoryId,
    ) -> StoreResult<Option<i64>>;
    /// The most recent deliveries of one of the org's repositories, newest first (empty
    /// when the repository is not the org's).
    async fn deliveries(
        &self,
        org: &OrganizationId,
        id: &RepositoryId,
        limit: u32,
    ) -> StoreResult<Vec<DeliveryRecord>>;
}

/// The delivery status and error message that a job outcome gives its deliveries.
pub fn outcome_delivery(outcome: &super::JobOutcome) -> (&'static str, Option<&str>) {
    use super::JobOutcome;
    match outcome {
        JobOutcome::Succeeded => (delivery_status(JobStatus::Succeeded), None),
        JobOutcome::Retry { error, .. } => (delivery_status(JobStatus::Queued), Some(error)),
        JobOutcome::Failed { error } => (delivery_status(JobStatus::Failed), Some(error)),
        JobOutcome::Released => (delivery_status(JobStatus::Queued), None),
    }
}
