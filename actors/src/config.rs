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
    /// Each retry delay is spread at random over ±this fraction of itself (never past
    /// `backoff_cap`), so jobs that failed together (a remote down) do not all come back
    /// together. 0 for exact delays.
    pub retry_jitter: f64,
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
    /// When the `SchedulerActor` runs upkeep rounds (if the tree was given an upkeep).
    pub upkeep: UpkeepSchedule,
}

/// The upkeep's periods. A round runs every `tick` (the alert checks); it also rolls
/// usage up when `roll_up_every` has passed since the last roll-up this instance saw
/// done, and deletes expired records when `retention_every` has. The first round runs
/// one `tick` after start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpkeepSchedule {
    pub tick: Duration,
    pub roll_up_every: Duration,
    pub retention_every: Duration,
}

impl UpkeepSchedule {
    /// The defaults the service's settings (`KOTADB_UPKEEP_*_SECS`) take from here.
    pub const DEFAULT_TICK_SECS: u64 = 60;
    pub const DEFAULT_ROLL_UP_SECS: u64 = 3_600;
    pub const DEFAULT_RETENTION_SECS: u64 = 86_400;
}

impl Default for UpkeepSchedule {
    fn default() -> Self {
        Self {
            tick: Duration::from_secs(Self::DEFAULT_TICK_SECS),
            roll_up_every: Duration::from_secs(Self::DEFAULT_ROLL_UP_SECS),
            retention_every: Duration::from_secs(Self::DEFAULT_RETENTION_SECS),
        }
    }
}

impl ActorsConfig {
    /// The defaults the service's settings (`KOTADB_JOB_LEASE_SECS`, …) take from here, so
    /// each is stated once.
    pub const DEFAULT_MAX_CONCURRENT_JOBS: usize = 2;
    pub const DEFAULT_LEASE_SECS: u64 = 60;
    pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;
    pub const DEFAULT_BACKOFF_MS: u64 = 1_000;
}

impl Default for ActorsConfig {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_millis(500),
            max_concurrent_jobs: Self::DEFAULT_MAX_CONCURRENT_JOBS,
            job_timeout: Duration::from_secs(30 * 60),
            lease: Duration::from_secs(Self::DEFAULT_LEASE_SECS),
            max_attempts: Self::DEFAULT_MAX_ATTEMPTS,
            backoff_base: Duration::from_millis(Self::DEFAULT_BACKOFF_MS),
            backoff_cap: Duration::from_secs(10 * 60),
            retry_jitter: 0.25,
            park_after: 5,
            park_window: Duration::from_secs(10 * 60),
            idle_after: Duration::from_secs(10 * 60),
            call_timeout: Duration::from_secs(10),
            worker_id: "kotadb".to_string(),
            upkeep: UpkeepSchedule::default(),
        }
    }
}
