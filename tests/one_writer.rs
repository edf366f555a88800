//! One writer per data directory: `kotadb index` beside a running `kotadb serve` (or a
//! second `serve`) is refused at once with a message naming the running process, and the
//! server keeps answering from one commit on every surface.

mod common;

use common::{GitRepo, Kotadb, Server};
use serde_json::json;
use std::time::{Duration, Instant};

#[test]
fn index_beside_a_running_server_is_refused_and_changes_nothing() {
    let repo = GitRepo::new();
    repo.write("a.rs", "fn first_version() {}\n");
    repo.commit("first");
    let kotadb = Kotadb::new();
    kotadb.index(repo.path());
    let server = Server::start(&kotadb);
    let key = server.admin_key();

    repo.write("a.rs", "fn second_version() {}\n");
    repo.commit("second");
    let started = Instant::now();
    let output = kotadb.cmd(["index", repo.path().to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "a second writer ran: {stderr}");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(
        stderr.contains(&format!("kotadb serve (pid {})", server.pid()))
            && stderr.contains(&server.base),
        "the refusal does not name the server: {stderr}"
    );

    // Every surface still answers from the first commit.
    let code = |q: &str| {
        server
            .post("/api/v1/search/code", &key, &json!({ "query": q }))
            .json()["total"]
            .clone()
    };
    let symbols = |p: &str| {
        server
            .post("/api/v1/symbols/search", &key, &json!({ "pattern": p }))
            .json()["results"]
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(code("first_version"), 1);
    assert_eq!(code("second_version"), 0);
    assert_eq!(symbols("first_version"), 1);
    assert_eq!(symbols("second_version"), 0);
    let listed = server.get("/api/v1/repositories", &key).json();
    let row = &listed["repositories"][0];
    assert_eq!(
        row["last_indexed_commit"].as_str().unwrap(),
        repo.git(["rev-parse", "HEAD~1"])
            .stdout
            .iter()
            .map(|&b| b as char)
            .collect::<String>()
            .trim()
    );

    // A second server on the same data directory is refused too.
    let second = kotadb.cmd(["serve", "--port", "0"]);
    assert!(!second.status.success());
    assert!(String::from_utf8_lossy(&second.stderr).contains("in use by kotadb serve"));

    // Once the server is gone the data directory is free again.
    drop(server);
    kotadb.index(repo.path());
    assert_eq!(kotadb.search_json("second_version", &[])["total"], 1);
}
