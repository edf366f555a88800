//! The indexing job queue (`indexing_jobs`, `indexing_job_events`).
//!
//! A claim marks a job running, counts the attempt, sets a lease and hands out a fresh
//! [`ClaimToken`]. Heartbeats and the job's outcome must present that token: a worker
//! whose lease lapsed (and whose job another worker has claimed since) can neither extend
//! nor overwrite its successor's job — it gets [`StoreError::LeaseLost`] and stops.
//!
//! A claim takes only queued jobs. A job whose worker died (its lease expired while it
//! was running) comes back through one path only, the rescuer
//! ([`JobStore::rescue_expired_jobs`]), which requeues it, or fails it when it is out of
//! attempts, and says so in the job's events. The database allows at most one running job
//! per repository (a partial unique index), whatever the instances do.

use super::{OrganizationId, RepositoryId, StoreError, StoreResult, Timestamp};
use async_trait::async_trait;
use serde::Serialize;

/// What an indexing job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobType {
    /// Index the repository's default branch (incrementally when an index exists).
    FullIndex,
    /// Bring the index up to a pushed commit.
    IncrementalUpdate,
}

impl JobType {
    pub fn name(self) -> &'static str {
        match self {
            JobType::FullIndex => "full_index",
            JobType::IncrementalUpdate => "incremental_update",
        }
    }

    pub fn parse(text: &str) -> Option<JobType> {
        match text {
            "full_index" => Some(JobType::FullIndex),
            "incremental_update" => Some(JobType::IncrementalUpdate),
            _ => None,
        }
    }
}

impl std::fmt::Display for JobType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
}

impl JobStatus {
    pub fn name(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Succeeded => "succeeded",
            JobStatus::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<JobStatus> {
        match text {
            "queued" => Some(JobStatus::Queued),
            "running" => Some(JobStatus::Running),
            "succeeded" => Some(JobStatus::Succeeded),
            "failed" => Some(JobStatus::Failed),
            _ => None,
        }
    }
}

impl std::fmt::Display for JobStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A row of `indexing_jobs`, as `GET /api/v1/jobs/{id}` shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, schemars::JsonSchema)]
pub struct JobRecord {
    pub id: String,
    pub repository_id: String,
    pub job_type: JobType,
    pub status: JobStatus,
    pub revision: Option<String>,
    pub attempts: u32,
    pub error: Option<String>,
    pub queued_at: Timestamp,
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
}

/// The proof of one claim of a job: fresh at every claim, required by heartbeats and
/// outcomes, so only the latest claimant can touch the job.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClaimToken(pub String);

impl ClaimToken {
    pub fn new_random() -> ClaimToken {
        ClaimToken(uuid::Uuid::new_v4().to_string())
    }
}

/// A job handed to a worker, and the token that worker must show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobClaim {
    pub job: JobRecord,
    pub token: ClaimToken,
}

/// How a claimed job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    Succeeded,
    /// Back to the queue, runnable after the delay.
    Retry {
        error: String,
        after: std::time::Duration,
    },
    /// Failed for good.
    Failed {
        error: String,
    },
    /// Given back (at shutdown, or never started) without counting the attempt.
    Released,
}

/// The `event_type`s of `indexing_job_events`: a job's story, in the order they happen.
pub mod event {
    pub const QUEUED: &str = "queued";
    pub const CLAIMED: &str = "claimed";
    pub const RETRY: &str = "retry";
    pub const SUCCEEDED: &str = "succeeded";
    pub const FAILED: &str = "failed";
    /// The job's lease expired while it ran (its worker died): requeued or failed.
    pub const RESCUED: &str = "rescued";
    /// Given back at shutdown without spending the attempt.
    pub const RELEASED: &str = "released";
}

/// One line of a job's story (`indexing_job_events`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq, schemars::JsonSchema)]
pub struct JobEvent {
    /// One of [`event`]'s names.
    pub event_type: String,
    pub message: Option<String>,
    pub created_at: Timestamp,
}

/// What one pass of the rescuer did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rescued {
    /// Jobs back in the queue.
    pub requeued: u64,
    /// Jobs that were on their last attempt, now failed.
    pub failed: u64,
}

/// Queue figures for `/health`.
#[derive(Debug, Clone, Copy, Serialize, Default, PartialEq, Eq, schemars::JsonSchema)]
pub struct QueueDepth {
    pub queued: u64,
    pub running: u64,
    /// Jobs failed for good in the last hour.
    pub failed_recent: u64,
}

/// The durable job queue.
#[async_trait]
pub trait JobStore: Send + Sync {
    /// Queues a job; returns it as stored.
    async fn enqueue_job(
        &self,
        id: &RepositoryId,
        job_type: JobType,
        revision: Option<&str>,
    ) -> StoreResult<JobRecord>;
    /// A job of one of the org's repositories.
    async fn job(&self, org: &OrganizationId, job_id: &str) -> StoreResult<Option<JobRecord>>;
    /// The org's most recent jobs, newest first.
    async fn recent_jobs(&self, org: &OrganizationId, limit: u32) -> StoreResult<Vec<JobRecord>>;
    /// The events of a job of one of the org's repositories, oldest first (empty when
    /// the job is not the org's).
    async fn job_events(&self, org: &OrganizationId, job_id: &str) -> StoreResult<Vec<JobEvent>>;
    /// Claims the oldest queued job that is due. Marks it running, counts the attempt,
    /// sets the lease and a new claim token in the same statement. Never claims a job of
    /// a repository that has a job running (the database refuses a second one; such a
    /// job is skipped, never an error). A running job whose lease expired is not
    /// claimable: the rescuer returns it to the queue first.
    async fn claim_job(
        &self,
        worker: &str,
        lease: std::time::Duration,
    ) -> StoreResult<Option<JobClaim>>;
    /// Extends the lease of the job `token` claimed; [`StoreError::LeaseLost`] when that
    /// claim is no longer the job's (its lease lapsed and another worker claimed it, or it
    /// was settled).
    async fn heartbeat_job(
        &self,
        job_id: &str,
        token: &ClaimToken,
        lease: std::time::Duration,
    ) -> StoreResult<()>;
    /// Records how the claim `token` ended, with an event; [`StoreError::LeaseLost`] (and
    /// nothing written) when that claim is no longer the job's.
    async fn finish_job(
        &self,
        job_id: &str,
        token: &ClaimToken,
        outcome: &JobOutcome,
    ) -> StoreResult<()>;
    /// The rescuer: every running job whose lease expired (its worker died without
    /// settling it) goes back to the queue, runnable now, or — when it has had
    /// `max_attempts` attempts — fails with that as its error; each gets a `rescued`
    /// event. Its old claim token is void (a straggler gets `LeaseLost`). One instance
    /// rescues at a time (on Postgres an advisory lock; one that finds it taken rescues
    /// nothing this time).
    async fn rescue_expired_jobs(&self, max_attempts: u32) -> StoreResult<Rescued>;
    async fn queue_depth(&self) -> StoreResult<QueueDepth>;
}

/// `LeaseLost` unless exactly one row was changed.
pub(crate) fn fenced(rows_affected: u64) -> StoreResult<()> {
    if rows_affected == 1 {
        Ok(())
    } else {
        Err(StoreError::LeaseLost)
    }
}
