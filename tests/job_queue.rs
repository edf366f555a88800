//! The crash-proof job queue, with the real binary on Postgres: a server killed with
//! SIGKILL in the middle of a long full index leaves its job to the next instance, which
//! rescues it when the lease expires and completes it exactly once, with the same rows as
//! a fresh index of the same commit; a repository whose indexer always panics ends
//! `failed` after its retries, with its story in `GET /api/v1/jobs/{id}`, while another
//! repository indexes and serves, and the restarts stay bounded and visible in `/health`.

mod common;

use common::database::query;
use common::rest::hits;
use common::{GitRepo, Kotadb, Remotes, Server};
use kotadb::testing::postgres::TestDatabase;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// `kotadb keys create --tier team` (serve prints no admin key on Postgres).
fn team_key(kotadb: &Kotadb) -> String {
    let key = kotadb.create_key(&["--tier", "team"]);
    assert!(key.starts_with("kota_team_"), "no key printed: {key:?}");
    key
}

/// One instance of the service on the shared database, with its own data directory.
fn instance(db: &TestDatabase, remotes: &Remotes, env: &[(&str, &str)]) -> (Kotadb, Server) {
    let kotadb = Kotadb::new()
        .git_base_url(remotes.base_url())
        .database_url(&db.url);
    let mut all = vec![("DISABLE_SAAS_ENV_VALIDATION", "1")];
    all.extend_from_slice(env);
    let server = Server::start_with(&kotadb, &all);
    (kotadb, server)
}

/// A repository big enough that a full index takes seconds in a debug build: `files`
/// Rust files of a dozen functions each.
fn big_repo(files: usize) -> GitRepo {
    let repo = GitRepo::new();
    for f in 0..files {
        let mut text = format!("//! Module {f}.\n\nuse std::collections::HashMap;\n\n");
        for g in 0..12 {
            text.push_str(&format!(
                "pub fn function_{f}_{g}(input: &HashMap<String, u32>) -> u32 {{\n    \
                 let total: u32 = input.values().sum();\n    total + {g}\n}}\n\n"
            ));
        }
        text.push_str(&format!(
            "pub struct Type{f} {{\n    pub value: u32,\n}}\n\nimpl Type{f} {{\n    \
             pub fn new() -> Self {{\n        Type{f} {{ value: {f} }}\n    }}\n}}\n"
        ));
        repo.write(format!("src/m{}/file{f}.rs", f % 40), text);
    }
    repo.commit("big");
    repo
}

fn job(server: &Server, key: &str, id: &str) -> Value {
    let reply = server.get(&format!("/api/v1/jobs/{id}"), key);
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()
}

fn event_types(job: &Value) -> Vec<String> {
    job["events"]
        .as_array()
        .unwrap_or_else(|| panic!("no events: {job}"))
        .iter()
        .map(|e| e["event_type"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Visible rows of a repository: (files, symbols, duplicated paths, staged rows).
fn rows(url: &str, repository: &str) -> (u64, u64, u64, u64) {
    let n = |sql: String| -> u64 { query(url, &sql)[0].parse().unwrap() };
    (
        n(format!(
            "SELECT count(*)::text FROM indexed_files \
             WHERE repository_id = '{repository}' AND update_id IS NULL"
        )),
        n(format!(
            "SELECT count(*)::text FROM symbols s JOIN indexed_files f ON f.id = s.file_id \
             WHERE f.repository_id = '{repository}' AND f.update_id IS NULL"
        )),
        n(format!(
            "SELECT count(*)::text FROM (SELECT path FROM indexed_files \
             WHERE repository_id = '{repository}' GROUP BY path HAVING count(*) > 1) d"
        )),
        n(format!(
            "SELECT count(*)::text FROM indexed_files \
             WHERE repository_id = '{repository}' AND update_id IS NOT NULL"
        )),
    )
}

#[test]
fn a_job_of_a_killed_server_is_rescued_and_completes_once_with_no_duplicate_rows() {
    let db = TestDatabase::create();
    let remotes = Remotes::new();
    let big = big_repo(2500);
    let url = remotes.publish(&big, "big");
    let lease = [("KOTADB_JOB_LEASE_SECS", "3")];

    // The first instance starts the full index and is killed (SIGKILL) in the middle.
    let (first_cli, first) = instance(&db, &remotes, &lease);
    let key = team_key(&first_cli);
    let created = first.register(&key, &url);
    let repository = created["id"].as_str().unwrap().to_string();
    let job_id = created["job_id"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(60);
    while job(&first, &key, &job_id)["status"] != "running" {
        assert!(Instant::now() < deadline, "the job never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Some files are written (staged) before the kill.
    let deadline = Instant::now() + Duration::from_secs(60);
    while rows(&db.url, &repository).3 == 0 {
        assert!(Instant::now() < deadline, "the index never wrote a batch");
        std::thread::sleep(Duration::from_millis(50));
    }
    let before_kill = job(&first, &key, &job_id);
    assert_eq!(
        before_kill["status"], "running",
        "the repository must be big enough to kill its index midway: {before_kill}"
    );
    let killed = Instant::now();
    drop(first); // SIGKILL: no shutdown, no release, the lease simply stops being renewed
    let left = query(
        &db.url,
        &format!("SELECT status FROM indexing_jobs WHERE id = '{job_id}'"),
    );
    assert_eq!(left, ["running"], "the dead instance's job stays running");

    // A second instance (its own data directory) rescues the job once the lease expires
    // and completes it.
    let (_second_cli, second) = instance(&db, &remotes, &lease);
    let finished = second.wait_for_job(&key, &job_id);
    eprintln!(
        "rescued and completed {:.1} s after the kill",
        killed.elapsed().as_secs_f64()
    );
    assert_eq!(finished["status"], "succeeded", "{finished}");
    assert_eq!(finished["attempts"], 2, "{finished}");
    let story = event_types(&finished);
    assert_eq!(
        story,
        ["queued", "claimed", "rescued", "claimed", "succeeded"],
        "{finished}"
    );
    let rescued = &finished["events"][2]["message"];
    assert!(
        rescued.as_str().is_some_and(
            |m| m.contains("lease expired during attempt 1") && m.ends_with("requeued")
        ),
        "{finished}"
    );
    // Exactly one job of the repository ran, and it succeeded once.
    assert_eq!(
        query(
            &db.url,
            &format!(
                "SELECT count(*)::text FROM indexing_job_events e JOIN indexing_jobs j ON j.id = e.job_id \
                 WHERE j.repository_id = '{repository}' AND e.event_type = 'succeeded'"
            )
        ),
        ["1"]
    );

    // The same commit indexed fresh, as another repository: the same rows, none twice,
    // nothing left staged by the killed run.
    let copy_url = remotes.publish(&big, "big-copy");
    let (copy, _) = second.register_and_index(&key, &copy_url);
    let rescued_rows = rows(&db.url, &repository);
    let fresh_rows = rows(&db.url, &copy);
    eprintln!("rows after the rescue {rescued_rows:?}, fresh {fresh_rows:?}");
    assert_eq!(rescued_rows, fresh_rows);
    assert_eq!(rescued_rows.0, 2500);
    assert_eq!((rescued_rows.2, rescued_rows.3), (0, 0));
    assert!(rescued_rows.1 >= 2500 * 13, "{rescued_rows:?}");
    let search = second.post(
        "/api/v1/search/code",
        &key,
        &json!({"query": "function_2499_11", "repository": repository}),
    );
    assert_eq!(search.status, 200, "{}", search.body);
    assert_eq!(hits(&search.json()).len(), 1, "{}", search.body);

    // A job for the commit already indexed succeeds at once (idempotent on the commit).
    let commit = big.head();
    let again = query(
        &db.url,
        &format!(
            "INSERT INTO indexing_jobs (repository_id, job_type, revision) \
             VALUES ('{repository}', 'incremental_update', '{commit}') RETURNING id::text"
        ),
    );
    let started = Instant::now();
    let done = second.wait_for_job(&key, &again[0]);
    assert_eq!(done["status"], "succeeded", "{done}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "a job for the indexed commit re-indexed? {:?}",
        started.elapsed()
    );
    assert_eq!(rows(&db.url, &repository), rescued_rows);
}

#[test]
fn a_repository_that_always_panics_fails_after_its_retries_while_another_serves() {
    let db = TestDatabase::create();
    let remotes = Remotes::new();
    let marker = |name: &str| {
        let repo = GitRepo::new();
        repo.write(
            "src/lib.rs",
            format!("pub fn {name}() -> u32 {{\n    7\n}}\n"),
        );
        repo.commit("marker");
        repo
    };
    let healthy_url = remotes.publish(&marker("healthy_marker"), "healthy");
    let panicky_url = remotes.publish(&marker("panicky_marker"), "panicky");
    let (cli, server) = instance(
        &db,
        &remotes,
        &[
            ("KOTADB_FAULT_PANIC_ON", "panicky"),
            ("KOTADB_JOB_MAX_ATTEMPTS", "3"),
            ("KOTADB_JOB_BACKOFF_MS", "200"),
        ],
    );
    let key = team_key(&cli);
    let panicky = server.register(&key, &panicky_url);
    let panicky_job = panicky["job_id"].as_str().unwrap().to_string();
    let (healthy, _) = server.register_and_index(&key, &healthy_url);

    let failed = server.wait_for_job(&key, &panicky_job);
    assert_eq!(failed["status"], "failed", "{failed}");
    assert_eq!(failed["attempts"], 3, "{failed}");
    assert!(
        failed["error"]
            .as_str()
            .is_some_and(|e| e.to_lowercase().contains("panic")),
        "{failed}"
    );
    assert_eq!(
        event_types(&failed),
        ["queued", "claimed", "retry", "claimed", "retry", "claimed", "failed"],
        "{failed}"
    );
    let search = server.post(
        "/api/v1/search/code",
        &key,
        &json!({"query": "healthy_marker", "repository": healthy}),
    );
    assert_eq!(search.status, 200, "{}", search.body);
    assert_eq!(hits(&search.json()).len(), 1, "{}", search.body);

    // One restart per crash at most, and no more once the job failed: no restart storm.
    let health = server.request("GET", "/health", None, None).json();
    let restarts = health["actor_restarts"].as_u64().unwrap_or(u64::MAX);
    assert!((1..=3).contains(&restarts), "{health}");
    assert_eq!(health["queue"]["failed_recent"], 1, "{health}");
    assert_eq!(health["status"], "degraded", "{health}");
    std::thread::sleep(Duration::from_secs(2));
    let later = server.request("GET", "/health", None, None).json();
    assert_eq!(later["actor_restarts"], restarts, "{later}");
    assert_eq!(later["queue"]["running"], 0, "{later}");
}
