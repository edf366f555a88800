//! SchedulerActor: runs upkeep rounds over the [`Upkeep`] port, one at a time, every
//! `upkeep.tick`; asks for a roll-up or a retention pass when its period has passed.
//!
//! The wall clock it passes to [`Upkeep::run_round`] is the start's wall time plus the
//! tokio time elapsed since, so paused-time tests drive it. A round that fails is tried
//! again at the next tick with the same chores; a round skipped because another
//! instance holds the upkeep lock counts as done (that instance is doing it). A panic in
//! a round fails the actor, and the RootSupervisor restarts it with backoff.

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::SystemTime;

use ractor::{Actor, ActorProcessingErr, ActorRef};
use tokio::time::Instant;

use crate::config::{ActorsConfig, UpkeepSchedule};
use crate::messages::SchedulerMsg;
use crate::ports::{Chores, RepoWork, Round, Upkeep};
use crate::shared::Shared;

pub(crate) struct SchedulerActor<W>(PhantomData<fn() -> W>);

impl<W> SchedulerActor<W> {
    pub fn new() -> Self {
        Self(PhantomData)
    }
}

pub(crate) struct SchedulerState {
    upkeep: Arc<dyn Upkeep>,
    schedule: UpkeepSchedule,
    wall_origin: SystemTime,
    origin: Instant,
    /// When each chore is next due (None: at the next round).
    next_roll_up: Option<Instant>,
    next_retention: Option<Instant>,
}

impl SchedulerState {
    fn due(at: Option<Instant>, now: Instant) -> bool {
        at.is_none_or(|at| now >= at)
    }

    async fn round(&mut self) {
        let now = Instant::now();
        let chores = Chores {
            roll_up: Self::due(self.next_roll_up, now),
            retention: Self::due(self.next_retention, now),
        };
        let wall = self.wall_origin + (now - self.origin);
        match self.upkeep.run_round(wall, chores).await {
            Ok(round) => {
                if chores.roll_up {
                    self.next_roll_up = Some(now + self.schedule.roll_up_every);
                }
                if chores.retention {
                    self.next_retention = Some(now + self.schedule.retention_every);
                }
                if round == Round::Skipped {
                    tracing::debug!("upkeep round skipped: another instance runs it");
                }
            }
            Err(error) => {
                tracing::warn!(error, "upkeep round failed; trying again at the next tick");
            }
        }
    }
}

impl<W: RepoWork> Actor for SchedulerActor<W> {
    type Msg = SchedulerMsg;
    type State = SchedulerState;
    type Arguments = (Arc<Shared<W>>, Arc<ActorsConfig>);

    async fn pre_start(
        &self,
        myself: ActorRef<Self::Msg>,
        (shared, config): Self::Arguments,
    ) -> Result<Self::State, ActorProcessingErr> {
        let upkeep = shared
            .upkeep
            .clone()
            .ok_or("the scheduler was started without an upkeep")?;
        myself.send_after(config.upkeep.tick, || SchedulerMsg::Tick);
        Ok(SchedulerState {
            upkeep,
            schedule: config.upkeep.clone(),
            wall_origin: SystemTime::now(),
            origin: Instant::now(),
            next_roll_up: None,
            next_retention: None,
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        let SchedulerMsg::Tick = message;
        state.round().await;
        myself.send_after(state.schedule.tick, || SchedulerMsg::Tick);
        Ok(())
    }
}
