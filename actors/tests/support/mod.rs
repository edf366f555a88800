//! In-memory fakes of the ports, shared by the supervision tests.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use kotadb_actors::{ActorsConfig, Cancel, Job, JobQueue, Outcome, QueueError, RepoKey, RepoWork};
use tokio::time::Instant;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    Queued,
    Running,
    Succeeded,
    Failed(String),
}

#[derive(Clone, Debug)]
pub struct QueuedJob {
    pub job: Job,
    pub status: Status,
    pub runnable_at: Instant,
    /// Every `fail` call: (error, retry_after).
    pub failures: Vec<(String, Option<Duration>)>,
    pub releases: u32,
    /// Running, and its lease has expired (its worker died): the rescuer's to take.
    pub expired: bool,
}

/// A job queue in memory: claim order is insertion order.
#[derive(Default)]
pub struct FakeQueue {
    jobs: Mutex<Vec<QueuedJob>>,
    pub heartbeats: AtomicUsize,
    /// Calls of `rescue`.
    pub rescues: AtomicUsize,
    /// Where `announce` tells the poller about new work (as Postgres NOTIFY does).
    announcer: std::sync::OnceLock<tokio::sync::broadcast::Sender<()>>,
}

impl FakeQueue {
    pub fn enqueue(&self, id: &str, repo: &str) {
        let job = Job {
            id: id.into(),
            repository_id: repo.into(),
            job_type: "index".into(),
            revision: None,
            attempts: 0,
            claim: String::new(),
        };
        self.jobs.lock().unwrap().push(QueuedJob {
            job,
            status: Status::Queued,
            runnable_at: Instant::now(),
            failures: vec![],
            releases: 0,
            expired: false,
        });
    }

    /// The worker running `id` died: its lease has expired.
    pub fn die(&self, id: &str) {
        let mut jobs = self.jobs.lock().unwrap();
        let queued = jobs
            .iter_mut()
            .find(|j| j.job.id == id)
            .expect("job exists");
        assert_eq!(queued.status, Status::Running);
        queued.expired = true;
    }

    /// Announces new work to whoever listens (`JobQueue::notifications`).
    pub fn announce(&self) {
        let _ = self.announcer().send(());
    }

    fn announcer(&self) -> &tokio::sync::broadcast::Sender<()> {
        self.announcer
            .get_or_init(|| tokio::sync::broadcast::channel(16).0)
    }

    pub fn get(&self, id: &str) -> QueuedJob {
        self.jobs
            .lock()
            .unwrap()
            .iter()
            .find(|j| j.job.id == id)
            .cloned()
            .expect("job exists")
    }

    pub fn status(&self, id: &str) -> Status {
        self.get(id).status
    }

    /// Applies `f` to the running job `job` claims, as the real queue fences it.
    fn with_claim<T>(
        &self,
        job: &Job,
        f: impl FnOnce(&mut QueuedJob) -> T,
    ) -> Result<T, QueueError> {
        let mut jobs = self.jobs.lock().unwrap();
        let queued = jobs
            .iter_mut()
            .find(|j| j.job.id == job.id)
            .ok_or_else(|| QueueError::Other(format!("no job {}", job.id)))?;
        if queued.status != Status::Running || queued.job.claim != job.claim {
            return Err(QueueError::LeaseLost);
        }
        Ok(f(queued))
    }

    /// Claims `id` again as another worker would after its lease expired: a new claim
    /// token, so the first worker's heartbeats and outcome are refused.
    pub fn steal(&self, id: &str) {
        let mut jobs = self.jobs.lock().unwrap();
        let queued = jobs
            .iter_mut()
            .find(|j| j.job.id == id)
            .expect("job exists");
        queued.job.attempts += 1;
        queued.job.claim = format!("stolen-{}", queued.job.attempts);
    }
}

#[async_trait]
impl JobQueue for FakeQueue {
    async fn claim(&self, _worker: &str, _lease: Duration) -> Result<Option<Job>, QueueError> {
        let now = Instant::now();
        let mut jobs = self.jobs.lock().unwrap();
        let Some(next) = jobs
            .iter_mut()
            .find(|j| j.status == Status::Queued && j.runnable_at <= now)
        else {
            return Ok(None);
        };
        next.status = Status::Running;
        next.job.attempts += 1;
        next.job.claim = format!("claim-{}", next.job.attempts);
        Ok(Some(next.job.clone()))
    }

    async fn heartbeat(&self, job: &Job, _lease: Duration) -> Result<(), QueueError> {
        self.with_claim(job, |_| ())?;
        self.heartbeats.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    async fn settle(&self, job: &Job, outcome: &Outcome) -> Result<(), QueueError> {
        self.with_claim(job, |j| match outcome {
            Outcome::Succeeded => j.status = Status::Succeeded,
            Outcome::Retry { error, after } => {
                j.failures.push((error.clone(), Some(*after)));
                j.status = Status::Queued;
                j.runnable_at = Instant::now() + *after;
            }
            Outcome::Failed { error } => {
                j.failures.push((error.clone(), None));
                j.status = Status::Failed(error.clone());
            }
            Outcome::Released => {
                j.status = Status::Queued;
                j.job.attempts -= 1;
                j.releases += 1;
            }
        })
    }

    async fn rescue(&self, max_attempts: u32) -> Result<u64, QueueError> {
        self.rescues.fetch_add(1, Ordering::SeqCst);
        let mut rescued = 0;
        for j in self.jobs.lock().unwrap().iter_mut() {
            if j.status == Status::Running && j.expired {
                j.expired = false;
                j.job.claim = format!("rescued-{}", j.job.attempts);
                j.status = if j.job.attempts >= max_attempts {
                    Status::Failed("lease expired".into())
                } else {
                    j.runnable_at = Instant::now();
                    Status::Queued
                };
                rescued += 1;
            }
        }
        Ok(rescued)
    }

    fn notifications(&self) -> Option<tokio::sync::broadcast::Receiver<()>> {
        Some(self.announcer().subscribe())
    }
}

/// What the fake indexer does for one repository.
#[derive(Clone, Copy, Debug)]
pub enum Behaviour {
    /// Takes this long, then succeeds.
    Takes(Duration),
    Panics,
    HangsForever,
    /// Works until its `Cancel` is set, then stops (a build that honours cancellation).
    RunsUntilCancelled,
}

#[derive(Debug, PartialEq, Eq)]
pub struct Snap {
    pub repo: String,
    pub job_id: String,
}

#[derive(Default)]
pub struct FakeWork {
    behaviour: Mutex<HashMap<String, Behaviour>>,
    saved: Mutex<HashMap<String, Arc<Snap>>>,
    loads: Mutex<HashMap<String, usize>>,
    /// (job id, start, end) of every finished index run.
    pub runs: Mutex<Vec<(String, Instant, Instant)>>,
    pub started: AtomicUsize,
    /// Builds that saw their `Cancel` and stopped.
    pub cancelled: AtomicUsize,
}

impl FakeWork {
    pub fn set(&self, repo: &str, behaviour: Behaviour) {
        self.behaviour
            .lock()
            .unwrap()
            .insert(repo.into(), behaviour);
    }

    pub fn save(&self, repo: &str, job_id: &str) {
        self.saved.lock().unwrap().insert(
            repo.into(),
            Arc::new(Snap {
                repo: repo.into(),
                job_id: job_id.into(),
            }),
        );
    }

    pub fn loads(&self, repo: &str) -> usize {
        self.loads.lock().unwrap().get(repo).copied().unwrap_or(0)
    }

    pub fn run_of(&self, job_id: &str) -> (Instant, Instant) {
        let runs = self.runs.lock().unwrap();
        let (_, start, end) = runs
            .iter()
            .find(|(id, _, _)| id == job_id)
            .expect("job ran");
        (*start, *end)
    }
}

#[async_trait]
impl RepoWork for FakeWork {
    type Snapshot = Snap;

    async fn load(&self, repo: &RepoKey) -> Result<Option<Arc<Snap>>, String> {
        *self
            .loads
            .lock()
            .unwrap()
            .entry(repo.0.clone())
            .or_default() += 1;
        Ok(self.saved.lock().unwrap().get(&repo.0).cloned())
    }

    async fn index(&self, repo: &RepoKey, job: &Job, cancel: &Cancel) -> Result<Arc<Snap>, String> {
        self.started.fetch_add(1, Ordering::SeqCst);
        let behaviour = self
            .behaviour
            .lock()
            .unwrap()
            .get(&repo.0)
            .copied()
            .unwrap_or(Behaviour::Takes(Duration::from_millis(10)));
        let start = Instant::now();
        match behaviour {
            Behaviour::Takes(duration) => tokio::time::sleep(duration).await,
            Behaviour::Panics => panic!("boom: grammar bug in {repo}"),
            Behaviour::HangsForever => std::future::pending::<()>().await,
            Behaviour::RunsUntilCancelled => {
                while !cancel.is_cancelled() {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                self.cancelled.fetch_add(1, Ordering::SeqCst);
                return Err("cancelled".into());
            }
        }
        self.runs
            .lock()
            .unwrap()
            .push((job.id.clone(), start, Instant::now()));
        self.save(&repo.0, &job.id);
        Ok(self.saved.lock().unwrap()[&repo.0].clone())
    }
}

/// Small durations; `park_after` and `idle_after` large unless a test is about them.
pub fn test_config() -> ActorsConfig {
    ActorsConfig {
        poll_interval: Duration::from_millis(50),
        max_concurrent_jobs: 2,
        job_timeout: Duration::from_secs(5),
        lease: Duration::from_secs(3),
        max_attempts: 3,
        backoff_base: Duration::from_millis(100),
        backoff_cap: Duration::from_secs(1),
        retry_jitter: 0.0,
        park_after: 100,
        park_window: Duration::from_secs(60),
        idle_after: Duration::from_secs(3600),
        call_timeout: Duration::from_secs(5),
        worker_id: "test".into(),
        upkeep: Default::default(),
    }
}

/// Polls `condition` every 10 ms of (paused) time until it holds; panics after `limit`.
pub async fn eventually(limit: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

pub fn repo(name: &str) -> RepoKey {
    RepoKey(name.into())
}
