//! Tuning knobs of the supervision tree.

use std::time::Duration;

/// Configuration of the supervision tree. [`Default`] gives the production values; tests
/// shrink the durations.
#[derive(Clone, Debug)]
pub struct ActorsConfig {
    /// How often the poller claims jobs when nobody pokes it.
    pub poll_interval: Duration,
    /// Jobs running at once across all repositories (bounds RepoActor mailboxes).
    pub max_concurrent_jobs: usize,
    /// A job still running after this long is cancelled and failed ("timed out after …").
    pub job_timeout: Duration,
    /// Lease set on claim and renewed by heartbeats every `lease / 3`.
    pub lease: Duration,
    /// Attempts (counted by the queue at claim) after which a failing job fails for good.
    pub max_attempts: u32,
    /// Retry delay after the first failed attempt; doubles per attempt.
    pub backoff_base: Duration,
    /// Upper bound of the retry delay.
    pub backoff_cap: Duration,
    /// Crashes of one repository's actor within `park_window` that park the repository.
    pub park_after: u32,
    /// Sliding window for `park_after`.
    pub park_window: Duration,
    /// A repository with no job and no snapshot read for this long has its actor stopped
    /// and its snapshot dropped.
    pub idle_after: Duration,
    /// How long `Actors::snapshot` waits on the supervisor (spawn + first load).
    pub call_timeout: Duration,
    /// Worker name given to `JobQueue::claim`.
    pub worker_id: String,
}

impl Default for ActorsConfig {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_millis(500),
            max_concurrent_jobs: 2,
            job_timeout: Duration::from_secs(30 * 60),
            lease: Duration::from_secs(60),
            max_attempts: 3,
            backoff_base: Duration::from_secs(1),
            backoff_cap: Duration::from_secs(10 * 60),
            park_after: 5,
            park_window: Duration::from_secs(10 * 60),
            idle_after: Duration::from_secs(10 * 60),
            call_timeout: Duration::from_secs(10),
            worker_id: "kotadb".to_string(),
        }
    }
}
