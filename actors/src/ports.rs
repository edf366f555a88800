//! Ports: the only way this crate touches the world. The root package implements them
//! with the real engine and SQLite/Postgres; tests implement them with in-memory fakes.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

/// A repository id. One [`crate::RepoKey`] has at most one live `RepoActor`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RepoKey(pub String);

impl fmt::Display for RepoKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for RepoKey {
    fn from(value: &str) -> Self {
        RepoKey(value.to_string())
    }
}

/// A claimed indexing job, as the queue hands it out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    pub id: String,
    pub repository_id: String,
    pub job_type: String,
    pub revision: Option<String>,
    /// Attempts counted so far, including the one this claim started.
    pub attempts: u32,
    /// The claim's token: the queue accepts a heartbeat or an outcome of this job only
    /// with it, so a worker whose lease lapsed cannot touch its successor's claim.
    pub claim: String,
}

impl Job {
    /// The repository this job belongs to.
    pub fn repo(&self) -> RepoKey {
        RepoKey(self.repository_id.clone())
    }
}

/// How a claimed job ended, as written to the queue (by `settle` only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    /// Back to the queue, runnable after the delay; the attempt counts.
    Retry {
        error: String,
        after: Duration,
    },
    /// Failed for good.
    Failed {
        error: String,
    },
    /// Back to the queue without spending the attempt (shutdown, never started).
    Released,
}

/// Why the queue refused an operation.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum QueueError {
    /// The claim is no longer the job's: its lease lapsed and another worker claimed it,
    /// or it was settled. The worker must stop and write nothing more.
    #[error("the job's lease was lost to another claim")]
    LeaseLost,
    #[error("{0}")]
    Other(String),
}

/// Asks a running build to stop. Cloned into the build; [`Cancel::cancel`] is seen by
/// every clone. The build checks it between units of work and returns an error.
#[derive(Clone, Debug, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Release);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// What indexing a repository means: the engine, seen from the actors.
#[async_trait]
pub trait RepoWork: Send + Sync + 'static {
    /// The immutable, shareable index of one repository.
    type Snapshot: Send + Sync + 'static;

    /// Loads the saved index at actor start (None: not indexed yet). Called on every (re)start.
    async fn load(&self, repo: &RepoKey) -> Result<Option<Arc<Self::Snapshot>>, String>;

    /// Runs one job to completion and returns the new snapshot. Stops early with an
    /// error, writing nothing, once `cancel` is set (a timeout, a lost lease).
    ///
    /// May panic: the panic kills only this repository's actor (see the crate docs).
    async fn index(
        &self,
        repo: &RepoKey,
        job: &Job,
        cancel: &Cancel,
    ) -> Result<Arc<Self::Snapshot>, String>;
}

/// The durable job queue (the `indexing_jobs` table).
///
/// Jobs come back after the process (or a whole RepoSupervisor) died mid-job — the only
/// case in which this crate cannot settle a job itself — through [`JobQueue::rescue`],
/// which the poller calls regularly: `claim` hands out queued jobs only. Each claim
/// carries a new [`Job::claim`] token, and `heartbeat` and `settle` refuse any other with
/// [`QueueError::LeaseLost`].
#[async_trait]
pub trait JobQueue: Send + Sync + 'static {
    /// Claims the oldest runnable job (marks it running, counts the attempt, sets a lease
    /// and a new claim token), or None.
    async fn claim(&self, worker: &str, lease: Duration) -> Result<Option<Job>, QueueError>;
    /// Extends the lease of the job's claim.
    async fn heartbeat(&self, job: &Job, lease: Duration) -> Result<(), QueueError>;
    /// Records how the job's claim ended.
    async fn settle(&self, job: &Job, outcome: &Outcome) -> Result<(), QueueError>;
    /// Returns running jobs whose lease expired (their worker died) to the queue, or
    /// fails those that had `max_attempts` attempts; how many it touched. Safe to call
    /// from every instance (the queue lets one at a time do it).
    async fn rescue(&self, max_attempts: u32) -> Result<u64, QueueError> {
        let _ = max_attempts;
        Ok(0)
    }
    /// Where the queue announces new work at once (a job queued, a running one ended),
    /// if it can; the poller then claims without waiting for its next poll.
    fn notifications(&self) -> Option<tokio::sync::broadcast::Receiver<()>> {
        None
    }
}

/// The chores an upkeep round is asked to do (alert checks run every round).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Chores {
    /// Roll usage records up into hourly summaries.
    pub roll_up: bool,
    /// Delete records older than their retention period.
    pub retention: bool,
}

/// What a round did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Round {
    /// This instance ran the round.
    Ran,
    /// Another instance runs the upkeep right now (it holds the lock); nothing was done.
    Skipped,
}

/// Periodic upkeep (roll-ups, retention, alert checks), run by the `SchedulerActor`.
/// Implementations let one instance at a time run a round (on Postgres an advisory
/// lock) and answer [`Round::Skipped`] on the others.
#[async_trait]
pub trait Upkeep: Send + Sync + 'static {
    /// One round at wall-clock `now` (passed in, so tests control it).
    async fn run_round(&self, now: std::time::SystemTime, chores: Chores) -> Result<Round, String>;
}
