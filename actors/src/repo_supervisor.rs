//! RepoSupervisor: the registry of RepoActors and the restart policy for them.
//!
//! Architecture invariant: only this actor spawns, stops or forgets a RepoActor, and
//! only it writes `Shared::readers` and `Core::parked`. Spawning is serialised by its
//! mailbox because ractor has no get-or-spawn.

use std::collections::{HashMap, HashSet};
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ractor::{Actor, ActorId, ActorProcessingErr, ActorRef, SupervisionEvent};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::config::ActorsConfig;
use crate::core::RunningJob;
use crate::error::ActorError;
use crate::messages::{RepoMsg, SupervisorMsg};
use crate::policy::{parked_reason, CrashRecord};
use crate::ports::{Job, Outcome, RepoKey, RepoWork};
use crate::published::{Published, ReaderEntry, SnapshotRx, SnapshotTx};
use crate::repo_actor::{RepoActor, RepoArgs};
use crate::shared::Shared;

pub(crate) struct RepoSupervisor<W>(PhantomData<fn() -> W>);

impl<W> RepoSupervisor<W> {
    pub fn new() -> Self {
        Self(PhantomData)
    }
}

/// One repository in the registry. It outlives crashes of its actor: the snapshot channel
/// survives, so readers keep the last good snapshot while the actor is down or parked,
/// and the actor is respawned lazily by the next job (whose retry delay is the backoff).
struct Slot<W: RepoWork> {
    actor: Option<ActorRef<RepoMsg>>,
    snapshot_tx: Arc<SnapshotTx<W>>,
    last_used: Arc<AtomicU64>,
    current_job: Arc<Mutex<Option<Job>>>,
    in_flight: Arc<AtomicUsize>,
}

pub(crate) struct SupervisorState<W: RepoWork> {
    shared: Arc<Shared<W>>,
    config: Arc<ActorsConfig>,
    slots: HashMap<RepoKey, Slot<W>>,
    by_actor: HashMap<ActorId, RepoKey>,
    crashes: HashMap<RepoKey, CrashRecord>,
    /// Repositories whose last actor crashed: their next spawn counts as a restart.
    crashed_last: HashSet<RepoKey>,
    sweeper: Option<tokio::task::JoinHandle<()>>,
}

impl<W: RepoWork> Actor for RepoSupervisor<W> {
    type Msg = SupervisorMsg<W>;
    type State = SupervisorState<W>;
    type Arguments = (Arc<Shared<W>>, Arc<ActorsConfig>);

    async fn pre_start(
        &self,
        myself: ActorRef<Self::Msg>,
        (shared, config): Self::Arguments,
    ) -> Result<Self::State, ActorProcessingErr> {
        // A previous incarnation's RepoActors died with it (ractor kills children).
        shared.readers.clear();
        *shared.supervisor.write().expect("supervisor lock") = Some(myself);
        Ok(SupervisorState {
            shared,
            config,
            slots: HashMap::new(),
            by_actor: HashMap::new(),
            crashes: HashMap::new(),
            crashed_last: HashSet::new(),
            sweeper: None,
        })
    }

    async fn post_start(
        &self,
        myself: ActorRef<Self::Msg>,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        let period = (state.config.idle_after / 4).max(Duration::from_millis(10));
        state.sweeper = Some(myself.send_interval(period, || SupervisorMsg::Sweep));
        Ok(())
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<Self::Msg>,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        if let Some(sweeper) = state.sweeper.take() {
            sweeper.abort();
        }
        Ok(())
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            SupervisorMsg::Reader(repo, reply) => {
                let result = state.reader(&myself, &repo).await;
                let _ = reply.send(result);
            }
            SupervisorMsg::Dispatch(running) => state.dispatch(&myself, running).await,
            SupervisorMsg::Evict(repo) => state.evict(&repo),
            SupervisorMsg::Unpark(repo) => {
                state.crashes.remove(&repo);
                state
                    .shared
                    .core
                    .parked
                    .lock()
                    .expect("parked lock")
                    .remove(&repo);
                tracing::info!(repository_id = %repo, "repository unparked");
            }
            SupervisorMsg::KillAll(reply) => {
                let jobs = state.kill_all().await;
                let _ = reply.send(jobs);
            }
            SupervisorMsg::Sweep => state.sweep(),
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        _myself: ActorRef<Self::Msg>,
        event: SupervisionEvent,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match event {
            SupervisionEvent::ActorFailed(cell, error) => {
                state.on_crash(cell.get_id(), &error.to_string())
            }
            SupervisionEvent::ActorTerminated(cell, _, reason) => {
                // Stops we asked for were already forgotten; anything else is unexpected.
                if let Some(repo) = state.by_actor.remove(&cell.get_id()) {
                    tracing::warn!(repository_id = %repo, ?reason, "repository actor stopped unexpectedly");
                    if let Some(slot) = state.slots.get_mut(&repo) {
                        slot.actor = None;
                        slot.in_flight = Arc::new(AtomicUsize::new(0));
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }
}

impl<W: RepoWork> SupervisorState<W> {
    async fn reader(
        &mut self,
        myself: &ActorRef<SupervisorMsg<W>>,
        repo: &RepoKey,
    ) -> Result<SnapshotRx<W>, ActorError> {
        if let Some(slot) = self.slots.get(repo) {
            return Ok(slot.snapshot_tx.subscribe());
        }
        if let Some(reason) = self.shared.core.parked_reason(repo) {
            return Err(ActorError::Parked(reason));
        }
        self.ensure_actor(myself, repo)
            .await
            .map_err(ActorError::Unavailable)?;
        Ok(self.slots[repo].snapshot_tx.subscribe())
    }

    async fn dispatch(&mut self, myself: &ActorRef<SupervisorMsg<W>>, mut running: RunningJob) {
        let repo = running.job.repo();
        if let Some(reason) = self.shared.core.parked_reason(&repo) {
            running.disarm();
            self.shared
                .core
                .settle
                .spawn(running.job.clone(), Outcome::Failed { error: reason });
            return;
        }
        if let Err(error) = self.ensure_actor(myself, &repo).await {
            tracing::warn!(repository_id = %repo, error, "cannot start repository actor; releasing job");
            return; // dropping `running` releases the job
        }
        let slot = self.slots.get(&repo).expect("ensure_actor made the slot");
        slot.last_used
            .store(self.shared.core.now_millis(), Ordering::Release);
        slot.in_flight.fetch_add(1, Ordering::AcqRel);
        let actor = slot.actor.as_ref().expect("ensure_actor spawned the actor");
        if actor.send_message(RepoMsg::RunJob(running)).is_err() {
            // The message (and its guard, which releases the job) was dropped.
            slot.in_flight.fetch_sub(1, Ordering::AcqRel);
        }
    }

    /// Makes sure `repo` has a slot and a live actor. A respawn after a crash counts as a restart.
    async fn ensure_actor(
        &mut self,
        myself: &ActorRef<SupervisorMsg<W>>,
        repo: &RepoKey,
    ) -> Result<(), String> {
        if !self.slots.contains_key(repo) {
            let (snapshot_tx, rx) = watch::channel(Published::Loading);
            let last_used = Arc::new(AtomicU64::new(self.shared.core.now_millis()));
            self.shared.readers.insert(
                repo.clone(),
                ReaderEntry {
                    rx,
                    last_used: last_used.clone(),
                },
            );
            self.slots.insert(
                repo.clone(),
                Slot {
                    actor: None,
                    snapshot_tx: Arc::new(snapshot_tx),
                    last_used,
                    current_job: Arc::new(Mutex::new(None)),
                    in_flight: Arc::new(AtomicUsize::new(0)),
                },
            );
        }
        let slot = self.slots.get_mut(repo).expect("slot inserted above");
        if slot.actor.is_some() {
            return Ok(());
        }
        let args = RepoArgs {
            repo: repo.clone(),
            work: self.shared.work.clone(),
            core: self.shared.core.clone(),
            config: self.config.clone(),
            snapshot_tx: slot.snapshot_tx.clone(),
            last_used: slot.last_used.clone(),
            current_job: slot.current_job.clone(),
            in_flight: slot.in_flight.clone(),
        };
        let (actor, _join) =
            Actor::spawn_linked(None, RepoActor::<W>::new(), args, myself.get_cell())
                .await
                .map_err(|error| format!("spawning repository actor failed: {error}"))?;
        if self.crashed_last.remove(repo) {
            self.shared.core.restarts.fetch_add(1, Ordering::AcqRel);
            tracing::info!(repository_id = %repo, "repository actor restarted");
        }
        self.by_actor.insert(actor.get_id(), repo.clone());
        slot.actor = Some(actor);
        Ok(())
    }

    /// The restart policy for RepoActors: settle the job the actor died in (retry with
    /// backoff or give up), count the crash, park the repository after `park_after`
    /// crashes inside `park_window`. No eager respawn: the next job or read does it.
    fn on_crash(&mut self, actor_id: ActorId, error: &str) {
        let Some(repo) = self.by_actor.remove(&actor_id) else {
            return;
        };
        let reason = format!("repository actor crashed: {error}");
        tracing::error!(repository_id = %repo, error, "repository actor crashed");
        let mut crashed_job = None;
        if let Some(slot) = self.slots.get_mut(&repo) {
            slot.actor = None;
            slot.in_flight = Arc::new(AtomicUsize::new(0));
            crashed_job = slot.current_job.lock().expect("current job lock").take();
            if matches!(*slot.snapshot_tx.borrow(), Published::Loading) {
                // Never loaded: waiting readers get the error, the next read tries again.
                slot.snapshot_tx
                    .send_replace(Published::LoadFailed(reason.clone()));
                self.slots.remove(&repo);
                self.shared.readers.remove(&repo);
            }
        }
        self.crashed_last.insert(repo.clone());
        let crashes = self
            .crashes
            .entry(repo.clone())
            .or_default()
            .record(Instant::now(), self.config.park_window);
        if crashes >= self.config.park_after {
            let parked = parked_reason(crashes);
            tracing::error!(repository_id = %repo, crashes, "repository parked");
            self.shared
                .core
                .parked
                .lock()
                .expect("parked lock")
                .insert(repo.clone(), parked);
        }
        if let Some(job) = crashed_job {
            let settle = &self.shared.core.settle;
            settle.spawn(job.clone(), settle.after_failed_attempt(&job, &reason));
        }
    }

    fn evict(&mut self, repo: &RepoKey) {
        self.shared.readers.remove(repo);
        self.crashes.remove(repo);
        self.crashed_last.remove(repo);
        self.shared
            .core
            .parked
            .lock()
            .expect("parked lock")
            .remove(repo);
        let Some(slot) = self.slots.remove(repo) else {
            return;
        };
        if let Some(actor) = slot.actor {
            self.by_actor.remove(&actor.get_id());
            actor.kill();
        }
        let deleted_job = slot.current_job.lock().expect("current job lock").take();
        if let Some(job) = deleted_job {
            self.shared.core.settle.spawn(
                job,
                Outcome::Failed {
                    error: "repository deleted".to_string(),
                },
            );
        }
    }

    async fn kill_all(&mut self) -> Vec<Job> {
        self.by_actor.clear();
        for slot in self.slots.values_mut() {
            if let Some(actor) = slot.actor.take() {
                actor.kill_and_wait(Some(Duration::from_secs(5))).await.ok();
            }
        }
        self.slots
            .values()
            .filter_map(|slot| slot.current_job.lock().expect("current job lock").take())
            .collect()
    }

    /// Stops the actors of repositories with no job and no read for `idle_after` and
    /// drops their snapshots. Dispatch passes through this mailbox too, so a job can
    /// never be sent to an actor this sweep is stopping.
    fn sweep(&mut self) {
        let now = self.shared.core.now_millis();
        let idle_after = self.config.idle_after.as_millis() as u64;
        let idle: Vec<RepoKey> = self
            .slots
            .iter()
            .filter(|(_, slot)| {
                slot.in_flight.load(Ordering::Acquire) == 0
                    && slot.current_job.lock().expect("current job lock").is_none()
                    && !matches!(*slot.snapshot_tx.borrow(), Published::Loading)
                    && now.saturating_sub(slot.last_used.load(Ordering::Acquire)) >= idle_after
            })
            .map(|(repo, _)| repo.clone())
            .collect();
        for repo in idle {
            let slot = self.slots.remove(&repo).expect("listed above");
            self.shared.readers.remove(&repo);
            self.crashed_last.remove(&repo);
            if let Some(actor) = slot.actor {
                self.by_actor.remove(&actor.get_id());
                actor.stop(Some("idle".to_string()));
            }
            tracing::debug!(repository_id = %repo, "idle repository actor stopped");
        }
    }
}
