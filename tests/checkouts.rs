//! `kotadb index` indexes what the user has: a local repository's checked-out HEAD
//! (a clone's own commits, another branch, a detached head), a branch, tag or commit id
//! given with `--branch`, and for a URL the remote's tracked branch after a fetch.

mod common;

use common::{GitRepo, Kotadb, Remotes};

/// The paths of every result of a literal search.
fn hits(kotadb: &Kotadb, query: &str) -> Vec<String> {
    let body = kotadb.search_json(query, &[]);
    body["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["path"].as_str().expect("path").to_string())
        .collect()
}

/// An upstream repository with one commit on `main`, and a clone of it.
fn upstream_and_clone() -> (GitRepo, GitRepo) {
    let upstream = GitRepo::new();
    upstream.write("README.md", "upstream_marker\n");
    upstream.commit("upstream");
    let clone = GitRepo::clone_of(&upstream);
    (upstream, clone)
}

#[test]
fn a_clone_is_indexed_at_its_checked_out_head_with_local_commits() {
    let (_upstream, clone) = upstream_and_clone();
    clone.write("local.rs", "fn local_commit_marker() {}\n");
    let head = clone.commit("local work, not pushed");

    let kotadb = Kotadb::new();
    let printed = kotadb.index(clone.path());
    assert!(
        printed.contains(&head[..12]),
        "indexed another commit: {printed}"
    );
    assert_eq!(hits(&kotadb, "local_commit_marker"), ["local.rs"]);
    let symbols = kotadb.symbols_json("local_commit_marker");
    assert_eq!(symbols["results"][0]["path"], "local.rs");
}

#[test]
fn a_checked_out_branch_and_a_detached_head_are_what_gets_indexed() {
    let (_upstream, clone) = upstream_and_clone();
    clone.git(["checkout", "-q", "-b", "feature"]);
    clone.write("feature.txt", "feature_branch_marker\n");
    let feature = clone.commit("feature");
    let kotadb = Kotadb::new();
    kotadb.index(clone.path());
    assert_eq!(hits(&kotadb, "feature_branch_marker"), ["feature.txt"]);

    // Detached at the first commit: the feature file is gone again.
    clone.git(["checkout", "-q", "--detach", "HEAD~1"]);
    kotadb.index(clone.path());
    assert!(hits(&kotadb, "feature_branch_marker").is_empty());
    assert_eq!(hits(&kotadb, "upstream_marker"), ["README.md"]);

    // And back.
    clone.git(["checkout", "-q", &feature]);
    kotadb.index(clone.path());
    assert_eq!(hits(&kotadb, "feature_branch_marker"), ["feature.txt"]);
}

#[test]
fn branch_accepts_names_full_refs_tags_and_commit_ids() {
    let repo = GitRepo::new();
    repo.write("a.txt", "first_commit_marker\n");
    let first = repo.commit("first");
    repo.git(["tag", "v1"]);
    repo.git(["checkout", "-q", "-b", "other"]);
    repo.write("a.txt", "other_branch_marker\n");
    repo.commit("other");
    repo.git(["checkout", "-q", "main"]);
    repo.write("a.txt", "main_marker\n");
    repo.commit("main");

    for (revision, marker) in [
        ("other", "other_branch_marker"),
        ("refs/heads/other", "other_branch_marker"),
        ("v1", "first_commit_marker"),
        ("refs/tags/v1", "first_commit_marker"),
        (first.as_str(), "first_commit_marker"),
        (&first[..10], "first_commit_marker"),
    ] {
        let kotadb = Kotadb::new();
        kotadb.cmd_ok(["index", repo.path().to_str().unwrap(), "--branch", revision]);
        assert_eq!(hits(&kotadb, marker), ["a.txt"], "--branch {revision}");
    }
    let kotadb = Kotadb::new();
    let output = kotadb.cmd([
        "index",
        repo.path().to_str().unwrap(),
        "--branch",
        "no-such-branch",
    ]);
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("no-such-branch"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn a_remote_url_is_fetched_and_its_tracked_branch_indexed() {
    let repo = GitRepo::new();
    repo.write("a.txt", "remote_first_marker\n");
    repo.commit("first");
    repo.git(["tag", "release"]);
    repo.git(["checkout", "-q", "-b", "dev"]);
    repo.write("a.txt", "remote_dev_marker\n");
    repo.commit("dev");
    repo.git(["checkout", "-q", "main"]);
    let remotes = Remotes::new();
    let url = remotes.publish(&repo, "project");

    let kotadb = Kotadb::new().git_base_url(remotes.base_url());
    kotadb.index(&url);
    assert_eq!(hits(&kotadb, "remote_first_marker"), ["a.txt"]);

    let dev = Kotadb::new().git_base_url(remotes.base_url());
    dev.cmd_ok(["index", &url, "--branch", "refs/heads/dev"]);
    assert_eq!(hits(&dev, "remote_dev_marker"), ["a.txt"]);

    let tag = Kotadb::new().git_base_url(remotes.base_url());
    tag.cmd_ok(["index", &url, "--branch", "release"]);
    assert_eq!(hits(&tag, "remote_first_marker"), ["a.txt"]);
}
