//! `/health` and `/metrics`: no key needed, cheap, and honest about the database.

use super::AppState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde::Serialize;
use std::time::{Duration, Instant};

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct DatabaseHealth {
    pub backend: &'static str,
    pub status: &'static str,
    pub latency_ms: f64,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ParkedRepository {
    pub repository_id: String,
    pub reason: String,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Health {
    /// ok | degraded (repositories parked or jobs failing) | unhealthy (database down)
    pub status: &'static str,
    pub version: &'static str,
    pub timestamp: String,
    pub uptime_seconds: u64,
    pub database: DatabaseHealth,
    pub queue: crate::store::QueueDepth,
    pub running_jobs: usize,
    pub parked_repositories: Vec<ParkedRepository>,
}

pub async fn health(State(state): State<AppState>) -> impl IntoResponse {
    let service = &state.service;
    let started = Instant::now();
    let ping = tokio::time::timeout(Duration::from_secs(2), service.store.ping()).await;
    let latency_ms = (started.elapsed().as_secs_f64() * 1e6).round() / 1e3;
    let database_ok = matches!(ping, Ok(Ok(())));
    let queue = if database_ok {
        service.store.queue_depth().await.unwrap_or_default()
    } else {
        Default::default()
    };
    let parked: Vec<ParkedRepository> = service
        .actors
        .parked()
        .into_iter()
        .map(|(repo, reason)| ParkedRepository {
            repository_id: repo.0,
            reason,
        })
        .collect();
    let status = if !database_ok {
        "unhealthy"
    } else if !parked.is_empty() || queue.failed_recent > 0 {
        "degraded"
    } else {
        "ok"
    };
    let body = Health {
        status,
        version: env!("CARGO_PKG_VERSION"),
        timestamp: time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        uptime_seconds: service.started.elapsed().as_secs(),
        database: DatabaseHealth {
            backend: service.store.backend(),
            status: if database_ok { "ok" } else { "unreachable" },
            latency_ms,
        },
        queue,
        running_jobs: service.actors.running_jobs(),
        parked_repositories: parked,
    };
    let code = if database_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(body))
}

pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let service = &state.service;
    let queue = service.store.queue_depth().await.unwrap_or_default();
    let gauges = [
        (
            "kotadb_jobs_queued",
            "Jobs waiting in the queue.",
            queue.queued as f64,
        ),
        (
            "kotadb_jobs_running",
            "Jobs running (all instances).",
            queue.running as f64,
        ),
        (
            "kotadb_jobs_failed_recent",
            "Jobs failed for good in the last hour.",
            queue.failed_recent as f64,
        ),
        (
            "kotadb_actor_restarts",
            "Repository actor restarts since start.",
            service.actors.restarts() as f64,
        ),
        (
            "kotadb_repositories_parked",
            "Repositories parked after repeated crashes.",
            service.actors.parked().len() as f64,
        ),
        (
            "kotadb_uptime_seconds",
            "Seconds since start.",
            service.started.elapsed().as_secs_f64(),
        ),
        (
            "kotadb_snapshot_lookups",
            "Snapshot lookups from repository actors (searches, files).",
            service
                .lookups
                .count
                .load(std::sync::atomic::Ordering::Relaxed) as f64,
        ),
        (
            "kotadb_snapshot_lookup_seconds",
            "Total time spent in snapshot lookups: the actor hop of a request.",
            service
                .lookups
                .nanos
                .load(std::sync::atomic::Ordering::Relaxed) as f64
                / 1e9,
        ),
    ];
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(&gauges),
    )
}
