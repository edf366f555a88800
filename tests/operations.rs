//! What an operator relies on, against the real `kotadb serve` binary: /openapi.json
//! documents every route of CONTRACT.md and each documented operation is served;
//! /health and /metrics answer without a key (database, queue, request counters and
//! histograms); SIGTERM stops the server cleanly and a restart on the same data directory
//! keeps its keys and data.

mod common;

use common::rest::{hit, hits, indexed_fixture, repository_ids, Indexed};
use common::{Kotadb, Server};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// Every REST route of CONTRACT.md's HTTP table.
const CONTRACT_ROUTES: [(&str, &str); 11] = [
    ("get", "/health"),
    ("post", "/api/v1/repositories"),
    ("get", "/api/v1/repositories"),
    ("get", "/api/v1/repositories/{id}"),
    ("delete", "/api/v1/repositories/{id}"),
    ("post", "/api/v1/repositories/{id}/index"),
    ("get", "/api/v1/jobs/{id}"),
    ("post", "/api/v1/search/code"),
    ("post", "/api/v1/symbols/search"),
    ("post", "/api/v1/references"),
    ("post", "/api/v1/dependencies"),
];

#[test]
fn openapi_describes_every_contract_route_and_each_is_live() {
    let kotadb = Kotadb::new();
    let server = Server::start(&kotadb);
    let admin = server.admin_key();
    let reply = server.request("GET", "/openapi.json", None, None);
    assert_eq!(reply.status, 200, "{}", reply.body);
    let doc = reply.json();
    assert!(
        doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")),
        "{}",
        doc["openapi"]
    );
    let paths = doc["paths"].as_object().expect("paths");
    for (method, path) in &CONTRACT_ROUTES {
        assert!(
            paths.get(*path).and_then(|p| p.get(*method)).is_some(),
            "/openapi.json lacks {method} {path}"
        );
    }
    // Every documented operation is served: never the "no such endpoint" 404.
    let unknown = "00000000-0000-4000-8000-000000000000";
    for (path, methods) in paths {
        for method in methods.as_object().expect("path item").keys() {
            let concrete = path.replace("{id}", unknown);
            let body = (method == "post").then_some("{}");
            let reply = server.request(&method.to_uppercase(), &concrete, Some(&admin), body);
            let no_route = reply.status == 404
                && reply.json()["error"]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("no such endpoint"));
            assert!(
                !no_route,
                "{method} {path} is documented but not served: {}",
                reply.body
            );
            assert!(
                reply.status < 500,
                "{method} {path}: {} {}",
                reply.status,
                reply.body
            );
        }
    }
    // Request and response schemas for code search.
    let operation = &paths["/api/v1/search/code"]["post"];
    let resolve = |schema: &Value| -> Value {
        match schema["$ref"].as_str() {
            Some(r) => {
                let name = r.rsplit('/').next().unwrap();
                doc["components"]["schemas"][name].clone()
            }
            None => schema.clone(),
        }
    };
    let request = resolve(&operation["requestBody"]["content"]["application/json"]["schema"]);
    for field in [
        "query",
        "repository",
        "regex",
        "case_sensitive",
        "path",
        "language",
        "limit",
    ] {
        assert!(
            request["properties"][field].is_object(),
            "request schema lacks {field}: {request}"
        );
    }
    let response = resolve(&operation["responses"]["200"]["content"]["application/json"]["schema"]);
    for field in ["results", "total", "truncated", "took_ms"] {
        assert!(
            response["properties"][field].is_object(),
            "response schema lacks {field}: {response}"
        );
    }
    assert!(
        operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].is_string(),
        "the search/code request schema lives in components"
    );
}

#[test]
fn health_and_metrics_answer_without_a_key() {
    let kotadb = Kotadb::new();
    let server = Server::start(&kotadb);
    let admin = server.admin_key();
    let reply = server.request("GET", "/health", None, None);
    assert_eq!(reply.status, 200, "{}", reply.body);
    let health = reply.json();
    assert_eq!(health["status"], "ok", "{health}");
    assert_eq!(health["version"], env!("CARGO_PKG_VERSION"), "{health}");
    assert!(
        health["timestamp"]
            .as_str()
            .is_some_and(|t| t.contains('T')),
        "{health}"
    );
    let backend = if kotadb.on_test_postgres() {
        "postgres"
    } else {
        "sqlite"
    };
    assert_eq!(health["database"]["backend"], backend, "{health}");
    assert_eq!(health["database"]["status"], "ok", "{health}");
    assert!(health["database"]["latency_ms"].is_number(), "{health}");
    for field in ["queued", "running", "failed_recent"] {
        assert!(health["queue"][field].is_u64(), "queue.{field}: {health}");
    }

    for _ in 0..3 {
        assert_eq!(server.get("/api/v1/repositories", &admin).status, 200);
    }
    let reply = server.request("GET", "/metrics", None, None);
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(
        reply.content_type.starts_with("text/plain"),
        "{}",
        reply.content_type
    );
    let text = reply.body;
    let counted: f64 = text
        .lines()
        .filter(|l| {
            l.starts_with("kotadb_http_requests_total{")
                || l.starts_with("kotadb_http_requests_total ")
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    // The startup /health probe(s), the /health above and the three listings.
    assert!(
        counted >= 5.0,
        "kotadb_http_requests_total sums to {counted}:\n{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("kotadb_http_requests_total")
                && l.contains("/api/v1/repositories")
                && l.ends_with(" 3")),
        "the three listings are counted:\n{text}"
    );
    assert!(
        text.contains("# TYPE kotadb_http_requests_total counter"),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("# TYPE ") && l.ends_with(" histogram")),
        "a histogram:\n{text}"
    );
    assert!(
        text.contains("_bucket{") && text.contains("le=\"+Inf\""),
        "{text}"
    );
}

#[test]
fn sigterm_stops_the_server_cleanly_and_a_restart_keeps_keys_and_data() {
    let f = indexed_fixture(&[]);
    let Indexed {
        server,
        kotadb,
        remotes: _remotes,
        admin,
        repository_id,
        ..
    } = f;
    let started = Instant::now();
    let status = server
        .terminate(Duration::from_secs(10))
        .expect("kotadb serve did not exit within 10 s of SIGTERM");
    assert!(status.success(), "exit status after SIGTERM: {status}");
    assert!(started.elapsed() < Duration::from_secs(10));

    let server = Server::start(&kotadb);
    assert!(
        server.admin_key.is_none(),
        "a restart printed a new admin key:\n{}",
        server.printed.join("\n")
    );
    assert_eq!(repository_ids(&server, &admin), vec![repository_id.clone()]);
    let reply = server.post(
        "/api/v1/search/code",
        &admin,
        &json!({"query": "ParserConfig", "repository": repository_id}),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(hits(&reply.json()), vec![hit("src/parser.rs", 15, 12)]);
}

/// `/metrics` counts job outcomes with their durations, and webhook deliveries by outcome.
#[test]
fn metrics_count_job_outcomes_durations_and_webhook_deliveries() {
    let fixture = indexed_fixture(&[]);
    let server = &fixture.server;
    let refused = server.request(
        "POST",
        &format!("/webhooks/github/{}", fixture.repository_id),
        None,
        Some(r#"{"zen":"hi"}"#),
    );
    assert_eq!(refused.status, 401, "{}", refused.body);
    let text = server.request("GET", "/metrics", None, None).body;
    let value = |prefix: &str| -> Option<f64> {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.rsplit(' ').next()?.parse().ok())
    };
    assert_eq!(
        value("kotadb_job_outcomes_total{outcome=\"succeeded\"}"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value("kotadb_job_duration_seconds_count{outcome=\"succeeded\"}"),
        Some(1.0),
        "{text}"
    );
    assert!(
        value("kotadb_job_duration_seconds_sum{outcome=\"succeeded\"}").is_some_and(|s| s > 0.0),
        "{text}"
    );
    assert_eq!(
        value("kotadb_job_duration_seconds_bucket{outcome=\"succeeded\",le=\"+Inf\"}"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value("kotadb_webhook_deliveries_total{outcome=\"unauthorized\"}"),
        Some(1.0),
        "{text}"
    );
    assert!(
        text.contains("# TYPE kotadb_job_duration_seconds histogram"),
        "{text}"
    );
    assert!(text.contains("kotadb_actor_restarts 0"), "{text}");
}
