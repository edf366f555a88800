//! Prometheus metrics: request counts and latency histograms per route, rate-limit
//! rejections, and gauges read at scrape time (queue, actors).

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use dashmap::DashMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Histogram bucket upper bounds, seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

#[derive(Default)]
struct RouteStats {
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

#[derive(Default)]
pub struct Metrics {
    requests: DashMap<(String, String, u16), AtomicU64>,
    latency: DashMap<String, RouteStats>,
    rate_limited: AtomicU64,
    /// GitHub webhook deliveries by outcome (queued, coalesced, duplicate, ignored, pong,
    /// unauthorized, bad_request, error).
    webhooks: DashMap<&'static str, AtomicU64>,
}

impl Metrics {
    pub fn webhook_delivery(&self, outcome: &'static str) {
        self.webhooks
            .entry(outcome)
            .or_default()
            .fetch_add(1, Ordering::Relaxed);
    }

    pub fn rate_limited(&self) {
        self.rate_limited.fetch_add(1, Ordering::Relaxed);
    }

    fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.requests
            .entry((method.to_string(), route.to_string(), status))
            .or_default()
            .fetch_add(1, Ordering::Relaxed);
        let stats = self.latency.entry(route.to_string()).or_default();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                stats.buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        stats.count.fetch_add(1, Ordering::Relaxed);
        stats
            .sum_micros
            .fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
    }

    /// Renders everything in the Prometheus text format; `gauges` are (name, help, value).
    pub fn render(&self, gauges: &[(&str, &str, f64)]) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP kotadb_http_requests_total HTTP requests by method, route and status."
        );
        let _ = writeln!(out, "# TYPE kotadb_http_requests_total counter");
        for entry in self.requests.iter() {
            let (method, route, status) = entry.key();
            let _ = writeln!(
                out,
                "kotadb_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {}",
                escape(route),
                entry.value().load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP kotadb_http_request_duration_seconds HTTP request latency by route."
        );
        let _ = writeln!(out, "# TYPE kotadb_http_request_duration_seconds histogram");
        for entry in self.latency.iter() {
            let route = escape(entry.key());
            let stats = entry.value();
            for (i, bound) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "kotadb_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {}",
                    stats.buckets[i].load(Ordering::Relaxed)
                );
            }
            let count = stats.count.load(Ordering::Relaxed);
            let _ = writeln!(out, "kotadb_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {count}");
            let _ = writeln!(
                out,
                "kotadb_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                stats.sum_micros.load(Ordering::Relaxed) as f64 / 1e6
            );
            let _ = writeln!(
                out,
                "kotadb_http_request_duration_seconds_count{{route=\"{route}\"}} {count}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP kotadb_rate_limited_total Requests refused by the hourly limit."
        );
        let _ = writeln!(out, "# TYPE kotadb_rate_limited_total counter");
        let _ = writeln!(
            out,
            "kotadb_rate_limited_total {}",
            self.rate_limited.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP kotadb_webhook_deliveries_total GitHub webhook deliveries by outcome."
        );
        let _ = writeln!(out, "# TYPE kotadb_webhook_deliveries_total counter");
        for entry in self.webhooks.iter() {
            let _ = writeln!(
                out,
                "kotadb_webhook_deliveries_total{{outcome=\"{}\"}} {}",
                entry.key(),
                entry.value().load(Ordering::Relaxed)
            );
        }
        for (name, help, value) in gauges {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} gauge");
            let _ = writeln!(out, "{name} {value}");
        }
        out
    }
}

fn escape(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Records every request under its route template (never the raw path: ids would
/// explode the label space).
pub async fn record(
    State(metrics): State<std::sync::Arc<Metrics>>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| {
            if request.uri().path().starts_with("/mcp") {
                "/mcp".into()
            } else {
                "unmatched".into()
            }
        });
    let response = next.run(request).await;
    metrics.observe(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

/// The job counters of this instance's supervision tree, in the Prometheus text format:
/// outcomes written and the duration of claimed attempts, from claim to outcome.
pub fn render_jobs(stats: &kotadb_actors::JobStats) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# HELP kotadb_job_outcomes_total Job outcomes written by this instance."
    );
    let _ = writeln!(out, "# TYPE kotadb_job_outcomes_total counter");
    for (outcome, count) in &stats.outcomes {
        let _ = writeln!(
            out,
            "kotadb_job_outcomes_total{{outcome=\"{outcome}\"}} {count}"
        );
    }
    let _ = writeln!(
        out,
        "# HELP kotadb_job_duration_seconds Claimed attempts, from claim to outcome, by outcome."
    );
    let _ = writeln!(out, "# TYPE kotadb_job_duration_seconds histogram");
    for histogram in &stats.durations {
        let outcome = histogram.outcome;
        for (bound, count) in &histogram.buckets {
            let _ = writeln!(
                out,
                "kotadb_job_duration_seconds_bucket{{outcome=\"{outcome}\",le=\"{bound}\"}} {count}"
            );
        }
        let _ = writeln!(
            out,
            "kotadb_job_duration_seconds_bucket{{outcome=\"{outcome}\",le=\"+Inf\"}} {}",
            histogram.count
        );
        let _ = writeln!(
            out,
            "kotadb_job_duration_seconds_sum{{outcome=\"{outcome}\"}} {}",
            histogram.sum_seconds
        );
        let _ = writeln!(
            out,
            "kotadb_job_duration_seconds_count{{outcome=\"{outcome}\"}} {}",
            histogram.count
        );
    }
    out
}
