//! The one writer of job outcomes. Every way a claimed job can end — indexed, failed,
//! timed out, its actor crashed, its repository parked or deleted, never started, given
//! back at shutdown — goes through [`Settle`], which applies the retry policy and writes
//! the outcome with the job's claim token.

use std::sync::Arc;

use crate::config::ActorsConfig;
use crate::policy::{jitter, random_unit, retry_decision};
use crate::ports::{Job, JobQueue, Outcome, QueueError};

/// Settles jobs on the queue. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Settle {
    queue: Arc<dyn JobQueue>,
    config: Arc<ActorsConfig>,
}

impl Settle {
    pub fn new(queue: Arc<dyn JobQueue>, config: Arc<ActorsConfig>) -> Settle {
        Settle { queue, config }
    }

    pub fn queue(&self) -> &Arc<dyn JobQueue> {
        &self.queue
    }

    pub async fn succeeded(&self, job: &Job) {
        self.write(job, Outcome::Succeeded).await;
    }

    /// An attempt failed: retried after `min(base·2ⁿ, cap)` (with jitter) while attempts
    /// remain, then failed for good.
    pub async fn attempt_failed(&self, job: &Job, error: &str) {
        self.write(job, self.after_failed_attempt(job, error)).await;
    }

    /// The outcome of a failed attempt under the retry policy (see [`Settle::attempt_failed`]).
    pub fn after_failed_attempt(&self, job: &Job, error: &str) -> Outcome {
        match retry_decision(&self.config, job.attempts).retry_after() {
            Some(after) => Outcome::Retry {
                error: error.to_string(),
                after: jitter(
                    after,
                    self.config.backoff_cap,
                    self.config.retry_jitter,
                    random_unit(&job.id),
                ),
            },
            None => Outcome::Failed {
                error: error.to_string(),
            },
        }
    }

    /// Back to the queue without spending the attempt.
    pub async fn released(&self, job: &Job) {
        self.write(job, Outcome::Released).await;
    }

    /// The same, from code that cannot wait (a drop, a supervision event).
    pub fn spawn(&self, job: Job, outcome: Outcome) {
        let settle = self.clone();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { settle.write(&job, outcome).await });
        }
    }

    async fn write(&self, job: &Job, outcome: Outcome) {
        match &outcome {
            Outcome::Succeeded => {}
            Outcome::Released => tracing::info!(job_id = job.id, "job released"),
            Outcome::Retry { error, after } => tracing::warn!(
                job_id = job.id,
                repository_id = job.repository_id,
                attempts = job.attempts,
                ?after,
                error,
                "job failed; retry scheduled"
            ),
            Outcome::Failed { error } => tracing::warn!(
                job_id = job.id,
                repository_id = job.repository_id,
                attempts = job.attempts,
                error,
                "job failed for good"
            ),
        }
        match self.queue.settle(job, &outcome).await {
            Ok(()) => {}
            Err(QueueError::LeaseLost) => tracing::warn!(
                job_id = job.id,
                "job outcome not written: its lease was lost to a newer claim"
            ),
            Err(QueueError::Other(error)) => {
                tracing::warn!(job_id = job.id, error, "writing a job outcome failed")
            }
        }
    }
}
