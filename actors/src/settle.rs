//! The one writer of job outcomes. Every way a claimed job can end — indexed, failed,
//! timed out, its actor crashed, its repository parked or deleted, never started, given
//! back at shutdown — goes through [`Settle`], which applies the retry policy and writes
//! the outcome with the job's claim token.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::config::ActorsConfig;
use crate::policy::{jitter, random_unit, retry_decision};
use crate::ports::{Job, JobQueue, Outcome, QueueError};

/// Upper bounds of the job-duration histogram, seconds.
const DURATION_BUCKETS: [f64; 10] = [
    1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0,
];
/// The outcomes counted, in the order [`JobStats`] lists them.
const OUTCOMES: [&str; 4] = ["succeeded", "retry", "failed", "released"];

fn outcome_index(outcome: &Outcome) -> usize {
    match outcome {
        Outcome::Succeeded => 0,
        Outcome::Retry { .. } => 1,
        Outcome::Failed { .. } => 2,
        Outcome::Released => 3,
    }
}

#[derive(Default)]
struct Histogram {
    buckets: [AtomicU64; DURATION_BUCKETS.len()],
    count: AtomicU64,
    sum_millis: AtomicU64,
}

/// Outcomes written, and how long each claimed attempt took (claim to outcome).
#[derive(Default)]
pub(crate) struct Counters {
    outcomes: [AtomicU64; OUTCOMES.len()],
    durations: [Histogram; OUTCOMES.len()],
    /// Claim times of jobs not yet settled (a job whose lease was lost is never settled
    /// here: entries older than a day are pruned as new claims come).
    claimed: Mutex<HashMap<String, Instant>>,
}

impl Counters {
    pub fn claimed(&self, job_id: &str) {
        let now = Instant::now();
        let mut claimed = self.claimed.lock().expect("claimed lock");
        if claimed.len() >= 4096 {
            claimed.retain(|_, at| now.duration_since(*at) < Duration::from_secs(86_400));
        }
        claimed.insert(job_id.to_string(), now);
    }

    fn settled(&self, job_id: &str, outcome: &Outcome) {
        let index = outcome_index(outcome);
        self.outcomes[index].fetch_add(1, Ordering::Relaxed);
        let started = self.claimed.lock().expect("claimed lock").remove(job_id);
        if let Some(started) = started {
            let took = started.elapsed();
            let histogram = &self.durations[index];
            for (i, bound) in DURATION_BUCKETS.iter().enumerate() {
                if took.as_secs_f64() <= *bound {
                    histogram.buckets[i].fetch_add(1, Ordering::Relaxed);
                }
            }
            histogram.count.fetch_add(1, Ordering::Relaxed);
            histogram
                .sum_millis
                .fetch_add(took.as_millis() as u64, Ordering::Relaxed);
        }
    }

    pub fn snapshot(&self) -> JobStats {
        JobStats {
            outcomes: OUTCOMES
                .iter()
                .zip(&self.outcomes)
                .map(|(name, count)| (*name, count.load(Ordering::Relaxed)))
                .collect(),
            durations: OUTCOMES
                .iter()
                .zip(&self.durations)
                .map(|(name, h)| DurationHistogram {
                    outcome: name,
                    buckets: DURATION_BUCKETS
                        .iter()
                        .zip(&h.buckets)
                        .map(|(bound, count)| (*bound, count.load(Ordering::Relaxed)))
                        .collect(),
                    count: h.count.load(Ordering::Relaxed),
                    sum_seconds: h.sum_millis.load(Ordering::Relaxed) as f64 / 1000.0,
                })
                .collect(),
        }
    }
}

/// This tree's job counters (for /metrics): outcomes written since start, and the
/// duration of settled attempts by outcome (cumulative buckets).
#[derive(Clone, Debug, PartialEq)]
pub struct JobStats {
    pub outcomes: Vec<(&'static str, u64)>,
    pub durations: Vec<DurationHistogram>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DurationHistogram {
    pub outcome: &'static str,
    /// (upper bound in seconds, attempts at most that long).
    pub buckets: Vec<(f64, u64)>,
    pub count: u64,
    pub sum_seconds: f64,
}

/// Settles jobs on the queue. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Settle {
    queue: Arc<dyn JobQueue>,
    config: Arc<ActorsConfig>,
    pub counters: Arc<Counters>,
}

impl Settle {
    pub fn new(queue: Arc<dyn JobQueue>, config: Arc<ActorsConfig>) -> Settle {
        Settle {
            queue,
            config,
            counters: Arc::default(),
        }
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
            Ok(()) => self.counters.settled(&job.id, &outcome),
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
