//! The SchedulerActor against a fake upkeep and paused time.

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use kotadb_actors::{Actors, ActorsConfig, Chores, Round, Upkeep, UpkeepSchedule};
use support::{test_config, FakeQueue, FakeWork};

/// Records every round; answers as told.
#[derive(Default)]
struct FakeUpkeep {
    rounds: Mutex<Vec<(SystemTime, Chores)>>,
    /// Rounds (by index) that fail, and those that panic.
    failing: Mutex<Vec<usize>>,
    panicking: Mutex<Vec<usize>>,
}

#[async_trait]
impl Upkeep for FakeUpkeep {
    async fn run_round(&self, now: SystemTime, chores: Chores) -> Result<Round, String> {
        let index = {
            let mut rounds = self.rounds.lock().unwrap();
            rounds.push((now, chores));
            rounds.len() - 1
        };
        if self.panicking.lock().unwrap().contains(&index) {
            panic!("round {index} panics");
        }
        if self.failing.lock().unwrap().contains(&index) {
            return Err(format!("round {index} fails"));
        }
        Ok(Round::Ran)
    }
}

fn config() -> ActorsConfig {
    ActorsConfig {
        upkeep: UpkeepSchedule {
            tick: Duration::from_secs(60),
            roll_up_every: Duration::from_secs(3600),
            retention_every: Duration::from_secs(86_400),
        },
        ..test_config()
    }
}

async fn start(upkeep: Arc<FakeUpkeep>) -> Actors<FakeWork> {
    Actors::start_with_upkeep(
        Arc::new(FakeWork::default()),
        Arc::new(FakeQueue::default()),
        Some(upkeep),
        config(),
    )
    .await
    .expect("tree starts")
}

/// Advances paused time in one-second steps, letting the actors run in between.
async fn advance(by: Duration) {
    for _ in 0..by.as_secs() {
        tokio::time::advance(Duration::from_secs(1)).await;
        tokio::task::yield_now().await;
    }
}

fn chores(upkeep: &FakeUpkeep) -> Vec<(bool, bool)> {
    upkeep
        .rounds
        .lock()
        .unwrap()
        .iter()
        .map(|(_, c)| (c.roll_up, c.retention))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn rounds_run_every_tick_and_chores_when_their_period_has_passed() {
    let upkeep = Arc::new(FakeUpkeep::default());
    let actors = start(upkeep.clone()).await;
    advance(Duration::from_secs(59)).await;
    assert!(
        upkeep.rounds.lock().unwrap().is_empty(),
        "first round after a tick"
    );
    advance(Duration::from_secs(2)).await;
    assert_eq!(
        chores(&upkeep),
        vec![(true, true)],
        "everything is due at first"
    );

    // An hour and a bit later: one round a minute, the roll-up again once.
    advance(Duration::from_secs(3600)).await;
    let seen = chores(&upkeep);
    assert_eq!(seen.len(), 61, "{seen:?}");
    assert_eq!(seen.iter().filter(|c| c.0).count(), 2);
    assert_eq!(seen.iter().filter(|c| c.1).count(), 1);
    assert!(
        seen.last().unwrap().0,
        "due exactly an hour after the first"
    );

    // The wall clock handed in moves with the (paused) tokio clock.
    let rounds = upkeep.rounds.lock().unwrap().clone();
    let span = rounds
        .last()
        .unwrap()
        .0
        .duration_since(rounds[0].0)
        .unwrap();
    assert_eq!(span.as_secs(), 3600);
    actors.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test(start_paused = true)]
async fn a_failed_round_is_tried_again_with_its_chores_and_a_panic_restarts_the_scheduler() {
    let upkeep = Arc::new(FakeUpkeep::default());
    upkeep.failing.lock().unwrap().push(0);
    upkeep.panicking.lock().unwrap().push(2);
    let actors = start(upkeep.clone()).await;
    advance(Duration::from_secs(61)).await;
    assert_eq!(chores(&upkeep), vec![(true, true)]);
    advance(Duration::from_secs(60)).await;
    assert_eq!(
        chores(&upkeep),
        vec![(true, true), (true, true)],
        "the failed round's chores are asked for again"
    );
    let restarts = actors.restarts();
    advance(Duration::from_secs(60)).await;
    assert_eq!(chores(&upkeep).len(), 3, "the third round panics");
    // Restarted after the root's backoff, with a fresh schedule: a round a tick later.
    advance(Duration::from_secs(120)).await;
    assert_eq!(actors.restarts(), restarts + 1);
    let seen = chores(&upkeep);
    assert!(seen.len() >= 4, "rounds go on after the restart: {seen:?}");
    actors.shutdown(Duration::from_secs(1)).await;
}
