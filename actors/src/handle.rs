//! [`Actors`]: the cheap, cloneable handle the HTTP layer holds.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use ractor::rpc::CallResult;
use ractor::{Actor, ActorRef};

use crate::config::ActorsConfig;
use crate::core::Core;
use crate::error::ActorError;
use crate::messages::{PollerMsg, RootMsg, SupervisorMsg};
use crate::ports::{JobQueue, RepoKey, RepoWork, Upkeep};
use crate::published::{Published, SnapshotRx};
use crate::root::{children, RootSupervisor};
use crate::settle::Settle;
use crate::shared::Shared;

/// Handle on a running supervision tree. Clone it freely; every clone talks to the same tree.
pub struct Actors<W: RepoWork> {
    shared: Arc<Shared<W>>,
    config: Arc<ActorsConfig>,
    root: ActorRef<RootMsg>,
}

impl<W: RepoWork> Clone for Actors<W> {
    fn clone(&self) -> Self {
        Self {
            shared: self.shared.clone(),
            config: self.config.clone(),
            root: self.root.clone(),
        }
    }
}

impl<W: RepoWork> Actors<W> {
    /// Starts RootSupervisor → (RepoSupervisor, JobPollerActor). The poller claims its
    /// first jobs after `poll_interval` or at the first [`Actors::wake_poller`].
    pub async fn start(
        work: Arc<W>,
        queue: Arc<dyn JobQueue>,
        config: ActorsConfig,
    ) -> Result<Self, ActorError> {
        Self::start_with_upkeep(work, queue, None, config).await
    }

    /// [`Actors::start`], plus a SchedulerActor running `upkeep` rounds on
    /// `config.upkeep`'s schedule when one is given.
    pub async fn start_with_upkeep(
        work: Arc<W>,
        queue: Arc<dyn JobQueue>,
        upkeep: Option<Arc<dyn Upkeep>>,
        config: ActorsConfig,
    ) -> Result<Self, ActorError> {
        let config = Arc::new(config);
        let with_upkeep = upkeep.is_some();
        let shared = Arc::new(Shared {
            core: Arc::new(Core::new(Settle::new(queue, config.clone()))),
            work,
            readers: Default::default(),
            supervisor: Default::default(),
            poller: Default::default(),
            upkeep,
        });
        let (root, _join) = Actor::spawn(
            None,
            RootSupervisor::<W>::new(),
            (shared.clone(), config.clone(), children::<W>(with_upkeep)),
        )
        .await
        .map_err(|error| {
            ActorError::Unavailable(format!("starting the supervision tree failed: {error}"))
        })?;
        Ok(Self {
            shared,
            config,
            root,
        })
    }

    /// The current snapshot of `repo` (None: not indexed yet).
    ///
    /// Fast path: a concurrent-map lookup of the cached watch receiver; no message, and
    /// never waits behind a running job. Slow path (no actor yet): one call to the
    /// RepoSupervisor, which spawns the actor exactly once however many readers miss
    /// together, then waits for its first `load`, all within `call_timeout`.
    /// A parked repository that still has a snapshot keeps serving it.
    pub async fn snapshot(&self, repo: &RepoKey) -> Result<Option<Arc<W::Snapshot>>, ActorError> {
        let cached = self.shared.readers.get(repo).map(|entry| {
            entry
                .last_used
                .store(self.shared.core.now_millis(), Ordering::Release);
            entry.rx.clone()
        });
        let rx = match cached {
            Some(rx) => rx,
            None => self.reader_from_supervisor(repo).await?,
        };
        self.resolve(rx).await
    }

    async fn reader_from_supervisor(&self, repo: &RepoKey) -> Result<SnapshotRx<W>, ActorError> {
        let supervisor = self.shared.supervisor().ok_or(ActorError::Stopped)?;
        let timeout = self.config.call_timeout;
        match supervisor
            .call(
                |reply| SupervisorMsg::Reader(repo.clone(), reply),
                Some(timeout),
            )
            .await
        {
            Ok(CallResult::Success(result)) => result,
            Ok(CallResult::Timeout) => Err(ActorError::Timeout(timeout)),
            Ok(CallResult::SenderError) | Err(_) => Err(ActorError::Stopped),
        }
    }

    async fn resolve(&self, mut rx: SnapshotRx<W>) -> Result<Option<Arc<W::Snapshot>>, ActorError> {
        let published = rx.borrow().clone();
        let published = match published {
            Published::Loading => {
                let timeout = self.config.call_timeout;
                match tokio::time::timeout(
                    timeout,
                    rx.wait_for(|p| !matches!(p, Published::Loading)),
                )
                .await
                {
                    Ok(Ok(value)) => value.clone(),
                    Ok(Err(_)) => return Err(ActorError::Stopped),
                    Err(_) => return Err(ActorError::Timeout(timeout)),
                }
            }
            other => other,
        };
        match published {
            Published::Ready(snapshot) => Ok(snapshot),
            Published::LoadFailed(error) => Err(ActorError::Unavailable(error)),
            Published::Loading => unreachable!("waited until loaded"),
        }
    }

    /// Pokes the poller to claim now (call after enqueueing). Cheap; wakes coalesce.
    pub fn wake_poller(&self) {
        self.shared.core.wake_poller();
    }

    /// Parked repositories and why, for /health.
    pub fn parked(&self) -> Vec<(RepoKey, String)> {
        let parked = self.shared.core.parked.lock().expect("parked lock");
        parked
            .iter()
            .map(|(repo, reason)| (repo.clone(), reason.clone()))
            .collect()
    }

    /// Lets a parked repository run jobs again and forgets its crashes.
    pub fn unpark(&self, repo: &RepoKey) {
        if let Some(supervisor) = self.shared.supervisor() {
            let _ = supervisor.cast(SupervisorMsg::Unpark(repo.clone()));
        }
    }

    /// Actor restarts so far (RepoActor respawns after a crash, plus restarts of the
    /// RepoSupervisor, the poller or the scheduler), for /metrics.
    pub fn restarts(&self) -> u64 {
        self.shared.core.restarts.load(Ordering::Acquire)
    }

    /// Outcomes this tree wrote and how long the attempts took, for /metrics.
    pub fn job_stats(&self) -> crate::settle::JobStats {
        self.shared.core.settle.counters.snapshot()
    }

    /// Jobs claimed and not finished.
    pub fn running_jobs(&self) -> usize {
        self.shared.core.running_len()
    }

    /// The repository was deleted: stop its actor, drop its snapshot, fail its running
    /// job for good. Its queued jobs are the caller's to delete.
    pub fn evict(&self, repo: &RepoKey) {
        if let Some(supervisor) = self.shared.supervisor() {
            let _ = supervisor.cast(SupervisorMsg::Evict(repo.clone()));
        }
    }

    /// Stops claiming, waits up to `grace` for running jobs, releases those still
    /// running (back to queued, no attempt spent), then stops the tree. Returns the ids
    /// of the released jobs.
    pub async fn shutdown(self, grace: Duration) -> Vec<String> {
        let poller = self.shared.poller();
        let mut released = Vec::new();
        if let Some(poller) = poller {
            let wait = grace + self.config.call_timeout;
            if let Ok(CallResult::Success(ids)) = poller
                .call(|reply| PollerMsg::Shutdown(grace, reply), Some(wait))
                .await
            {
                released = ids;
            }
        }
        self.shared
            .core
            .shutting_down
            .store(true, Ordering::Release);
        let _ = self
            .root
            .stop_and_wait(Some("shutdown".to_string()), Some(self.config.call_timeout))
            .await;
        released
    }
}
