//! The actor crate's ports, implemented with the real engine and store: how a
//! repository actor loads and rebuilds its index, and how jobs are claimed.

use crate::engine::snapshot::Snapshot;
use crate::error_chain;
use crate::indexer::{Indexer, Silent};
use crate::store::prelude::*;
use crate::store::{ClaimToken, JobClaim, JobOutcome, RepositoryId, StoreError};
use async_trait::async_trait;
use kotadb_actors::{Cancel, Job, JobQueue, Outcome, QueueError, RepoKey, RepoWork};
use std::sync::Arc;
use std::time::Duration;

/// Indexing through the engine: a RepoActor's work.
pub struct EngineWork {
    pub indexer: Arc<Indexer>,
    /// Test hook for crash-isolation tests: when set, indexing a repository whose git URL
    /// contains this text panics (outside the per-file guard), as a grammar bug would.
    pub panic_on: Option<String>,
    /// Test hook for consistency tests: a pause between the database commit (done when
    /// the indexer returns) and the RepoActor's publication of the new snapshot.
    pub publish_delay: Option<Duration>,
}

#[async_trait]
impl RepoWork for EngineWork {
    type Snapshot = Snapshot;

    async fn load(&self, repo: &RepoKey) -> Result<Option<Arc<Snapshot>>, String> {
        let dir = self.indexer.data().index(&RepositoryId(repo.0.clone()));
        let loaded = tokio::task::spawn_blocking(move || Snapshot::load(&dir))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| format!("{e:#}"))?;
        Ok(loaded.map(Arc::new))
    }

    async fn index(
        &self,
        repo: &RepoKey,
        job: &Job,
        cancel: &Cancel,
    ) -> Result<Arc<Snapshot>, String> {
        let id = RepositoryId(repo.0.clone());
        let repository = self
            .indexer
            .store()
            .repository_unscoped(&id)
            .await
            .map_err(|e| error_chain(&e))?
            .ok_or_else(|| "the repository was deleted".to_string())?;
        if let Some(marker) = &self.panic_on {
            if repository.git_url.contains(marker.as_str()) {
                panic!("injected indexer panic for {}", repository.git_url);
            }
        }
        // Idempotent on (repository, commit): a job for the commit already indexed (a
        // redelivered push, a job rescued after its worker committed and died) succeeds
        // at once with the index this instance holds for that commit.
        if let Some(snapshot) = self.already_indexed(repo, &repository, job).await {
            tracing::info!(
                repository = %repository.id, job = %job.id, commit = %snapshot.commit,
                "the job's commit is already indexed; nothing to do"
            );
            return Ok(snapshot);
        }
        let (summary, snapshot) = self
            .indexer
            .index_cancellable(
                &repository,
                job.revision.clone(),
                Arc::new(Silent),
                cancel.clone(),
            )
            .await
            .map_err(|e| without_server_paths(error_chain(&e), self.indexer.data().root()))?;
        tracing::info!(
            repository = %repository.id, job = %job.id, commit = %summary.commit,
            files = summary.files_indexed, seconds = summary.seconds, "indexed"
        );
        if let Some(delay) = self.publish_delay {
            tokio::time::sleep(delay).await;
        }
        Ok(snapshot)
    }
}

impl EngineWork {
    /// The saved index, when the job names exactly the commit the database records as
    /// indexed and the saved index is at that commit (else the indexer runs: a branch
    /// name must be resolved first, and a missing or older index must be rebuilt).
    async fn already_indexed(
        &self,
        repo: &RepoKey,
        repository: &crate::store::Repository,
        job: &Job,
    ) -> Option<Arc<Snapshot>> {
        let revision = job.revision.as_deref()?;
        if repository.last_indexed_commit.as_deref() != Some(revision) {
            return None;
        }
        let snapshot = self.load(repo).await.ok().flatten()?;
        (snapshot.commit == revision).then_some(snapshot)
    }
}

/// A job's error as its owner may see it: the data directory's location (where clones
/// and indexes live on this server) replaced by `DATA_DIR`.
fn without_server_paths(error: String, data_dir: &std::path::Path) -> String {
    let mut error = error;
    let spellings = [
        std::fs::canonicalize(data_dir).ok(),
        std::path::absolute(data_dir).ok(),
        Some(data_dir.to_path_buf()),
    ];
    for spelling in spellings.into_iter().flatten() {
        let text = spelling.display().to_string();
        if text.len() > 1 {
            error = error.replace(&text, "DATA_DIR");
        }
    }
    error
}

/// The job queue in the database.
pub struct StoreQueue {
    pub store: Arc<dyn Store>,
}

fn queue_error(error: StoreError) -> QueueError {
    match error {
        StoreError::LeaseLost => QueueError::LeaseLost,
        other => QueueError::Other(error_chain(&other)),
    }
}

#[async_trait]
impl JobQueue for StoreQueue {
    async fn claim(&self, worker: &str, lease: Duration) -> Result<Option<Job>, QueueError> {
        let claimed = self
            .store
            .claim_job(worker, lease)
            .await
            .map_err(queue_error)?;
        Ok(claimed.map(|JobClaim { job, token }| Job {
            id: job.id,
            repository_id: job.repository_id,
            job_type: job.job_type.name().to_string(),
            revision: job.revision,
            attempts: job.attempts,
            claim: token.0,
        }))
    }

    async fn heartbeat(&self, job: &Job, lease: Duration) -> Result<(), QueueError> {
        self.store
            .heartbeat_job(&job.id, &ClaimToken(job.claim.clone()), lease)
            .await
            .map_err(queue_error)
    }

    async fn rescue(&self, max_attempts: u32) -> Result<u64, QueueError> {
        let rescued = self
            .store
            .rescue_expired_jobs(max_attempts)
            .await
            .map_err(queue_error)?;
        Ok(rescued.requeued + rescued.failed)
    }

    fn notifications(&self) -> Option<tokio::sync::broadcast::Receiver<()>> {
        self.store.job_notifications()
    }

    async fn settle(&self, job: &Job, outcome: &Outcome) -> Result<(), QueueError> {
        let outcome = match outcome {
            Outcome::Succeeded => JobOutcome::Succeeded,
            Outcome::Retry { error, after } => JobOutcome::Retry {
                error: error.clone(),
                after: *after,
            },
            Outcome::Failed { error } => JobOutcome::Failed {
                error: error.clone(),
            },
            Outcome::Released => JobOutcome::Released,
        };
        self.store
            .finish_job(&job.id, &ClaimToken(job.claim.clone()), &outcome)
            .await
            .map_err(queue_error)
    }
}
