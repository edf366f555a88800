//! Structured logs: with `KOTADB_LOG_FORMAT=json` every line the server writes is one JSON
//! object; a request's lines carry its id (taken from `X-Request-Id` or `Fly-Request-Id`,
//! echoed back), and an indexing job's lines carry the job and repository ids.

mod common;

use common::{http, GitRepo, Kotadb, Remotes, Server};
use std::time::{Duration, Instant};

fn json_lines(server: &Server) -> Vec<serde_json::Value> {
    server
        .stderr()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON log line ({e}): {l}"))
        })
        .collect()
}

#[test]
fn json_logs_carry_request_and_job_ids() {
    let remotes = Remotes::new();
    let repo = GitRepo::new();
    repo.write("a.rs", "fn logged() {}\n");
    repo.commit("one");
    let url = remotes.publish(&repo, "logged");
    let kotadb = Kotadb::new().git_base_url(remotes.base_url());
    let server = Server::start_with(
        &kotadb,
        &[("KOTADB_LOG_FORMAT", "json"), ("RUST_LOG", "info")],
    );
    let key = server.admin_key();
    let auth = format!("Bearer {key}");

    let reply = http(
        "GET",
        &server.url("/api/v1/repositories"),
        &[("Authorization", &auth), ("X-Request-Id", "smoke-123")],
        None,
    );
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("x-request-id"), Some("smoke-123"));
    let fly = http(
        "GET",
        &server.url("/health"),
        &[("Fly-Request-Id", "01FLY-abc")],
        None,
    );
    assert_eq!(fly.header("x-request-id"), Some("01FLY-abc"));
    // An id that is not a short token is replaced, not logged.
    let odd = http(
        "GET",
        &server.url("/health"),
        &[("X-Request-Id", "a b\"c")],
        None,
    );
    let replaced = odd.header("x-request-id").unwrap().to_string();
    assert_ne!(replaced, "a b\"c");
    assert_eq!(replaced.len(), 36, "a fresh UUID: {replaced}");

    server.register_and_index(&key, &url);

    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let lines = json_lines(&server);
        let request_line = lines.iter().any(|l| {
            l["span"]["request_id"] == "smoke-123" && l["fields"]["message"] == "request finished"
        });
        let job_line = lines
            .iter()
            .any(|l| l["span"]["name"] == "job" && l["span"]["job_id"].is_string());
        if request_line && job_line {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no request or job line (request {request_line}, job {job_line}):\n{}",
            server.stderr()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
