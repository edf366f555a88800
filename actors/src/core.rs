//! The non-generic state every actor of the tree shares, and [`RunningJob`], the guard
//! that follows a claimed job until it is settled.
//!
//! Architecture invariant: `parked` is written only by the RepoSupervisor; `running` only
//! by the poller (insert) and [`RunningJob`]'s drop (remove). Everybody else only reads,
//! with short critical sections and no lock held across an `.await`.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

use tokio::sync::Notify;
use tokio::time::Instant;

use crate::ports::{Job, Outcome, RepoKey};
use crate::settle::Settle;

pub(crate) struct Core {
    pub settle: Settle,
    /// Base of the "last used" clocks (milliseconds since `epoch`, tokio time so tests can pause).
    epoch: Instant,
    /// Jobs claimed and not yet finished, by job id.
    pub running: Mutex<HashMap<String, Job>>,
    /// Notified whenever a job leaves `running`.
    pub job_finished: Notify,
    /// Pokes the poller (which turns it into at most one pending `Wake` message).
    pub wake: Notify,
    /// Set when a `Wake` is already in the poller's mailbox (coalesces wakes).
    pub wake_pending: AtomicBool,
    /// Set once shutdown began: unstarted jobs are released, not retried.
    pub shutting_down: AtomicBool,
    pub parked: Mutex<BTreeMap<RepoKey, String>>,
    pub restarts: AtomicU64,
}

impl Core {
    pub fn new(settle: Settle) -> Self {
        Self {
            settle,
            epoch: Instant::now(),
            running: Mutex::new(HashMap::new()),
            job_finished: Notify::new(),
            wake: Notify::new(),
            wake_pending: AtomicBool::new(false),
            shutting_down: AtomicBool::new(false),
            parked: Mutex::new(BTreeMap::new()),
            restarts: AtomicU64::new(0),
        }
    }

    /// Milliseconds since the epoch of this tree: the unit of every "last used" clock.
    pub fn now_millis(&self) -> u64 {
        Instant::now().duration_since(self.epoch).as_millis() as u64
    }

    /// Pokes the poller to claim now. Cheap; pokes coalesce.
    pub fn wake_poller(&self) {
        self.wake.notify_one();
    }

    pub fn running_len(&self) -> usize {
        self.running.lock().expect("running lock").len()
    }

    pub fn parked_reason(&self, repo: &RepoKey) -> Option<String> {
        self.parked.lock().expect("parked lock").get(repo).cloned()
    }
}

/// A claimed job on its way to, or inside, its RepoActor.
///
/// Dropping it removes the job from the running set and pokes the poller, however the
/// job ends: finished, panicked (dropped while unwinding), killed, or never delivered.
/// While it is *armed* (the RepoActor has not started the job yet) its drop also releases
/// the job, so a job lost in a dead actor's mailbox is not left `running` until its lease
/// expires. Once the RepoActor starts the job it disarms the guard and the job is settled
/// by the RepoActor, or by the supervisor if the actor crashes.
pub(crate) struct RunningJob {
    pub job: Job,
    armed: bool,
    core: std::sync::Arc<Core>,
}

impl RunningJob {
    /// Registers `job` as running. Called by the poller only.
    pub fn start(core: std::sync::Arc<Core>, job: Job) -> Self {
        core.settle.counters.claimed(&job.id);
        core.running
            .lock()
            .expect("running lock")
            .insert(job.id.clone(), job.clone());
        Self {
            job,
            armed: true,
            core,
        }
    }

    /// Someone else settles this job now (the RepoActor started it, or it was failed).
    pub fn disarm(&mut self) {
        self.armed = false;
    }
}

impl Drop for RunningJob {
    fn drop(&mut self) {
        self.core
            .running
            .lock()
            .expect("running lock")
            .remove(&self.job.id);
        self.core.job_finished.notify_waiters();
        if self.armed {
            // Never ran: give it back without spending an attempt. A repository whose
            // actor cannot even start is bounded by parking (load failures count as crashes).
            self.core.settle.spawn(self.job.clone(), Outcome::Released);
        }
        if !self.core.shutting_down.load(Ordering::Acquire) {
            self.core.wake_poller();
        }
    }
}
