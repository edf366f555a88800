//! What the service knows about its own health, for `/health` and `/metrics`.

use super::*;
use crate::store::QueueDepth;
use serde::Serialize;
use std::time::Duration;

/// A repository that crashed too often and waits for an operator.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ParkedRepository {
    pub repository_id: String,
    pub reason: String,
}

/// One look at the service: the database answered (and how fast), the queue, the workers.
#[derive(Debug, Clone)]
pub struct HealthReport {
    pub backend: &'static str,
    /// None when the database did not answer within the probe's deadline.
    pub database_latency: Option<Duration>,
    pub queue: QueueDepth,
    pub running_jobs: usize,
    pub parked: Vec<ParkedRepository>,
    pub restarts: u64,
    pub uptime: Duration,
}

/// How long `/health` waits for the database before calling it down.
const PROBE_DEADLINE: Duration = Duration::from_secs(2);

/// How often `serve` probes the database for [`Service::database_down`].
pub const DATABASE_PROBE_EVERY: Duration = Duration::from_secs(1);

impl Service {
    /// Whether the last probe of the database failed: requests that need it are then
    /// refused at once (a JSON 503) instead of each waiting out the pool's connect
    /// timeout. Cleared by the first probe that succeeds.
    pub fn database_down(&self) -> bool {
        self.database_down
            .load(std::sync::atomic::Ordering::Acquire)
    }

    fn record_database(&self, up: bool) {
        let was_down = self
            .database_down
            .swap(!up, std::sync::atomic::Ordering::AcqRel);
        match (was_down, up) {
            (false, false) => {
                tracing::error!("the database is unreachable; refusing requests that need it")
            }
            (true, true) => tracing::info!("the database is reachable again"),
            _ => {}
        }
    }

    /// Pings the database every `every` (within the probe deadline) for as long as the
    /// service lives, keeping [`Service::database_down`] current.
    pub fn spawn_database_probe(self: &Arc<Self>, every: Duration) -> tokio::task::JoinHandle<()> {
        let service = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                let Some(service) = service.upgrade() else {
                    return;
                };
                let ping = tokio::time::timeout(PROBE_DEADLINE, service.store.ping()).await;
                service.record_database(matches!(ping, Ok(Ok(()))));
                drop(service);
                tokio::time::sleep(every).await;
            }
        })
    }

    pub async fn health(&self) -> HealthReport {
        let started = Instant::now();
        let ping = tokio::time::timeout(PROBE_DEADLINE, self.store.ping()).await;
        let database_latency = matches!(ping, Ok(Ok(()))).then(|| started.elapsed());
        self.record_database(database_latency.is_some());
        let queue = match database_latency {
            Some(_) => self.store.queue_depth().await.unwrap_or_default(),
            None => QueueDepth::default(),
        };
        let actors = self.actors();
        HealthReport {
            backend: self.store.backend(),
            database_latency,
            queue,
            running_jobs: actors.map_or(0, |a| a.running_jobs()),
            parked: actors
                .map(|a| a.parked())
                .unwrap_or_default()
                .into_iter()
                .map(|(repo, reason)| ParkedRepository {
                    repository_id: repo.0,
                    reason,
                })
                .collect(),
            restarts: actors.map_or(0, |a| a.restarts()),
            uptime: self.started.elapsed(),
        }
    }
}
