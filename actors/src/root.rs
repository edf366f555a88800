//! RootSupervisor: starts the tree's children from their specs, in order, and restarts
//! any that exits with backoff.
//!
//! The backoff of a child grows with its failures inside `park_window` only
//! (`min(base·2ⁿ⁻¹, cap)`, n = failures in the window): a process that had a few failures
//! long ago restarts a failing child quickly again, instead of waiting the cap forever.

use std::marker::PhantomData;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use ractor::{Actor, ActorCell, ActorProcessingErr, ActorRef, SpawnErr, SupervisionEvent};
use tokio::time::Instant;

use crate::config::ActorsConfig;
use crate::messages::RootMsg;
use crate::policy::{backoff, CrashRecord};
use crate::poller::JobPollerActor;
use crate::ports::RepoWork;
use crate::repo_supervisor::RepoSupervisor;
use crate::scheduler::SchedulerActor;
use crate::shared::Shared;

/// Spawns one child linked to the root (the last argument) and returns its cell.
pub(crate) type SpawnChild<W> = fn(
    Arc<Shared<W>>,
    Arc<ActorsConfig>,
    ActorCell,
) -> BoxFuture<'static, Result<ActorCell, SpawnErr>>;

/// How to start one child of the root: its name (for logs) and its spawn function.
pub(crate) struct ChildSpec<W: RepoWork> {
    pub name: &'static str,
    pub spawn: SpawnChild<W>,
}

/// The root's children, in start order: the RepoSupervisor first, since the poller
/// dispatches to it; the SchedulerActor last, when the tree has an upkeep.
pub(crate) fn children<W: RepoWork>(with_upkeep: bool) -> Vec<ChildSpec<W>> {
    let mut specs = vec![
        ChildSpec {
            name: "repo_supervisor",
            spawn: |shared, config, root| {
                Box::pin(async move {
                    let (actor, _) = Actor::spawn_linked(
                        None,
                        RepoSupervisor::<W>::new(),
                        (shared, config),
                        root,
                    )
                    .await?;
                    Ok(actor.get_cell())
                })
            },
        },
        ChildSpec {
            name: "job_poller",
            spawn: |shared, config, root| {
                Box::pin(async move {
                    let (actor, _) = Actor::spawn_linked(
                        None,
                        JobPollerActor::<W>::new(),
                        (shared, config),
                        root,
                    )
                    .await?;
                    Ok(actor.get_cell())
                })
            },
        },
    ];
    if with_upkeep {
        specs.push(ChildSpec {
            name: "scheduler",
            spawn: |shared, config, root| {
                Box::pin(async move {
                    let (actor, _) = Actor::spawn_linked(
                        None,
                        SchedulerActor::<W>::new(),
                        (shared, config),
                        root,
                    )
                    .await?;
                    Ok(actor.get_cell())
                })
            },
        });
    }
    specs
}

pub(crate) struct RootSupervisor<W>(PhantomData<fn() -> W>);

impl<W> RootSupervisor<W> {
    pub fn new() -> Self {
        Self(PhantomData)
    }
}

struct Running<W: RepoWork> {
    spec: ChildSpec<W>,
    cell: Option<ActorCell>,
    failures: CrashRecord,
}

pub(crate) struct RootState<W: RepoWork> {
    shared: Arc<Shared<W>>,
    config: Arc<ActorsConfig>,
    children: Vec<Running<W>>,
}

impl<W: RepoWork> RootState<W> {
    async fn start(
        &mut self,
        myself: &ActorRef<RootMsg>,
        index: usize,
    ) -> Result<(), ActorProcessingErr> {
        let child = &mut self.children[index];
        let cell =
            (child.spec.spawn)(self.shared.clone(), self.config.clone(), myself.get_cell()).await?;
        child.cell = Some(cell);
        Ok(())
    }
}

impl<W: RepoWork> Actor for RootSupervisor<W> {
    type Msg = RootMsg;
    type State = RootState<W>;
    type Arguments = (Arc<Shared<W>>, Arc<ActorsConfig>, Vec<ChildSpec<W>>);

    async fn pre_start(
        &self,
        myself: ActorRef<Self::Msg>,
        (shared, config, specs): Self::Arguments,
    ) -> Result<Self::State, ActorProcessingErr> {
        let mut state = RootState {
            shared,
            config,
            children: specs
                .into_iter()
                .map(|spec| Running {
                    spec,
                    cell: None,
                    failures: CrashRecord::default(),
                })
                .collect(),
        };
        for index in 0..state.children.len() {
            state.start(&myself, index).await?;
        }
        Ok(state)
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        let RootMsg::Restart(index) = message;
        if state.shared.core.shutting_down.load(Ordering::Acquire) {
            return Ok(());
        }
        state.start(&myself, index).await?;
        state.shared.core.restarts.fetch_add(1, Ordering::AcqRel);
        tracing::info!(
            child = state.children[index].spec.name,
            "supervision tree child restarted"
        );
        Ok(())
    }

    /// Restart policy of the tree's top: any exit of a child outside shutdown is
    /// restarted after `min(base·2ⁿ⁻¹, cap)`, n = that child's failures in the window.
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
        let Some(index) = state
            .children
            .iter()
            .position(|c| c.cell.as_ref().map(ActorCell::get_id) == Some(id))
        else {
            return Ok(());
        };
        let child = &mut state.children[index];
        child.cell = None;
        let failures = child
            .failures
            .record(Instant::now(), state.config.park_window);
        let delay = backoff(
            state.config.backoff_base,
            state.config.backoff_cap,
            failures.saturating_sub(1),
        );
        tracing::error!(
            child = child.spec.name,
            detail,
            failures,
            ?delay,
            "supervision tree child exited; restarting"
        );
        myself.send_after(delay, move || RootMsg::Restart(index));
        Ok(())
    }
}
