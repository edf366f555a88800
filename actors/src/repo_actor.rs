//! RepoActor: one per repository. Loads the saved index, runs that repository's jobs one
//! at a time (the mailbox is the order), publishes each new snapshot.

use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ractor::{Actor, ActorProcessingErr, ActorRef};
use tracing::Instrument;

use crate::config::ActorsConfig;
use crate::core::{Core, RunningJob};
use crate::messages::RepoMsg;
use crate::ports::{Cancel, Job, JobQueue, QueueError, RepoKey, RepoWork};
use crate::published::{Published, SnapshotTx};

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

/// How long a cancelled build gets to notice and stop before the job is settled anyway.
const CANCEL_GRACE: Duration = Duration::from_secs(30);

/// Why a build stopped before it finished.
enum Stopped {
    TimedOut,
    LeaseLost,
}

/// Runs one job. A panic in `index` is not caught here: it unwinds out of `handle`,
/// ractor turns it into `ActorFailed`, and the supervisor settles `current_job`.
///
/// A timeout or a lost lease cancels the build and waits (up to [`CANCEL_GRACE`]) for it
/// to stop, so a job is never retried while its previous build still writes. A lost lease
/// settles nothing: the job belongs to another claim now.
async fn run_job<W: RepoWork>(state: &mut RepoArgs<W>, mut running: RunningJob) {
    let _in_flight = InFlight(state.in_flight.clone());
    let job = running.job.clone();
    *state.current_job.lock().expect("current job lock") = Some(job.clone());
    running.disarm();

    let cancel = Cancel::default();
    let (lost_tx, mut lost_rx) = tokio::sync::oneshot::channel::<()>();
    let _heartbeat = AbortOnDrop(tokio::spawn(heartbeat(
        state.core.settle.queue().clone(),
        job.clone(),
        state.config.lease,
        lost_tx,
    )));
    let timeout = state.config.job_timeout;
    let span = tracing::info_span!("job", job_id = %job.id, repository_id = %job.repository_id);
    let index = state
        .work
        .index(&state.repo, &job, &cancel)
        .instrument(span);
    tokio::pin!(index);
    let finished = tokio::select! {
        result = &mut index => Ok(result),
        _ = tokio::time::sleep(timeout) => Err(Stopped::TimedOut),
        Ok(()) = &mut lost_rx => Err(Stopped::LeaseLost),
    };
    let outcome = match finished {
        Ok(result) => Ok(result),
        Err(stopped) => {
            cancel.cancel();
            if tokio::time::timeout(CANCEL_GRACE, &mut index)
                .await
                .is_err()
            {
                tracing::warn!(job_id = job.id, "a cancelled build did not stop in time");
            }
            Err(stopped)
        }
    };
    drop(_heartbeat);

    let settle = &state.core.settle;
    match outcome {
        Ok(Ok(snapshot)) => {
            // Publish before settling: whoever sees the job done also sees its snapshot.
            state
                .snapshot_tx
                .send_replace(Published::Ready(Some(snapshot)));
            settle.succeeded(&job).await;
        }
        Ok(Err(error)) => {
            settle
                .attempt_failed(&job, &format!("indexing failed: {error}"))
                .await
        }
        Err(Stopped::TimedOut) => {
            settle
                .attempt_failed(&job, &format!("timed out after {timeout:?}"))
                .await
        }
        Err(Stopped::LeaseLost) => tracing::warn!(
            job_id = job.id,
            "stopped a job whose lease was lost to a newer claim"
        ),
    }
    *state.current_job.lock().expect("current job lock") = None;
    state
        .last_used
        .store(state.core.now_millis(), Ordering::Release);
    drop(running);
}

/// Renews the lease every `lease / 3` until aborted; says so on `lost` if the queue
/// answers that the claim is no longer the job's.
async fn heartbeat(
    queue: Arc<dyn JobQueue>,
    job: Job,
    lease: Duration,
    lost: tokio::sync::oneshot::Sender<()>,
) {
    let period = (lease / 3).max(Duration::from_millis(1));
    loop {
        tokio::time::sleep(period).await;
        match queue.heartbeat(&job, lease).await {
            Ok(()) => {}
            Err(QueueError::LeaseLost) => {
                let _ = lost.send(());
                return;
            }
            Err(QueueError::Other(error)) => {
                tracing::warn!(job_id = job.id, error, "heartbeat failed")
            }
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
