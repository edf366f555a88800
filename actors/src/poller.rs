//! JobPollerActor: claims jobs from the durable queue and hands each to its repository,
//! and runs the queue's rescuer (jobs whose worker died come back to the queue).
//!
//! It claims on every poll tick, when this process pokes it (`Core::wake`), and at once
//! when the queue announces work (`JobQueue::notifications`, e.g. Postgres NOTIFY); the
//! tick stays as the fallback where announcements never arrive.

use std::marker::PhantomData;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use ractor::{Actor, ActorProcessingErr, ActorRef};
use tokio::time::Instant;

use crate::config::ActorsConfig;
use crate::core::RunningJob;
use crate::messages::{PollerMsg, SupervisorMsg};
use crate::ports::RepoWork;
use crate::shared::Shared;

pub(crate) struct JobPollerActor<W>(PhantomData<fn() -> W>);

impl<W> JobPollerActor<W> {
    pub fn new() -> Self {
        Self(PhantomData)
    }
}

pub(crate) struct PollerState<W: RepoWork> {
    shared: Arc<Shared<W>>,
    config: Arc<ActorsConfig>,
    stopping: bool,
    ticker: Option<tokio::task::JoinHandle<()>>,
    /// Turns `Core::wake` pokes into at most one pending `Wake` message.
    waker: Option<tokio::task::JoinHandle<()>>,
    /// Turns the queue's announcements into `Core::wake` pokes.
    listener: Option<tokio::task::JoinHandle<()>>,
    /// When the rescuer last ran (None: not yet).
    last_rescue: Option<Instant>,
}

impl<W: RepoWork> Actor for JobPollerActor<W> {
    type Msg = PollerMsg;
    type State = PollerState<W>;
    type Arguments = (Arc<Shared<W>>, Arc<ActorsConfig>);

    async fn pre_start(
        &self,
        myself: ActorRef<Self::Msg>,
        (shared, config): Self::Arguments,
    ) -> Result<Self::State, ActorProcessingErr> {
        *shared.poller.write().expect("poller lock") = Some(myself);
        shared.core.wake_pending.store(false, Ordering::Release);
        Ok(PollerState {
            shared,
            config,
            stopping: false,
            ticker: None,
            waker: None,
            listener: None,
            last_rescue: None,
        })
    }

    async fn post_start(
        &self,
        myself: ActorRef<Self::Msg>,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        state.ticker = Some(myself.send_interval(state.config.poll_interval, || PollerMsg::Tick));
        if let Some(mut announced) = state.shared.core.settle.queue().notifications() {
            let core = state.shared.core.clone();
            state.listener = Some(tokio::spawn(async move {
                loop {
                    match announced.recv().await {
                        Ok(()) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                            core.wake_poller()
                        }
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                    }
                }
            }));
        }
        let core = state.shared.core.clone();
        state.waker = Some(tokio::spawn(async move {
            loop {
                core.wake.notified().await;
                if core.wake_pending.swap(true, Ordering::AcqRel) {
                    continue;
                }
                if myself.cast(PollerMsg::Wake).is_err() {
                    return;
                }
            }
        }));
        Ok(())
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<Self::Msg>,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        for task in [
            state.ticker.take(),
            state.waker.take(),
            state.listener.take(),
        ]
        .into_iter()
        .flatten()
        {
            task.abort();
        }
        Ok(())
    }

    async fn handle(
        &self,
        _myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            PollerMsg::Tick => {
                state.rescue_when_due().await;
                state.claim_round().await
            }
            PollerMsg::Wake => {
                state
                    .shared
                    .core
                    .wake_pending
                    .store(false, Ordering::Release);
                state.claim_round().await;
            }
            PollerMsg::Shutdown(grace, reply) => {
                let released = state.shutdown(grace).await;
                let _ = reply.send(released);
            }
        }
        Ok(())
    }
}

impl<W: RepoWork> PollerState<W> {
    /// Runs the queue's rescuer every `lease / 4` (at least every poll): a job whose
    /// worker died is back in the queue within about 1¼ leases.
    async fn rescue_when_due(&mut self) {
        let period = (self.config.lease / 4).max(self.config.poll_interval);
        if self.stopping || self.last_rescue.is_some_and(|last| last.elapsed() < period) {
            return;
        }
        self.last_rescue = Some(Instant::now());
        match self
            .shared
            .core
            .settle
            .queue()
            .rescue(self.config.max_attempts)
            .await
        {
            Ok(0) => {}
            Ok(rescued) => tracing::warn!(
                rescued,
                "jobs whose lease expired (their worker stopped) were requeued or failed"
            ),
            Err(error) => tracing::warn!(%error, "rescuing expired jobs failed"),
        }
    }

    /// Claims while fewer than `max_concurrent_jobs` run. This cap is what bounds the
    /// RepoSupervisor's and the RepoActors' mailboxes.
    async fn claim_round(&mut self) {
        let core = &self.shared.core;
        while !self.stopping && core.running_len() < self.config.max_concurrent_jobs {
            let Some(supervisor) = self.shared.supervisor() else {
                return;
            };
            match core
                .settle
                .queue()
                .claim(&self.config.worker_id, self.config.lease)
                .await
            {
                Ok(Some(job)) => {
                    tracing::debug!(
                        job_id = job.id,
                        repository_id = job.repository_id,
                        "job claimed"
                    );
                    let running = RunningJob::start(core.clone(), job);
                    // On error the message, and with it the guard, is dropped: the job is released.
                    if supervisor.cast(SupervisorMsg::Dispatch(running)).is_err() {
                        return;
                    }
                }
                Ok(None) => return,
                Err(error) => {
                    tracing::warn!(%error, "claiming a job failed");
                    return;
                }
            }
        }
    }

    async fn shutdown(&mut self, grace: Duration) -> Vec<String> {
        self.stopping = true;
        let core = self.shared.core.clone();
        core.shutting_down.store(true, Ordering::Release);
        let deadline = Instant::now() + grace;
        loop {
            let finished = core.job_finished.notified();
            tokio::pin!(finished);
            finished.as_mut().enable();
            if core.running_len() == 0 {
                return Vec::new();
            }
            if tokio::time::timeout_at(deadline, finished).await.is_err() {
                break;
            }
        }
        let Some(supervisor) = self.shared.supervisor() else {
            return Vec::new();
        };
        let still_running = match supervisor
            .call(SupervisorMsg::KillAll, Some(self.config.call_timeout))
            .await
        {
            Ok(ractor::rpc::CallResult::Success(jobs)) => jobs,
            _ => {
                tracing::warn!("repository supervisor did not stop its actors; leases will expire");
                return Vec::new();
            }
        };
        let mut released = Vec::new();
        for job in still_running {
            core.settle.released(&job).await;
            released.push(job.id);
        }
        released
    }
}
