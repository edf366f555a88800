//! Ports: the only way this crate touches the world. The root package implements them
//! with the real engine and SQLite/Postgres; tests implement them with in-memory fakes.

use std::fmt;
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
}

impl Job {
    /// The repository this job belongs to.
    pub fn repo(&self) -> RepoKey {
        RepoKey(self.repository_id.clone())
    }
}

/// What indexing a repository means: the engine, seen from the actors.
#[async_trait]
pub trait RepoWork: Send + Sync + 'static {
    /// The immutable, shareable index of one repository.
    type Snapshot: Send + Sync + 'static;

    /// Loads the saved index at actor start (None: not indexed yet). Called on every (re)start.
    async fn load(&self, repo: &RepoKey) -> Result<Option<Arc<Self::Snapshot>>, String>;

    /// Runs one job to completion and returns the new snapshot.
    ///
    /// May panic: the panic kills only this repository's actor (see the crate docs).
    async fn index(&self, repo: &RepoKey, job: &Job) -> Result<Arc<Self::Snapshot>, String>;
}

/// The durable job queue (the `jobs` table).
///
/// Expectation on implementors: `claim` also hands out `running` jobs whose lease expired.
/// That is how jobs come back after the process (or a whole RepoSupervisor) died mid-job,
/// the only case in which this crate cannot settle a job itself.
#[async_trait]
pub trait JobQueue: Send + Sync + 'static {
    /// Claims the oldest runnable queued job (marks it running, counts the attempt, sets a lease), or None.
    async fn claim(&self, worker: &str, lease: Duration) -> Result<Option<Job>, String>;
    /// Extends the lease of a running job.
    async fn heartbeat(&self, job_id: &str, lease: Duration) -> Result<(), String>;
    /// Marks a running job done.
    async fn succeed(&self, job_id: &str) -> Result<(), String>;
    /// retry_after: Some(d) puts it back in the queue runnable after d; None fails it for good with `error`.
    async fn fail(
        &self,
        job_id: &str,
        error: &str,
        retry_after: Option<Duration>,
    ) -> Result<(), String>;
    /// Shutdown: back to queued without counting an attempt.
    async fn release(&self, job_id: &str) -> Result<(), String>;
}
