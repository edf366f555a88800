//! The database goes away under a running instance, and comes back: the real binary on a
//! Postgres cluster of the test's own (`kotadb::testing::postgres::TestCluster`), stopped
//! and started again. Meanwhile `/health` answers 503 `unhealthy`, authenticated requests
//! fail fast with a JSON 503 (never a hang), and afterwards everything recovers without
//! restarting kotadb: health ok, requests 200, and the job queued before the outage runs.

mod common;

use common::database::sql;
use common::try_http;
use common::{GitRepo, Kotadb, Remotes, Server};
use kotadb::testing::postgres::TestCluster;
use std::time::{Duration, Instant};

/// Answers within this long while the database is down (the brief: under ~6 s).
const FAST: Duration = Duration::from_secs(6);

/// `kotadb keys create --tier team` (serve prints no admin key on Postgres).
fn team_key(kotadb: &Kotadb) -> String {
    kotadb.create_key(&["--tier", "team"])
}

/// One timed request: (status, JSON body or Null, how long it took).
fn timed(server: &Server, path: &str, key: Option<&str>) -> (u16, serde_json::Value, Duration) {
    let started = Instant::now();
    let auth = key.map(|k| format!("Bearer {k}"));
    let headers: Vec<(&str, &str)> = auth
        .as_deref()
        .map(|a| vec![("authorization", a)])
        .unwrap_or_default();
    let reply = try_http("GET", &format!("{}{path}", server.base), &headers, None)
        .unwrap_or_else(|e| panic!("GET {path}: no reply ({e})"));
    let took = started.elapsed();
    let body = serde_json::from_str(&reply.body).unwrap_or(serde_json::Value::Null);
    (reply.status, body, took)
}

#[test]
fn an_outage_gives_fast_503s_and_everything_recovers_without_a_restart() {
    let mut cluster = TestCluster::start();
    let remotes = Remotes::new();
    let repo = GitRepo::new();
    repo.write("src/lib.rs", "pub fn answer() -> u32 {\n    42\n}\n");
    repo.commit("one");
    let url = remotes.publish(&repo, "small");
    let kotadb = Kotadb::new()
        .git_base_url(remotes.base_url())
        .database_url(&cluster.url);
    let server = Server::start_with(
        &kotadb,
        &[
            ("DISABLE_SAAS_ENV_VALIDATION", "1"),
            // The cache must not hide the outage from the second key below.
            ("KOTADB_KEY_CACHE_TTL_SECS", "1"),
        ],
    );
    let key = team_key(&kotadb);
    let other_key = team_key(&kotadb);
    let (repository, _) = server.register_and_index(&key, &url);
    assert_eq!(timed(&server, "/health", None).0, 200);
    assert_eq!(timed(&server, "/api/v1/repositories", Some(&key)).0, 200);

    // A job queued before the outage, runnable only after the database has gone.
    let queued = uuid::Uuid::new_v4().to_string();
    sql(
        &cluster.url,
        &format!(
            "INSERT INTO indexing_jobs (id, repository_id, job_type, run_after) \
             VALUES ('{queued}', '{repository}', 'full_index', now() + interval '2 seconds')"
        ),
    );
    cluster.stop();
    let stopped = Instant::now();
    // Before the instance has noticed: still an answer, not a hang.
    let (status, body, took) = timed(&server, "/api/v1/repositories", Some(&other_key));
    eprintln!("outage: first request {status} in {took:?}: {body}");
    assert!(took < FAST, "the first request took {took:?}");
    assert_eq!(status, 503, "{body}");

    // /health turns unhealthy (503) promptly, every answer fast.
    loop {
        let (status, body, took) = timed(&server, "/health", None);
        assert!(took < FAST, "/health took {took:?} during the outage");
        if status == 503 {
            assert_eq!(body["status"], "unhealthy", "{body}");
            eprintln!(
                "outage: /health 503 {:.1} s after the stop, in {took:?}",
                stopped.elapsed().as_secs_f64()
            );
            break;
        }
        assert!(
            stopped.elapsed() < Duration::from_secs(20),
            "/health never went 503: {status} {body}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // Authenticated requests: a JSON 503, fast, with a cached key and with one whose
    // check needs the database.
    std::thread::sleep(Duration::from_millis(1500));
    for (who, key) in [("a known key", &key), ("a key not cached", &other_key)] {
        for path in [
            "/api/v1/repositories",
            &format!("/api/v1/repositories/{repository}"),
        ] {
            let (status, body, took) = timed(&server, path, Some(key));
            assert!(took < FAST, "{who} {path} took {took:?}");
            eprintln!("outage: {who} {path}: {status} in {took:?}");
            assert_eq!(status, 503, "{who} {path}: {body}\n{}", server.stderr());
            assert!(body.is_object(), "{who} {path}: not JSON: {body}");
        }
    }

    // The database comes back: kotadb recovers by itself.
    cluster.restart();
    let restarted = Instant::now();
    loop {
        let (status, body, _) = timed(&server, "/health", None);
        let (listed, _, _) = timed(&server, "/api/v1/repositories", Some(&key));
        if status == 200 && listed == 200 {
            assert_eq!(body["status"], "ok", "{body}");
            break;
        }
        assert!(
            restarted.elapsed() < Duration::from_secs(60),
            "no recovery: /health {status} {body}, repositories {listed}\n{}",
            server.stderr()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(
        timed(&server, "/api/v1/repositories", Some(&other_key)).0,
        200
    );
    eprintln!(
        "recovered {:.1} s after the database restarted",
        restarted.elapsed().as_secs_f64()
    );
    // The job queued before the outage was not lost: it runs now.
    let finished = server.wait_for_job(&key, &queued);
    assert_eq!(finished["status"], "succeeded", "{finished}");
}
