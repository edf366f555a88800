//! The service keeps answering when part of it cannot, against the real `kotadb serve`
//! binary: a repository whose indexing panics fails its job (retried, the panic named)
//! while searches of the others keep answering and /health says degraded; and overload
//! beyond KOTADB_MAX_CONCURRENT_REQUESTS is shed with 503 and Retry-After, the rest
//! answered exactly, the server normal afterwards.

mod common;

use common::rest::{assert_error, hit, hits};
use common::{GitRepo, Kotadb, Remotes, Reply, Server};
use serde_json::json;

/// A one-file repository whose only line names `marker`.
fn marker_repo(marker: &str) -> GitRepo {
    let repo = GitRepo::new();
    repo.write(
        "src/lib.rs",
        format!("pub fn {marker}() -> u32 {{\n    7\n}}\n"),
    );
    repo.commit("marker");
    repo
}

#[test]
fn a_panicking_repository_fails_its_job_while_others_keep_answering() {
    let remotes = Remotes::new();
    let healthy_url = remotes.publish(&marker_repo("healthy_marker"), "healthy");
    let panicky_url = remotes.publish(&marker_repo("panicky_marker"), "panicky");
    let kotadb = Kotadb::new().git_base_url(remotes.base_url());
    let server = Server::start_with(
        &kotadb,
        &[
            ("KOTADB_FAULT_PANIC_ON", "panicky"),
            ("KOTADB_JOB_MAX_ATTEMPTS", "2"),
            ("KOTADB_JOB_BACKOFF_MS", "100"),
        ],
    );
    let admin = server.admin_key();
    let (healthy_id, _) = server.register_and_index(&admin, &healthy_url);
    let panicky = server.register(&admin, &panicky_url);
    let panicky_job = panicky["job_id"].as_str().unwrap().to_string();

    // While the panicky repository is retried, the healthy one answers every search.
    let expect = vec![hit("src/lib.rs", 1, 8)];
    let mut searches = 0;
    let job = loop {
        let reply = server.post(
            "/api/v1/search/code",
            &admin,
            &json!({"query": "healthy_marker", "repository": healthy_id}),
        );
        assert_eq!(reply.status, 200, "search #{searches}: {}", reply.body);
        assert_eq!(hits(&reply.json()), expect, "search #{searches}");
        searches += 1;
        let job = server
            .get(&format!("/api/v1/jobs/{panicky_job}"), &admin)
            .json();
        if job["status"] == "failed" || job["status"] == "succeeded" {
            break job;
        }
        assert!(searches < 2000, "the panicky job never finished: {job}");
    };
    assert_eq!(job["status"], "failed", "{job}");
    assert_eq!(job["attempts"], 2, "{job}");
    assert!(
        job["error"]
            .as_str()
            .is_some_and(|e| e.to_lowercase().contains("panic")),
        "the error names the panic: {job}"
    );
    eprintln!("{searches} searches answered while the panicky job ran: {job}");

    // Unscoped searches still answer, with the healthy repository's results.
    let found = server.post(
        "/api/v1/search/code",
        &admin,
        &json!({"query": "healthy_marker"}),
    );
    assert_eq!(found.status, 200, "{}", found.body);
    assert_eq!(hits(&found.json()), expect, "{}", found.body);
    // The failed repository itself answers too: no results, never a 5xx.
    let reply = server.post(
        "/api/v1/search/code",
        &admin,
        &json!({"query": "panicky_marker", "repository": panicky["id"]}),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(hits(&reply.json()), vec![], "{}", reply.body);
    let health = server.request("GET", "/health", None, None);
    assert_eq!(health.status, 200, "{}", health.body);
    let health = health.json();
    assert!(
        health["queue"]["failed_recent"].as_u64() >= Some(1),
        "{health}"
    );
    assert_eq!(health["status"], "degraded", "{health}");
}

/// A repository of `files` text files of `lines` lines each: a `\w+` search over it
/// touches every line.
fn big_repo(files: usize, lines: usize) -> GitRepo {
    let repo = GitRepo::new();
    for f in 0..files {
        let mut text = String::with_capacity(lines * 48);
        for l in 0..lines {
            text.push_str(&format!(
                "let value_{f}_{l} = compute_something({l}, {f});\n"
            ));
        }
        repo.write(format!("data/file{f:03}.txt"), text);
    }
    repo.commit("big");
    repo
}

#[test]
fn overload_is_shed_with_503_and_retry_after() {
    let remotes = Remotes::new();
    let git_url = remotes.publish(&big_repo(40, 1500), "big");
    let kotadb = Kotadb::new().git_base_url(remotes.base_url());
    let server = Server::start_with(&kotadb, &[("KOTADB_MAX_CONCURRENT_REQUESTS", "1")]);
    let admin = server.admin_key();
    let (id, _) = server.register_and_index(&admin, &git_url);

    let body = json!({"query": r"\w+", "regex": true, "repository": id, "limit": 1}).to_string();
    let replies: Vec<Reply> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..50)
            .map(|_| {
                scope.spawn(|| {
                    server.request("POST", "/api/v1/search/code", Some(&admin), Some(&body))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a request thread"))
            .collect()
    });
    assert_eq!(replies.len(), 50);
    let (mut ok, mut shed) = (0, 0);
    for reply in &replies {
        match reply.status {
            200 => {
                assert_eq!(reply.json()["total"], 60_000, "{}", reply.body);
                ok += 1;
            }
            503 => {
                assert_error(reply, 503, "shed request");
                assert!(
                    reply.header("retry-after").is_some(),
                    "503 without Retry-After: {reply:?}"
                );
                shed += 1;
            }
            other => panic!(
                "a reply that is neither 200 nor 503: {other} {}",
                reply.body
            ),
        }
    }
    assert!(shed >= 1, "nothing was shed ({ok} answered)");
    assert!(ok >= 1, "nothing was answered ({shed} shed)");

    // Afterwards the server answers normally.
    let reply = server.post(
        "/api/v1/search/code",
        &admin,
        &json!({"query": "value_7_42 ", "repository": id}),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(hits(&reply.json()), vec![hit("data/file007.txt", 43, 5)]);
    assert_eq!(server.request("GET", "/health", None, None).status, 200);
}
