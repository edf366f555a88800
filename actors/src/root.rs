//! RootSupervisor: starts the RepoSupervisor and the JobPollerActor and restarts either
//! with backoff if it fails.

use std::marker::PhantomData;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use ractor::{Actor, ActorCell, ActorProcessingErr, ActorRef, SupervisionEvent};

use crate::config::ActorsConfig;
use crate::policy::backoff;
use crate::poller::JobPollerActor;
use crate::ports::RepoWork;
use crate::repo_supervisor::RepoSupervisor;
use crate::shared::Shared;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Child {
    Repos,
    Poller,
}

pub(crate) enum RootMsg {
    Restart(Child),
}

pub(crate) struct RootSupervisor<W>(PhantomData<fn() -> W>);

impl<W> RootSupervisor<W> {
    pub fn new() -> Self {
        Self(PhantomData)
    }
}

pub(crate) struct RootState<W: RepoWork> {
    shared: Arc<Shared<W>>,
    config: Arc<ActorsConfig>,
    repos: Option<ActorCell>,
    poller: Option<ActorCell>,
    /// Failures per child so far: the exponent of its restart backoff.
    repos_failures: u32,
    poller_failures: u32,
}

impl<W: RepoWork> RootState<W> {
    async fn start(
        &mut self,
        myself: &ActorRef<RootMsg>,
        child: Child,
    ) -> Result<(), ActorProcessingErr> {
        let args = (self.shared.clone(), self.config.clone());
        match child {
            Child::Repos => {
                let (actor, _) =
                    Actor::spawn_linked(None, RepoSupervisor::<W>::new(), args, myself.get_cell())
                        .await?;
                self.repos = Some(actor.get_cell());
            }
            Child::Poller => {
                let (actor, _) =
                    Actor::spawn_linked(None, JobPollerActor::<W>::new(), args, myself.get_cell())
                        .await?;
                self.poller = Some(actor.get_cell());
            }
        }
        Ok(())
    }
}

impl<W: RepoWork> Actor for RootSupervisor<W> {
    type Msg = RootMsg;
    type State = RootState<W>;
    type Arguments = (Arc<Shared<W>>, Arc<ActorsConfig>);

    async fn pre_start(
        &self,
        myself: ActorRef<Self::Msg>,
        (shared, config): Self::Arguments,
    ) -> Result<Self::State, ActorProcessingErr> {
        let mut state = RootState {
            shared,
            config,
            repos: None,
            poller: None,
            repos_failures: 0,
            poller_failures: 0,
        };
        // The RepoSupervisor first: the poller dispatches to it.
        state.start(&myself, Child::Repos).await?;
        state.start(&myself, Child::Poller).await?;
        Ok(state)
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        let RootMsg::Restart(child) = message;
        if state.shared.core.shutting_down.load(Ordering::Acquire) {
            return Ok(());
        }
        state.start(&myself, child).await?;
        state.shared.core.restarts.fetch_add(1, Ordering::AcqRel);
        tracing::info!(?child, "supervision tree child restarted");
        Ok(())
    }

    /// Restart policy of the tree's top: any exit of a child outside shutdown is
    /// restarted after `min(base * 2^n, cap)`, n = that child's failures so far.
    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<Self::Msg>,
        event: SupervisionEvent,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        let (cell, detail) = match &event {
            SupervisionEvent::ActorFailed(cell, error) => (cell, error.to_string()),
            SupervisionEvent::ActorTerminated(cell, _, reason) => (cell, format!("{reason:?}")),
            _ => return Ok(()),
        };
        if state.shared.core.shutting_down.load(Ordering::Acquire) {
            return Ok(());
        }
        let id = cell.get_id();
        let (child, failures) = if state.repos.as_ref().map(|c| c.get_id()) == Some(id) {
            state.repos = None;
            state.repos_failures += 1;
            (Child::Repos, state.repos_failures)
        } else if state.poller.as_ref().map(|c| c.get_id()) == Some(id) {
            state.poller = None;
            state.poller_failures += 1;
            (Child::Poller, state.poller_failures)
        } else {
            return Ok(());
        };
        let delay = backoff(
            state.config.backoff_base,
            state.config.backoff_cap,
            failures - 1,
        );
        tracing::error!(
            ?child,
            detail,
            ?delay,
            "supervision tree child exited; restarting"
        );
        myself.send_after(delay, move || RootMsg::Restart(child));
        Ok(())
    }
}
