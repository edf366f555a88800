//! One commit on every surface: while a repository is re-indexed again and again, with each
//! snapshot published 20 ms after its database commit, a symbol search never answers from
//! a commit that code search, asked right after, does not show yet (database answers wait
//! for the published snapshot); and a repository whose saved index and database disagree
//! (a crash between the two) is still answered at once.

mod common;

use common::{GitRepo, Kotadb, Remotes, Server};
use serde_json::json;
use std::time::{Duration, Instant};

#[test]
fn symbols_never_run_ahead_of_code_search_during_re_indexes() {
    let repo = GitRepo::new();
    repo.write("marker_0.rs", "fn marker_0() {}\n");
    repo.commit("0");
    let remotes = Remotes::new();
    let url = remotes.publish(&repo, "moving");
    let bare = url.trim_start_matches("file://").to_string();
    let kotadb = Kotadb::new().git_base_url(remotes.base_url());
    // Each snapshot is published 20 ms after its commit (a hidden test hook), so the
    // moment the database runs ahead of the snapshot is long enough to be hit.
    let server = Server::start_with(&kotadb, &[("KOTADB_FAULT_PUBLISH_DELAY_MS", "20")]);
    let key = server.admin_key();
    let (id, _) = server.register_and_index(&key, &url);

    let rounds = 12;
    let writer = std::thread::spawn({
        let base = server.base.clone();
        let key = key.clone();
        let id = id.clone();
        move || {
            for n in 1..=rounds {
                repo.write(format!("marker_{n}.rs"), format!("fn marker_{n}() {{}}\n"));
                repo.commit(&n.to_string());
                repo.git(["push", "-q", &bare, "main"]);
                let reply = common::http(
                    "POST",
                    &format!("{base}/api/v1/repositories/{id}/index"),
                    &[("Authorization", &format!("Bearer {key}"))],
                    None,
                );
                assert_eq!(reply.status, 202, "{}", reply.body);
                std::thread::sleep(Duration::from_millis(150));
            }
        }
    });

    let deadline = Instant::now() + Duration::from_secs(120);
    let mut highest = 0;
    let mut checks = 0;
    while highest < rounds {
        assert!(Instant::now() < deadline, "the re-indexes did not finish");
        let symbols = server
            .post(
                "/api/v1/symbols/search",
                &key,
                &json!({"pattern": "marker_*", "limit": 1000}),
            )
            .json();
        let newest = symbols["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|r| {
                r["name"]
                    .as_str()?
                    .strip_prefix("marker_")?
                    .parse::<u32>()
                    .ok()
            })
            .max()
            .unwrap_or(0);
        let code = server
            .post(
                "/api/v1/search/code",
                &key,
                &json!({"query": format!("fn marker_{newest}()")}),
            )
            .json();
        assert_eq!(
            code["total"], 1,
            "symbol search showed marker_{newest}, code search right after did not: {code}"
        );
        highest = highest.max(newest);
        checks += 1;
    }
    writer.join().unwrap();
    assert!(
        checks > rounds as usize,
        "too few checks ({checks}) to mean anything"
    );
}

#[test]
fn a_saved_index_behind_the_database_still_gets_an_answer() {
    let repo = GitRepo::new();
    repo.write("a.rs", "fn first() {}\n");
    repo.commit("first");
    let kotadb = Kotadb::new();
    kotadb.index(repo.path());
    let index = kotadb.data_dir().join("index");
    let saved = tempfile::tempdir().unwrap();
    copy_dir(&index, saved.path());
    repo.write("a.rs", "fn second() {}\n");
    repo.commit("second");
    kotadb.index(repo.path());
    // As after a crash between the database commit and the manifest's rename.
    std::fs::remove_dir_all(&index).unwrap();
    copy_dir(saved.path(), &index);

    let started = Instant::now();
    let symbols = kotadb.symbols_json("second");
    assert_eq!(symbols["results"][0]["name"], "second");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "waited {:?}",
        started.elapsed()
    );
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
