//! RepoActor: one per repository. Loads the saved index, runs that repository's jobs one
//! at a time (the mailbox is the order), publishes each new snapshot.

use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ractor::{Actor, ActorProcessingErr, ActorRef};

use crate::config::ActorsConfig;
use crate::policy::retry_decision;
use crate::ports::{Job, JobQueue, RepoKey, RepoWork};
use crate::shared::{Core, Published, RunningJob, SnapshotTx};

pub(crate) enum RepoMsg {
    /// Run one job to completion. Sent only by the RepoSupervisor, so at most
    /// `max_concurrent_jobs` of these exist in all RepoActor mailboxes together.
    RunJob(RunningJob),
}

pub(crate) struct RepoActor<W>(PhantomData<fn() -> W>);

impl<W> RepoActor<W> {
    pub fn new() -> Self {
        Self(PhantomData)
    }
}

/// The RepoActor's state. Every `Arc` here is shared with the supervisor's registry slot,
/// which is how the supervisor learns what a crashed actor was doing (ractor skips
/// `post_stop` after a panic, so the actor cannot report it itself).
pub(crate) struct RepoArgs<W: RepoWork> {
    pub repo: RepoKey,
    pub work: Arc<W>,
    pub core: Arc<Core>,
    pub config: Arc<ActorsConfig>,
    pub snapshot_tx: Arc<SnapshotTx<W>>,
    pub last_used: Arc<AtomicU64>,
    /// The job inside `index` right now; set before the call, cleared after settling.
    pub current_job: Arc<Mutex<Option<Job>>>,
    /// RunJob messages sent to this incarnation and not finished (idle sweep looks at it).
    pub in_flight: Arc<AtomicUsize>,
}

impl<W: RepoWork> Actor for RepoActor<W> {
    type Msg = RepoMsg;
    type State = RepoArgs<W>;
    type Arguments = RepoArgs<W>;

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        args: Self::Arguments,
    ) -> Result<Self::State, ActorProcessingErr> {
        Ok(args)
    }

    /// `load` runs here, not in `pre_start`: `pre_start` runs inside the supervisor's
    /// `spawn_linked` call, so a slow load there would hold up every other repository's
    /// spawn. Failures here are supervised (ActorFailed) and count as crashes.
    async fn post_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match state.work.load(&state.repo).await {
            Ok(snapshot) => {
                state.snapshot_tx.send_replace(Published::Ready(snapshot));
                Ok(())
            }
            Err(error) => Err(format!("loading the saved index failed: {error}").into()),
        }
    }

    async fn handle(
        &self,
        _myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        let RepoMsg::RunJob(running) = message;
        run_job(state, running).await;
        Ok(())
    }
}

/// Runs one job. A panic in `index` is not caught here: it unwinds out of `handle`,
/// ractor turns it into `ActorFailed`, and the supervisor settles `current_job`.
async fn run_job<W: RepoWork>(state: &mut RepoArgs<W>, mut running: RunningJob) {
    let _in_flight = InFlight(state.in_flight.clone());
    let job = running.job.clone();
    *state.current_job.lock().expect("current job lock") = Some(job.clone());
    running.disarm();

    let _heartbeat = AbortOnDrop(tokio::spawn(heartbeat(
        state.core.queue.clone(),
        job.id.clone(),
        state.config.lease,
    )));
    let timeout = state.config.job_timeout;
    let outcome = tokio::time::timeout(timeout, state.work.index(&state.repo, &job)).await;
    drop(_heartbeat);

    let queue = &state.core.queue;
    match outcome {
        Ok(Ok(snapshot)) => {
            // Publish before `succeed`: whoever sees the job done also sees its snapshot.
            state
                .snapshot_tx
                .send_replace(Published::Ready(Some(snapshot)));
            if let Err(error) = queue.succeed(&job.id).await {
                tracing::warn!(job_id = job.id, error, "marking a job succeeded failed");
            }
        }
        Ok(Err(error)) => {
            fail_job(
                queue.as_ref(),
                &state.config,
                &job,
                &format!("indexing failed: {error}"),
            )
            .await
        }
        Err(_) => {
            fail_job(
                queue.as_ref(),
                &state.config,
                &job,
                &format!("timed out after {timeout:?}"),
            )
            .await
        }
    }
    *state.current_job.lock().expect("current job lock") = None;
    state
        .last_used
        .store(state.core.now_millis(), Ordering::Release);
    drop(running);
}

/// Fails `job` on the queue, retried with backoff until `max_attempts`, then for good.
pub(crate) async fn fail_job(queue: &dyn JobQueue, config: &ActorsConfig, job: &Job, error: &str) {
    let decision = retry_decision(config, job.attempts);
    tracing::warn!(
        job_id = job.id,
        repository_id = job.repository_id,
        attempts = job.attempts,
        ?decision,
        error,
        "job failed"
    );
    if let Err(queue_error) = queue.fail(&job.id, error, decision.retry_after()).await {
        tracing::warn!(
            job_id = job.id,
            error = queue_error,
            "marking a job failed failed"
        );
    }
}

/// Renews the lease every `lease / 3` until aborted.
async fn heartbeat(queue: Arc<dyn JobQueue>, job_id: String, lease: Duration) {
    let period = (lease / 3).max(Duration::from_millis(1));
    loop {
        tokio::time::sleep(period).await;
        if let Err(error) = queue.heartbeat(&job_id, lease).await {
            tracing::warn!(job_id, error, "heartbeat failed");
        }
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

struct InFlight(Arc<AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}
