//! State shared between the handle and the actors, and who may write each part.
//!
//! Architecture invariant: `readers` and `parked` are written only by the RepoSupervisor;
//! `running` only by the poller (insert) and [`RunningJob`]'s drop (remove). Everybody
//! else only reads, with short critical sections and no lock held across an `.await`.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use dashmap::DashMap;
use ractor::ActorRef;
use tokio::sync::{watch, Notify};
use tokio::time::Instant;

use crate::poller::PollerMsg;
use crate::ports::{Job, JobQueue, RepoKey, RepoWork};
use crate::repo_supervisor::SupervisorMsg;

/// What a repository's watch channel carries.
///
/// `Loading` exists so that the supervisor can hand out the receiver before the actor has
/// run `load`: the slow `load` runs in the RepoActor, not in the supervisor's mailbox, so
/// loads of different repositories do not queue behind each other.
pub(crate) enum Published<S> {
    Loading,
    Ready(Option<Arc<S>>),
    LoadFailed(String),
}

impl<S> Clone for Published<S> {
    fn clone(&self) -> Self {
        match self {
            Published::Loading => Published::Loading,
            Published::Ready(snapshot) => Published::Ready(snapshot.clone()),
            Published::LoadFailed(error) => Published::LoadFailed(error.clone()),
        }
    }
}

pub(crate) type SnapshotTx<W> = watch::Sender<Published<<W as RepoWork>::Snapshot>>;
pub(crate) type SnapshotRx<W> = watch::Receiver<Published<<W as RepoWork>::Snapshot>>;

/// What the handle needs for a read without a message: the receiver and the clock to bump.
pub(crate) struct ReaderEntry<W: RepoWork> {
    pub rx: SnapshotRx<W>,
    pub last_used: Arc<AtomicU64>,
}

/// The non-generic part of the shared state.
pub(crate) struct Core {
    pub queue: Arc<dyn JobQueue>,
    /// Base of the "last used" clocks (milliseconds since `epoch`, tokio time so tests can pause).
    epoch: Instant,
    /// Jobs claimed and not yet finished, by job id.
    pub running: Mutex<HashMap<String, Job>>,
    /// Notified whenever a job leaves `running`.
    pub job_finished: Notify,
    /// Set when a `Wake` is already in the poller's mailbox (coalesces wakes).
    pub wake_pending: AtomicBool,
    /// Set once shutdown began: unstarted jobs are released, not retried.
    pub shutting_down: AtomicBool,
    pub poller: RwLock<Option<ActorRef<PollerMsg>>>,
    pub parked: Mutex<BTreeMap<RepoKey, String>>,
    pub restarts: AtomicU64,
}

impl Core {
    pub fn new(queue: Arc<dyn JobQueue>) -> Self {
        Self {
            queue,
            epoch: Instant::now(),
            running: Mutex::new(HashMap::new()),
            job_finished: Notify::new(),
            wake_pending: AtomicBool::new(false),
            shutting_down: AtomicBool::new(false),
            poller: RwLock::new(None),
            parked: Mutex::new(BTreeMap::new()),
            restarts: AtomicU64::new(0),
        }
    }

    /// Milliseconds since the epoch of this tree: the unit of every "last used" clock.
    pub fn now_millis(&self) -> u64 {
        Instant::now().duration_since(self.epoch).as_millis() as u64
    }

    /// Pokes the poller; at most one `Wake` waits in its mailbox at any time.
    pub fn wake_poller(&self) {
        if self.wake_pending.swap(true, Ordering::AcqRel) {
            return;
        }
        let poller = self.poller.read().expect("poller lock").clone();
        match poller {
            Some(poller) => {
                if poller.cast(PollerMsg::Wake).is_err() {
                    self.wake_pending.store(false, Ordering::Release);
                }
            }
            None => self.wake_pending.store(false, Ordering::Release),
        }
    }

    pub fn running_len(&self) -> usize {
        self.running.lock().expect("running lock").len()
    }

    pub fn parked_reason(&self, repo: &RepoKey) -> Option<String> {
        self.parked.lock().expect("parked lock").get(repo).cloned()
    }
}

/// Everything the handle, the supervisor and the poller share.
pub(crate) struct Shared<W: RepoWork> {
    pub core: Arc<Core>,
    pub work: Arc<W>,
    pub readers: DashMap<RepoKey, ReaderEntry<W>>,
    pub supervisor: RwLock<Option<ActorRef<SupervisorMsg<W>>>>,
}

impl<W: RepoWork> Shared<W> {
    pub fn supervisor(&self) -> Option<ActorRef<SupervisorMsg<W>>> {
        self.supervisor.read().expect("supervisor lock").clone()
    }
}

/// A claimed job on its way to, or inside, its RepoActor.
///
/// Dropping it removes the job from the running set and pokes the poller, however the
/// job ends: finished, panicked (dropped while unwinding), killed, or never delivered.
/// While it is *armed* (the RepoActor has not started the job yet) its drop also settles
/// the job on the queue, so a job lost in a dead actor's mailbox is not left `running`
/// until its lease expires. Once the RepoActor starts the job it disarms the guard and
/// the job is settled by the RepoActor, or by the supervisor if the actor crashes.
pub(crate) struct RunningJob {
    pub job: Job,
    armed: bool,
    core: Arc<Core>,
}

impl RunningJob {
    /// Registers `job` as running. Called by the poller only.
    pub fn start(core: Arc<Core>, job: Job) -> Self {
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

    /// The RepoActor took over settling this job.
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
            let queue = self.core.queue.clone();
            let job_id = self.job.id.clone();
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move {
                    if let Err(error) = queue.release(&job_id).await {
                        tracing::warn!(job_id, error, "releasing an undelivered job failed");
                    }
                });
            }
        }
        if !self.core.shutting_down.load(Ordering::Acquire) {
            self.core.wake_poller();
        }
    }
}
