//! `POST /webhooks/github/{repository_id}` against the real binary, with a sender no one
//! here wrote: GitHub's example payloads (`@octokit/webhooks-examples`) signed by GitHub's
//! own `sign()` (`@octokit/webhooks-methods`), installed from npm into `target/octokit`
//! on first use and driven by `tests/support/octokit_webhooks.mjs`.
//!
//! Run on both backends: `cargo test --test webhooks` and
//! `KOTADB_TEST_BACKEND=postgres cargo test --test webhooks`. `-- --nocapture` prints the
//! time from webhook sent to searchable.

mod common;

use common::{http, GitRepo, Kotadb, Remotes, Reply, Server};
use serde_json::{json, Value};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const NPM_PACKAGES: &[(&str, &str)] = &[
    ("@octokit/webhooks-examples", "7.6.1"),
    ("@octokit/webhooks-methods", "6.0.0"),
];

/// `target/octokit` holding the packages (`common::npm_install`) and the script.
fn octokit() -> PathBuf {
    let modules = common::npm_install("octokit", NPM_PACKAGES);
    let prefix = modules.parent().expect("the install folder").to_path_buf();
    std::fs::write(
        prefix.join("octokit_webhooks.mjs"),
        include_str!("support/octokit_webhooks.mjs"),
    )
    .unwrap();
    prefix
}

fn node(args: &[&str], secret: Option<&str>, stdin: &[u8]) -> String {
    let dir = octokit();
    let mut command = Command::new("node");
    command
        .current_dir(&dir)
        .arg("octokit_webhooks.mjs")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(secret) = secret {
        command.env("KOTA_WEBHOOK_SECRET", secret);
    }
    let mut child = command.spawn().expect("running node");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "node {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// GitHub's examples of `event`.
fn examples(event: &str) -> Vec<Value> {
    serde_json::from_str(&node(&["example", event], None, b"")).unwrap()
}

/// `X-Hub-Signature-256` of `body` under `secret`, by `@octokit/webhooks-methods`.
fn sign(secret: &str, body: &[u8]) -> String {
    node(&["sign"], Some(secret), body)
}

/// GitHub's example push to a branch, rewritten to push `after` to `branch` of a
/// repository whose default branch is `default_branch`.
fn push_payload(branch_ref: &str, after: &str, default_branch: &str) -> Vec<u8> {
    let mut push = examples("push")
        .into_iter()
        .find(|p| {
            p["ref"]
                .as_str()
                .is_some_and(|r| r.starts_with("refs/heads/"))
        })
        .expect("an example push to a branch");
    push["ref"] = json!(branch_ref);
    push["after"] = json!(after);
    push["deleted"] = json!(after.bytes().all(|b| b == b'0'));
    push["repository"]["default_branch"] = json!(default_branch);
    serde_json::to_vec(&push).unwrap()
}

struct Hook<'a> {
    server: &'a Server,
    repository: String,
    secret: String,
}

impl Hook<'_> {
    fn url(&self) -> String {
        self.server
            .url(&format!("/webhooks/github/{}", self.repository))
    }

    /// Sends `body` as GitHub would: signed with this hook's secret.
    fn send(&self, event: &str, delivery: &str, body: &[u8]) -> Reply {
        let signature = sign(&self.secret, body);
        self.send_signed(event, delivery, body, &signature)
    }

    fn send_signed(&self, event: &str, delivery: &str, body: &[u8], signature: &str) -> Reply {
        http(
            "POST",
            &self.url(),
            &[
                ("Content-Type", "application/json"),
                ("User-Agent", "GitHub-Hookshot/test"),
                ("X-GitHub-Event", event),
                ("X-GitHub-Delivery", delivery),
                ("X-Hub-Signature-256", signature),
            ],
            Some(body),
        )
    }
}

fn error_code(reply: &Reply) -> String {
    reply.json()["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("not the JSON error shape: {}", reply.body))
        .to_string()
}

/// Every job of the server's organization, from `kotadb jobs --json`.
fn jobs(kotadb: &Kotadb) -> Vec<Value> {
    let output = kotadb.cmd_ok(["jobs", "--json"]);
    let value: Value = serde_json::from_slice(&output.stdout).unwrap();
    match value {
        Value::Array(jobs) => jobs,
        other => other["jobs"].as_array().cloned().unwrap_or_default(),
    }
}

/// Pushes the repository's `main` to its bare remote.
fn push_to_remote(repo: &GitRepo, remote: &str) {
    repo.git(["push", "-q", "--force", remote, "HEAD:refs/heads/main"]);
}

fn search_total(server: &Server, key: &str, query: &str) -> u64 {
    let reply = server.post("/api/v1/search/code", key, &json!({ "query": query }));
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()["total"].as_u64().unwrap_or(0)
}

fn wait_searchable(server: &Server, key: &str, query: &str, within: Duration) -> Duration {
    let started = Instant::now();
    while search_total(server, key, query) == 0 {
        assert!(
            started.elapsed() < within,
            "{query:?} not searchable after {within:?}\n--- server stderr\n{}",
            server.stderr()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    started.elapsed()
}

struct Setup {
    kotadb: Kotadb,
    server: Server,
    key: String,
    repo: GitRepo,
    remote: String,
    id: String,
    secret: String,
    _remotes: Remotes,
}

fn setup(files: usize) -> Setup {
    let remotes = Remotes::new();
    let repo = GitRepo::new();
    for i in 0..files {
        repo.write(
            format!("src/dir{}/file{i}.rs", i % 100),
            format!("pub fn function_{i}() -> u32 {{\n    {i}\n}}\n"),
        );
    }
    repo.commit("initial");
    let remote = remotes.publish(&repo, "project");
    let kotadb = Kotadb::new().git_base_url(remotes.base_url());
    let server = Server::start(&kotadb);
    let key = server.admin_key();
    let created = server.register(&key, &remote);
    let id = created["id"].as_str().unwrap().to_string();
    let secret = created["webhook_secret"].as_str().unwrap().to_string();
    let job = created["job_id"].as_str().unwrap();
    assert_eq!(server.wait_for_job(&key, job)["status"], "succeeded");
    Setup {
        kotadb,
        server,
        key,
        repo,
        remote,
        id,
        secret,
        _remotes: remotes,
    }
}

#[test]
fn hostile_deliveries_create_nothing_and_a_good_one_still_works() {
    let s = setup(3);
    let hook = Hook {
        server: &s.server,
        repository: s.id.clone(),
        secret: s.secret.clone(),
    };
    let jobs_before = jobs(&s.kotadb).len();

    // GitHub's real ping.
    let ping = serde_json::to_vec(&examples("ping")[0]).unwrap();
    let reply = hook.send("ping", "ping-1", &ping);
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["pong"], true);

    s.repo
        .write("src/hooked.rs", "pub fn webhook_marker_one() {}\n");
    let head = s.repo.commit("one");
    push_to_remote(&s.repo, &s.remote);
    let push = push_payload("refs/heads/main", &head, "main");
    let good = sign(&s.secret, &push);

    // Bad and missing signatures, and unknown repositories: the same 401, JSON shape.
    let wrong = sign("not-the-secret", &push);
    let other_body = sign(&s.secret, b"{}");
    for signature in [
        "",
        "sha256=",
        "sha256=zz",
        &wrong,
        &other_body,
        &good.replace("sha256=", "sha1="),
        &good.to_uppercase(),
    ] {
        let reply = hook.send_signed("push", "bad-sig", &push, signature);
        assert_eq!(reply.status, 401, "{signature:?}: {}", reply.body);
        assert_eq!(error_code(&reply), "unauthorized");
    }
    let unsigned = http(
        "POST",
        &hook.url(),
        &[("X-GitHub-Event", "push"), ("X-GitHub-Delivery", "nosig")],
        Some(&push),
    );
    assert_eq!(unsigned.status, 401, "{}", unsigned.body);
    for other in [
        "00000000-0000-0000-0000-000000000001".to_string(),
        "not-a-uuid".to_string(),
    ] {
        let stranger = Hook {
            server: &s.server,
            repository: other,
            secret: s.secret.clone(),
        };
        let reply = stranger.send_signed("push", "unknown", &push, &good);
        assert_eq!(reply.status, 401, "{}", reply.body);
        assert_eq!(
            reply.json(),
            unsigned.json(),
            "unknown ids look like bad signatures"
        );
    }

    // Missing headers with a good signature: 400.
    for missing in ["X-GitHub-Event", "X-GitHub-Delivery"] {
        let mut headers = vec![
            ("X-GitHub-Event", "push"),
            ("X-GitHub-Delivery", "no-header"),
            ("X-Hub-Signature-256", good.as_str()),
        ];
        headers.retain(|(name, _)| *name != missing);
        let reply = http("POST", &hook.url(), &headers, Some(&push));
        assert_eq!(reply.status, 400, "without {missing}: {}", reply.body);
        assert_eq!(error_code(&reply), "bad_request");
    }

    // Malformed bodies, correctly signed: 400.
    for body in [
        &b"{not json"[..],
        b" ",
        b"[1, 2]",
        br#"{"ref": "refs/heads/main", "after": "HEAD"}"#,
        br#"{"ref": 7}"#,
    ] {
        let reply = hook.send("push", "malformed", body);
        assert_eq!(
            reply.status,
            400,
            "{:?}: {}",
            String::from_utf8_lossy(body),
            reply.body
        );
        assert_eq!(error_code(&reply), "bad_request");
    }

    // Over 25 MB: 413, whatever the signature (the API's own 1 MiB cap does not apply
    // here: a 2 MB delivery is fine below).
    let huge = vec![b' '; 25 * 1024 * 1024 + 1];
    let reply = hook.send_signed("push", "huge", &huge, "sha256=00");
    assert_eq!(reply.status, 413, "{}", reply.body);
    assert_eq!(error_code(&reply), "payload_too_large");

    assert_eq!(
        jobs(&s.kotadb).len(),
        jobs_before,
        "no refused delivery may create a job"
    );

    // Ignored, with a reason: another branch, a tag, a deletion, another event; a large
    // (2 MB) delivery is within the route's cap.
    let mut big =
        serde_json::from_slice::<Value>(&push_payload("refs/heads/dev", &head, "main")).unwrap();
    big["padding"] = json!("x".repeat(2 * 1024 * 1024));
    for (event, delivery, body) in [
        ("push", "dev", push_payload("refs/heads/dev", &head, "main")),
        ("push", "big-dev", serde_json::to_vec(&big).unwrap()),
        ("push", "tag", push_payload("refs/tags/v1", &head, "main")),
        (
            "push",
            "delete",
            push_payload("refs/heads/main", &"0".repeat(40), "main"),
        ),
        (
            "issues",
            "issues",
            serde_json::to_vec(&examples("issues")[0]).unwrap(),
        ),
    ] {
        let reply = hook.send(event, delivery, &body);
        assert_eq!(reply.status, 202, "{delivery}: {}", reply.body);
        assert!(
            reply.json()["ignored"].is_string(),
            "{delivery}: {}",
            reply.body
        );
    }
    assert_eq!(jobs(&s.kotadb).len(), jobs_before);

    // The good delivery after all that works, once.
    let reply = hook.send_signed("push", "good-1", &push, &good);
    assert_eq!(reply.status, 202, "{}", reply.body);
    let job = reply.json()["job_id"].as_str().unwrap().to_string();
    let replay = hook.send_signed("push", "good-1", &push, &good);
    assert_eq!(replay.status, 200, "{}", replay.body);
    assert_eq!(replay.json(), json!({"duplicate": true, "job_id": job}));
    assert_eq!(s.server.wait_for_job(&s.key, &job)["status"], "succeeded");
    assert_eq!(search_total(&s.server, &s.key, "webhook_marker_one"), 1);
    assert_eq!(jobs(&s.kotadb).len(), jobs_before + 1);
    let replay = hook.send_signed("push", "good-1", &push, &good);
    assert_eq!(
        replay.status, 200,
        "a replay after the job ran: {}",
        replay.body
    );

    // Rotation: the new secret is shown once; old and new both verify meanwhile.
    let reply = s.server.post(
        &format!("/api/v1/repositories/{}/webhook-secret", s.id),
        &s.key,
        &json!({}),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let rotated = reply.json()["webhook_secret"].as_str().unwrap().to_string();
    assert_ne!(rotated, s.secret);
    let old = hook.send("ping", "after-rotation-old", &ping);
    assert_eq!(
        old.status, 200,
        "the previous secret, in its grace period: {}",
        old.body
    );
    let new = Hook {
        secret: rotated.clone(),
        ..hook
    };
    assert_eq!(new.send("ping", "after-rotation-new", &ping).status, 200);
    assert_eq!(
        new.send_signed("ping", "x", &ping, &sign("nope", &ping))
            .status,
        401
    );
    let unknown = s.server.post(
        "/api/v1/repositories/00000000-0000-0000-0000-000000000001/webhook-secret",
        &s.key,
        &json!({}),
    );
    assert_eq!(unknown.status, 404, "{}", unknown.body);
}

/// Two deliveries of one push make one job; three quick pushes while a job is queued or
/// running coalesce, and the last commit is what gets indexed.
#[test]
fn redeliveries_make_one_job_and_bursts_coalesce() {
    let s = setup(20);
    let hook = Hook {
        server: &s.server,
        repository: s.id.clone(),
        secret: s.secret.clone(),
    };
    let before = jobs(&s.kotadb).len();
    s.repo.write("src/one.rs", "pub fn burst_zero() {}\n");
    let head = s.repo.commit("zero");
    push_to_remote(&s.repo, &s.remote);
    let push = push_payload("refs/heads/main", &head, "main");
    let first = hook.send("push", "same-delivery", &push);
    let second = hook.send("push", "same-delivery", &push);
    assert_eq!(first.status, 202, "{}", first.body);
    assert_eq!(second.status, 200, "{}", second.body);
    let job = first.json()["job_id"].as_str().unwrap().to_string();
    assert_eq!(second.json()["job_id"], json!(job));
    assert_eq!(s.server.wait_for_job(&s.key, &job)["status"], "succeeded");
    assert_eq!(
        jobs(&s.kotadb).len(),
        before + 1,
        "one job for two deliveries"
    );

    // A burst: three pushes, signed first, then sent back to back.
    let mut deliveries = Vec::new();
    for n in 1..=3 {
        s.repo
            .write("src/one.rs", format!("pub fn burst_marker_{n}() {{}}\n"));
        let head = s.repo.commit(&format!("burst {n}"));
        push_to_remote(&s.repo, &s.remote);
        let body = push_payload("refs/heads/main", &head, "main");
        let signature = sign(&s.secret, &body);
        deliveries.push((format!("burst-{n}"), body, signature, head));
    }
    let mut replies = Vec::new();
    for (delivery, body, signature, _) in &deliveries {
        let reply = hook.send_signed("push", delivery, body, signature);
        assert_eq!(reply.status, 202, "{}", reply.body);
        replies.push(reply.json());
    }
    let ids: std::collections::BTreeSet<String> = replies
        .iter()
        .map(|r| r["job_id"].as_str().unwrap().to_string())
        .collect();
    let coalesced = replies.iter().filter(|r| r["coalesced"] == true).count();
    println!(
        "burst of 3 pushes: {} job(s), {coalesced} coalesced",
        ids.len()
    );
    assert!(
        ids.len() <= 2,
        "at most the running job and one queued: {replies:?}"
    );
    assert_eq!(ids.len() + coalesced, 3, "{replies:?}");
    let last = replies.last().unwrap()["job_id"]
        .as_str()
        .unwrap()
        .to_string();
    let finished = s.server.wait_for_job(&s.key, &last);
    assert_eq!(finished["status"], "succeeded", "{finished}");
    for id in &ids {
        assert_eq!(s.server.wait_for_job(&s.key, id)["status"], "succeeded");
    }
    assert_eq!(search_total(&s.server, &s.key, "burst_marker_3"), 1);
    assert_eq!(search_total(&s.server, &s.key, "burst_marker_2"), 0);
    assert_eq!(jobs(&s.kotadb).len(), before + 1 + ids.len());
}

/// End to end: commit, push to the remote, send the signed push; the new text becomes
/// searchable. Prints the time from webhook sent to searchable for a 10-file push
/// (`KOTADB_WEBHOOK_TEST_FILES` sets the repository's size; default 10,000 files on
/// SQLite, 2,000 on Postgres, whose first full index of 10,000 files takes about 30 s
/// here in a debug build; the push itself is as fast there).
#[test]
fn a_pushed_commit_is_searchable_soon_after_its_webhook() {
    let postgres = std::env::var("KOTADB_TEST_BACKEND").is_ok_and(|b| b == "postgres");
    let files: usize = std::env::var("KOTADB_WEBHOOK_TEST_FILES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if postgres { 2_000 } else { 10_000 });
    let started = Instant::now();
    let s = setup(files);
    let indexed = started.elapsed();
    let hook = Hook {
        server: &s.server,
        repository: s.id.clone(),
        secret: s.secret.clone(),
    };
    let mut times = Vec::new();
    for round in 0..3 {
        for i in 0..10 {
            s.repo.write(
                format!("src/dir{i}/file{i}.rs"),
                format!("pub fn pushed_{round}_{i}() -> u32 {{ {i} }}\n"),
            );
        }
        let head = s.repo.commit(&format!("ten files, round {round}"));
        push_to_remote(&s.repo, &s.remote);
        let body = push_payload("refs/heads/main", &head, "main");
        let signature = sign(&s.secret, &body);
        let sent = Instant::now();
        let reply = hook.send_signed("push", &format!("e2e-{round}"), &body, &signature);
        let answered = sent.elapsed();
        assert_eq!(reply.status, 202, "{}", reply.body);
        wait_searchable(
            &s.server,
            &s.key,
            &format!("pushed_{round}_9"),
            Duration::from_secs(60),
        );
        let took = sent.elapsed();
        assert_eq!(
            search_total(&s.server, &s.key, &format!("pushed_{round}_0")),
            1
        );
        println!(
            "webhook to searchable, 10-file push to {files} files (round {round}): {:.0} ms \
             (webhook answered in {:.1} ms)",
            took.as_secs_f64() * 1000.0,
            answered.as_secs_f64() * 1000.0
        );
        times.push(took);
    }
    println!(
        "{files}-file repository indexed in {:.1} s; webhook to searchable: {:?}",
        indexed.as_secs_f64(),
        times
    );
}
