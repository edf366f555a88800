//! The supervision tree's behaviour, against in-memory fakes and paused time.

mod support;

use std::sync::Arc;
use std::time::Duration;

use kotadb_actors::{ActorError, Actors, ActorsConfig};
use support::{eventually, repo, test_config, Behaviour, FakeQueue, FakeWork, Status};
use tokio::time::Instant;

const LIMIT: Duration = Duration::from_secs(60);

async fn start(config: ActorsConfig) -> (Actors<FakeWork>, Arc<FakeWork>, Arc<FakeQueue>) {
    let work = Arc::new(FakeWork::default());
    let queue = Arc::new(FakeQueue::default());
    let actors = Actors::start(work.clone(), queue.clone(), config)
        .await
        .expect("tree starts");
    (actors, work, queue)
}

#[tokio::test(start_paused = true)]
async fn a_claimed_job_is_indexed_by_its_repository_actor_and_its_snapshot_is_served() {
    let (actors, _work, queue) = start(test_config()).await;
    assert_eq!(
        actors.snapshot(&repo("a")).await.unwrap(),
        None,
        "not indexed yet"
    );

    queue.enqueue("a1", "a");
    actors.wake_poller();
    eventually(LIMIT, "a1 succeeded", || {
        queue.status("a1") == Status::Succeeded
    })
    .await;

    let snapshot = actors.snapshot(&repo("a")).await.unwrap().expect("indexed");
    assert_eq!(snapshot.job_id, "a1");
    assert!(
        queue.heartbeats.load(std::sync::atomic::Ordering::SeqCst) == 0,
        "a 10 ms job needs no heartbeat"
    );
    assert_eq!(actors.running_jobs(), 0);
}

#[tokio::test(start_paused = true)]
async fn jobs_of_one_repository_run_one_after_another_and_repositories_in_parallel() {
    let (actors, work, queue) = start(ActorsConfig {
        max_concurrent_jobs: 3,
        ..test_config()
    })
    .await;
    work.set("a", Behaviour::Takes(Duration::from_secs(2)));
    work.set("b", Behaviour::Takes(Duration::from_secs(2)));
    queue.enqueue("a1", "a");
    queue.enqueue("a2", "a");
    queue.enqueue("b1", "b");
    actors.wake_poller();
    eventually(LIMIT, "all three succeeded", || {
        ["a1", "a2", "b1"]
            .iter()
            .all(|id| queue.status(id) == Status::Succeeded)
    })
    .await;

    let (a1_start, a1_end) = work.run_of("a1");
    let (a2_start, _) = work.run_of("a2");
    let (b1_start, b1_end) = work.run_of("b1");
    assert!(a2_start >= a1_end, "a2 started before a1 finished");
    assert!(
        b1_start < a1_end && a1_start < b1_end,
        "a1 and b1 did not overlap"
    );
    // Lease 3 s, heartbeats every second: each 2 s job sent some.
    assert!(queue.heartbeats.load(std::sync::atomic::Ordering::SeqCst) >= 3);
}

#[tokio::test(start_paused = true)]
async fn a_panicking_indexer_is_retried_with_backoff_then_failed_while_other_repositories_serve() {
    let (actors, work, queue) = start(test_config()).await;
    work.set("a", Behaviour::Panics);
    work.save("b", "b0");
    queue.enqueue("a1", "a");
    queue.enqueue("b1", "b");
    actors.wake_poller();

    let deadline = Instant::now() + LIMIT;
    while !matches!(queue.status("a1"), Status::Failed(_)) {
        assert!(Instant::now() < deadline, "a1 never failed for good");
        let b = actors
            .snapshot(&repo("b"))
            .await
            .expect("b is served throughout");
        assert!(b.is_some(), "b's snapshot is served throughout");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let failures = queue.get("a1").failures;
    let delays: Vec<_> = failures.iter().map(|(_, retry)| *retry).collect();
    assert_eq!(
        delays,
        vec![
            Some(Duration::from_millis(100)),
            Some(Duration::from_millis(200)),
            None
        ]
    );
    assert!(
        failures
            .iter()
            .all(|(error, _)| error.contains("boom: grammar bug in a")),
        "{failures:?}"
    );
    assert_eq!(queue.get("a1").job.attempts, 3);

    assert_eq!(queue.status("b1"), Status::Succeeded);
    queue.enqueue("b2", "b");
    actors.wake_poller();
    eventually(LIMIT, "b2 succeeded", || {
        queue.status("b2") == Status::Succeeded
    })
    .await;
    assert_eq!(
        actors.snapshot(&repo("b")).await.unwrap().unwrap().job_id,
        "b2"
    );
    assert_eq!(
        actors.restarts(),
        2,
        "a's actor was respawned for attempts 2 and 3"
    );
    assert!(actors.parked().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_repository_that_keeps_crashing_is_parked_and_its_restarts_are_bounded() {
    let config = ActorsConfig {
        park_after: 3,
        max_attempts: 10,
        backoff_base: Duration::from_millis(10),
        ..test_config()
    };
    let (actors, work, queue) = start(config).await;
    work.set("a", Behaviour::Panics);
    queue.enqueue("a1", "a");
    actors.wake_poller();

    eventually(LIMIT, "a is parked", || !actors.parked().is_empty()).await;
    assert_eq!(
        actors.parked(),
        vec![(repo("a"), "repository parked after 3 crashes".to_string())]
    );
    eventually(LIMIT, "a1 failed for good", || {
        matches!(queue.status("a1"), Status::Failed(_))
    })
    .await;
    assert_eq!(
        queue.status("a1"),
        Status::Failed("repository parked after 3 crashes".into())
    );

    queue.enqueue("a2", "a");
    queue.enqueue("b1", "b");
    actors.wake_poller();
    eventually(LIMIT, "a2 failed and b1 succeeded", || {
        matches!(queue.status("a2"), Status::Failed(_)) && queue.status("b1") == Status::Succeeded
    })
    .await;
    assert_eq!(
        queue.get("a2").failures,
        vec![("repository parked after 3 crashes".to_string(), None)]
    );
    assert_eq!(
        work.started.load(std::sync::atomic::Ordering::SeqCst),
        4,
        "3 crashes of a + b1; a2 never ran"
    );

    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        actors.restarts(),
        2,
        "respawned after crashes 1 and 2, never after parking"
    );
    assert!(
        matches!(actors.snapshot(&repo("c")).await, Ok(None)),
        "other repositories still spawn"
    );

    actors.unpark(&repo("a"));
    eventually(LIMIT, "a unparked", || actors.parked().is_empty()).await;
}

#[tokio::test(start_paused = true)]
async fn a_hanging_indexer_times_out_and_reads_during_the_hang_return_the_previous_snapshot() {
    let (actors, work, queue) = start(test_config()).await;
    work.save("a", "a0");
    work.set("a", Behaviour::HangsForever);
    queue.enqueue("a1", "a");
    actors.wake_poller();
    eventually(LIMIT, "a1 is indexing", || {
        work.started.load(std::sync::atomic::Ordering::SeqCst) == 1
    })
    .await;

    let read = tokio::time::timeout(Duration::from_millis(1), actors.snapshot(&repo("a"))).await;
    let snapshot = read
        .expect("the read does not wait behind the hanging job")
        .unwrap()
        .unwrap();
    assert_eq!(snapshot.job_id, "a0");
    assert_eq!(queue.status("a1"), Status::Running);

    eventually(LIMIT, "a1 timed out", || {
        !queue.get("a1").failures.is_empty()
    })
    .await;
    assert_eq!(
        queue.get("a1").failures[0],
        (
            "timed out after 5s".to_string(),
            Some(Duration::from_millis(100))
        )
    );
    assert!(
        queue.heartbeats.load(std::sync::atomic::Ordering::SeqCst) >= 4,
        "heartbeats every lease/3 during the hang"
    );
}

#[tokio::test(start_paused = true)]
async fn concurrent_snapshot_misses_for_one_repository_spawn_exactly_one_actor() {
    let (actors, work, _queue) = start(test_config()).await;
    work.save("a", "a0");
    let mut readers = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let actors = actors.clone();
        readers.spawn(async move { actors.snapshot(&repo("a")).await });
    }
    while let Some(read) = readers.join_next().await {
        assert_eq!(read.unwrap().unwrap().unwrap().job_id, "a0");
    }
    assert_eq!(work.loads("a"), 1, "one actor, one load");
}

#[tokio::test(start_paused = true)]
async fn idle_actors_stop_and_a_later_read_respawns_them_from_the_saved_snapshot() {
    let (actors, work, _queue) = start(ActorsConfig {
        idle_after: Duration::from_secs(2),
        ..test_config()
    })
    .await;
    work.save("a", "a0");
    assert_eq!(
        actors.snapshot(&repo("a")).await.unwrap().unwrap().job_id,
        "a0"
    );

    // Reads keep it alive.
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        actors.snapshot(&repo("a")).await.unwrap();
    }
    assert_eq!(work.loads("a"), 1);

    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        actors.snapshot(&repo("a")).await.unwrap().unwrap().job_id,
        "a0"
    );
    assert_eq!(
        work.loads("a"),
        2,
        "respawned and loaded again after going idle"
    );
}

#[tokio::test(start_paused = true)]
async fn shutdown_releases_running_jobs() {
    let (actors, work, queue) = start(ActorsConfig {
        job_timeout: Duration::from_secs(3600),
        ..test_config()
    })
    .await;
    work.set("a", Behaviour::HangsForever);
    queue.enqueue("a1", "a");
    queue.enqueue("b1", "b");
    actors.wake_poller();
    eventually(LIMIT, "a1 running, b1 done", || {
        work.started.load(std::sync::atomic::Ordering::SeqCst) == 2
            && queue.status("b1") == Status::Succeeded
    })
    .await;
    assert_eq!(actors.running_jobs(), 1);

    let released = actors.clone().shutdown(Duration::from_secs(1)).await;
    assert_eq!(released, vec!["a1".to_string()]);
    let a1 = queue.get("a1");
    assert_eq!(
        (a1.status, a1.job.attempts, a1.releases),
        (Status::Queued, 0, 1)
    );
    assert_eq!(queue.status("b1"), Status::Succeeded);
    assert!(matches!(
        actors.snapshot(&repo("z")).await,
        Err(ActorError::Stopped | ActorError::Timeout(_))
    ));
}

#[tokio::test(start_paused = true)]
async fn evicting_a_repository_drops_its_snapshot_and_fails_its_running_job() {
    let (actors, work, queue) = start(test_config()).await;
    work.save("a", "a0");
    work.set("a", Behaviour::HangsForever);
    queue.enqueue("a1", "a");
    actors.wake_poller();
    eventually(LIMIT, "a1 is indexing", || {
        work.started.load(std::sync::atomic::Ordering::SeqCst) == 1
    })
    .await;

    actors.evict(&repo("a"));
    eventually(LIMIT, "a1 failed", || {
        matches!(queue.status("a1"), Status::Failed(_))
    })
    .await;
    assert_eq!(
        queue.status("a1"),
        Status::Failed("repository deleted".into())
    );
    eventually(LIMIT, "no job running", || actors.running_jobs() == 0).await;
    actors.snapshot(&repo("a")).await.unwrap();
    assert_eq!(
        work.loads("a"),
        2,
        "the next read starts from the saved index again"
    );
}

/// The same crash isolation on the production runtime flavour, in real time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_isolation_holds_on_a_multi_threaded_runtime() {
    let config = ActorsConfig {
        backoff_base: Duration::from_millis(5),
        poll_interval: Duration::from_millis(5),
        ..test_config()
    };
    let (actors, work, queue) = start(config).await;
    work.set("a", Behaviour::Panics);
    queue.enqueue("a1", "a");
    queue.enqueue("b1", "b");
    actors.wake_poller();
    eventually(
        Duration::from_secs(10),
        "a1 failed and b1 succeeded",
        || {
            matches!(queue.status("a1"), Status::Failed(_))
                && queue.status("b1") == Status::Succeeded
        },
    )
    .await;
    assert_eq!(queue.get("a1").failures.len(), 3);
    assert_eq!(
        actors.snapshot(&repo("b")).await.unwrap().unwrap().job_id,
        "b1"
    );
}

#[tokio::test(start_paused = true)]
async fn a_timed_out_job_stops_its_build_before_it_is_retried() {
    let (actors, work, queue) = start(test_config()).await;
    work.set("a", Behaviour::RunsUntilCancelled);
    queue.enqueue("a1", "a");
    actors.wake_poller();
    eventually(LIMIT, "a1 timed out", || {
        !queue.get("a1").failures.is_empty()
    })
    .await;
    assert_eq!(
        work.cancelled.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "the build saw its cancel before the job was settled"
    );
    assert_eq!(queue.get("a1").failures[0].0, "timed out after 5s");
}

#[tokio::test(start_paused = true)]
async fn a_worker_whose_lease_was_lost_stops_and_overwrites_nothing() {
    let (actors, work, queue) = start(test_config()).await;
    work.set("a", Behaviour::RunsUntilCancelled);
    queue.enqueue("a1", "a");
    actors.wake_poller();
    eventually(LIMIT, "a1 is indexing", || {
        work.started.load(std::sync::atomic::Ordering::SeqCst) == 1
    })
    .await;
    // Another worker claims the job (as after an expired lease).
    queue.steal("a1");
    eventually(LIMIT, "the stale build stopped", || {
        work.cancelled.load(std::sync::atomic::Ordering::SeqCst) == 1
    })
    .await;
    tokio::time::sleep(Duration::from_secs(10)).await;
    let job = queue.get("a1");
    assert_eq!(job.status, Status::Running, "still the new claim's");
    assert!(job.failures.is_empty(), "the stale worker wrote {job:?}");
    assert_eq!(actors.running_jobs(), 0);
}

/// A job whose worker died (claimed elsewhere, lease expired) comes back through the
/// poller's rescuer and runs to the end here, as its second attempt.
#[tokio::test(start_paused = true)]
async fn the_poller_rescues_a_job_whose_worker_died_and_runs_it() {
    use kotadb_actors::JobQueue;
    let work = Arc::new(FakeWork::default());
    let queue = Arc::new(FakeQueue::default());
    queue.enqueue("a1", "a");
    let claimed = queue
        .claim("dead-instance", Duration::from_secs(3))
        .await
        .unwrap()
        .expect("claimed by the instance that dies");
    queue.die("a1");
    let _actors = Actors::start(work.clone(), queue.clone(), test_config())
        .await
        .expect("tree starts");
    eventually(LIMIT, "a1 rescued and succeeded", || {
        queue.status("a1") == Status::Succeeded
    })
    .await;
    assert_eq!(queue.get("a1").job.attempts, 2);
    assert!(queue.rescues.load(std::sync::atomic::Ordering::SeqCst) >= 1);
    // The dead instance's claim is void.
    assert_eq!(
        queue
            .settle(&claimed, &kotadb_actors::Outcome::Succeeded)
            .await,
        Err(kotadb_actors::QueueError::LeaseLost)
    );
    // The rescuer runs about every lease/4, not on every 50 ms poll.
    let before = queue.rescues.load(std::sync::atomic::Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let during = queue.rescues.load(std::sync::atomic::Ordering::SeqCst) - before;
    assert!(
        (3..=5).contains(&during),
        "{during} rescues in one 3 s lease"
    );
}

/// The queue's announcement (Postgres NOTIFY) makes the poller claim at once; without
/// one, a job waits for the next poll.
#[tokio::test(start_paused = true)]
async fn an_announcement_from_the_queue_wakes_the_poller_at_once() {
    let (actors, _work, queue) = start(ActorsConfig {
        poll_interval: Duration::from_secs(3600),
        ..test_config()
    })
    .await;
    queue.enqueue("a1", "a");
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(queue.status("a1"), Status::Queued, "no poll in an hour");
    queue.announce();
    eventually(Duration::from_secs(1), "a1 ran on the announcement", || {
        queue.status("a1") == Status::Succeeded
    })
    .await;
    drop(actors);
}
