//! `/health` and `/metrics`: no key needed, cheap, and honest about the database.

use super::AppState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde::Serialize;

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct DatabaseHealth {
    pub backend: &'static str,
    pub status: &'static str,
    pub latency_ms: f64,
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
    /// Repository actor restarts since start (crashes, bounded by parking).
    pub actor_restarts: u64,
    pub parked_repositories: Vec<crate::service::ParkedRepository>,
}

pub async fn health(State(state): State<AppState>) -> impl IntoResponse {
    let report = state.service.health().await;
    let database_ok = report.database_latency.is_some();
    let status = if !database_ok {
        "unhealthy"
    } else if !report.parked.is_empty() || report.queue.failed_recent > 0 {
        "degraded"
    } else {
        "ok"
    };
    let latency_ms = report
        .database_latency
        .map_or(0.0, |d| (d.as_secs_f64() * 1e6).round() / 1e3);
    let body = Health {
        status,
        version: env!("CARGO_PKG_VERSION"),
        timestamp: crate::store::Timestamp::now().to_text(),
        uptime_seconds: report.uptime.as_secs(),
        database: DatabaseHealth {
            backend: report.backend,
            status: if database_ok { "ok" } else { "unreachable" },
            latency_ms,
        },
        queue: report.queue,
        running_jobs: report.running_jobs,
        actor_restarts: report.restarts,
        parked_repositories: report.parked,
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
    let report = service.health().await;
    let queue = report.queue;
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
            "Actor restarts since start: repository actors, and the supervisor, poller and scheduler.",
            report.restarts as f64,
        ),
        (
            "kotadb_repositories_parked",
            "Repositories parked after repeated crashes.",
            report.parked.len() as f64,
        ),
        (
            "kotadb_uptime_seconds",
            "Seconds since start.",
            report.uptime.as_secs_f64(),
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
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], {
        let mut text = state.metrics.render(&gauges);
        if let Some(actors) = service.actors() {
            text.push_str(&super::metrics::render_jobs(&actors.job_stats()));
        }
        text
    })
}
