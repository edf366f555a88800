//! Every bad input gets a clear error and loses nothing.
//!
//! Bad command lines (missing paths, directories that are not repositories, URLs outside
//! `KOTA_GIT_BASE_URL`, unusable search requests) must fail with a non-zero exit and a
//! one-line message naming the problem, leaving the repositories indexed before intact
//! and searchable. Hostile repository content (huge lines, oversized, binary and
//! non-UTF-8 files, symlinks out of the repository and in loops, odd file names, empty
//! repositories and trees, submodules) must index without error and expose only what a
//! search over the repository's own files should.

mod common;

use common::{GitRepo, Kotadb};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Output;

/// A data directory holding one indexed repository with a known symbol and line.
fn with_baseline() -> (Kotadb, GitRepo) {
    let repo = GitRepo::new();
    repo.write(
        "src/lib.rs",
        "pub fn baseline_marker() -> u32 {\n    42\n}\n",
    );
    repo.commit("baseline");
    let kotadb = Kotadb::new();
    kotadb.index(repo.path());
    (kotadb, repo)
}

/// The registered repositories' git URLs.
fn repository_urls(kotadb: &Kotadb) -> BTreeSet<String> {
    let output = kotadb.cmd_ok(["repositories", "--json"]);
    let value: Value =
        serde_json::from_slice(&output.stdout).expect("repositories --json prints JSON");
    value["repositories"]
        .as_array()
        .expect("a repositories array")
        .iter()
        .map(|r| r["git_url"].as_str().expect("git_url").to_string())
        .collect()
}

/// The database lists exactly the baseline repository, which still answers searches.
#[track_caller]
fn assert_nothing_lost(kotadb: &Kotadb, baseline: &GitRepo) {
    let expected: BTreeSet<String> = [baseline
        .path()
        .canonicalize()
        .unwrap()
        .display()
        .to_string()]
    .into();
    assert_eq!(
        repository_urls(kotadb),
        expected,
        "only the previously indexed repository is registered"
    );
    let found = kotadb.search_json("baseline_marker", &[]);
    assert_eq!(
        paths_lines(&found),
        vec![("src/lib.rs".to_string(), 1)],
        "the baseline still searches: {found}"
    );
    assert!(
        found.get("notice").is_none(),
        "no notice about unindexed repositories: {found}"
    );
    let symbols = symbols(kotadb, "baseline_marker");
    assert_eq!(
        symbols.len(),
        1,
        "the baseline's symbol is still found: {symbols:?}"
    );
}

/// Asserts a failed command: non-zero exit, nothing on stdout, one line on stderr that
/// starts with `kotadb: ` and contains every one of `mentions`. Returns that line.
#[track_caller]
fn assert_clear_error(output: &Output, mentions: &[&str]) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "expected a failure, got success; stderr: {stderr}"
    );
    assert!(
        output.stdout.is_empty(),
        "a failure prints nothing on stdout: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected a one-line error, got: {stderr}");
    let line = lines[0];
    assert!(
        line.starts_with("kotadb: "),
        "error should start with `kotadb: `: {line}"
    );
    for mention in mentions {
        assert!(
            line.contains(mention),
            "error should mention {mention:?}: {line}"
        );
    }
    line.to_string()
}

/// `(path, line)` of every code search result.
fn paths_lines(response: &Value) -> Vec<(String, u64)> {
    response["results"]
        .as_array()
        .expect("a results array")
        .iter()
        .map(|r| {
            (
                r["path"].as_str().unwrap().to_string(),
                r["line"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn result_paths(response: &Value) -> BTreeSet<String> {
    paths_lines(response).into_iter().map(|(p, _)| p).collect()
}

/// `(path, name, kind, line_start)` of every symbol matching `pattern`.
fn symbols(kotadb: &Kotadb, pattern: &str) -> Vec<(String, String, String, u64)> {
    kotadb.symbols_json(pattern)["results"]
        .as_array()
        .expect("a results array")
        .iter()
        .map(|s| {
            (
                s["path"].as_str().unwrap().to_string(),
                s["name"].as_str().unwrap().to_string(),
                s["kind"].as_str().unwrap().to_string(),
                s["line_start"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// `index` summary's file count (`N files`).
fn indexed_file_count(summary: &str) -> u64 {
    let re = regex::Regex::new(r": (\d+) files \(").unwrap();
    re.captures(summary)
        .unwrap_or_else(|| panic!("unexpected summary {summary:?}"))[1]
        .parse()
        .unwrap()
}

// ------------------------------------------------------------------ CLI: what to index

#[test]
fn indexing_a_path_that_does_not_exist_is_refused_and_nothing_is_lost() {
    let (kotadb, baseline) = with_baseline();
    let missing = baseline.path().join("no-such-directory");
    let output = kotadb.cmd([Path::new("index"), missing.as_path()]);
    assert_clear_error(
        &output,
        &[
            "no-such-directory",
            "neither a local git repository nor a git url",
        ],
    );
    assert_nothing_lost(&kotadb, &baseline);
}

#[test]
fn indexing_a_directory_that_is_not_a_git_repository_is_refused_and_nothing_is_lost() {
    let (kotadb, baseline) = with_baseline();
    let plain = tempfile::tempdir().unwrap();
    std::fs::write(plain.path().join("file.rs"), "fn not_in_git() {}\n").unwrap();
    let output = kotadb.cmd([Path::new("index"), plain.path()]);
    let name = plain.path().file_name().unwrap().to_str().unwrap();
    assert_clear_error(&output, &[name, "neither a local git repository"]);
    assert_nothing_lost(&kotadb, &baseline);
    assert!(kotadb.search_json("not_in_git", &[])["results"]
        .as_array()
        .unwrap()
        .is_empty());
}

#[test]
fn a_url_outside_the_git_base_is_refused_and_nothing_is_lost() {
    let (kotadb, baseline) = with_baseline();
    for url in [
        "http://169.254.169.254/x",
        "http://169.254.169.254/latest/meta-data",
        "file:///etc",
        "https://github.com.evil.example/a/b",
        "https://github.com/../etc/passwd",
        "https://user:secret@github.com/a/b",
        "https://github.com/a/b?upload-pack=sh",
        "git@github.com:a/b.git",
        "ssh://github.com/a/b",
    ] {
        let output = kotadb.cmd(["index", url]);
        assert_clear_error(
            &output,
            &["not under the allowed base", "https://github.com"],
        );
        assert_nothing_lost(&kotadb, &baseline);
    }
    assert!(
        !kotadb.data_dir().join("repos").exists(),
        "nothing was cloned or fetched"
    );
}

#[test]
fn file_urls_are_refused_unless_under_a_file_git_base() {
    let parent = tempfile::tempdir().unwrap();
    let (_, baseline) = with_baseline();
    let bare = parent.path().join("project.git");
    let status = std::process::Command::new("git")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .args(["clone", "-q", "--bare"])
        .arg(baseline.path())
        .arg(&bare)
        .status()
        .unwrap();
    assert!(status.success());
    let url = format!("file://{}", bare.display());

    // With the default base, the same URL is refused.
    let refused = Kotadb::new();
    assert_clear_error(
        &refused.cmd(["index", &url]),
        &["not under the allowed base"],
    );

    // Under a file:// base it is cloned (bare, into the data dir) and searchable.
    let base = format!("file://{}", parent.path().display());
    let kotadb = Kotadb::new().git_base_url(&base);
    let summary = kotadb.index(&url);
    assert!(summary.contains("1 files"), "{summary}");
    let found = kotadb.search_json("baseline_marker", &[]);
    assert_eq!(
        paths_lines(&found),
        vec![("src/lib.rs".to_string(), 1)],
        "{found}"
    );
    assert_eq!(repository_urls(&kotadb), [url.clone()].into());

    // Outside the file:// base, or escaping it, is still refused.
    for bad in [
        "file:///etc",
        &format!("{base}/../x.git"),
        &format!("{base}x/project.git"),
    ] {
        assert_clear_error(&kotadb.cmd(["index", bad]), &["not under the allowed base"]);
    }
    // A repository under the base that does not exist: an error, and no leftovers.
    let missing = kotadb.cmd(["index", &format!("{base}/missing.git")]);
    assert_clear_error(&missing, &["missing.git"]);
    assert_eq!(
        repository_urls(&kotadb),
        [url].into(),
        "the failed clone is not registered"
    );
    let clones: Vec<_> = std::fs::read_dir(kotadb.data_dir().join("repos"))
        .unwrap()
        .collect();
    assert_eq!(
        clones.len(),
        1,
        "only the successful clone is kept: {clones:?}"
    );
    assert_eq!(
        paths_lines(&kotadb.search_json("baseline_marker", &[])).len(),
        1
    );
}

#[test]
fn an_empty_repository_without_commits_is_refused_clearly_and_nothing_is_lost() {
    let (kotadb, baseline) = with_baseline();
    let empty = GitRepo::new();
    let output = kotadb.cmd([Path::new("index"), empty.path()]);
    assert_clear_error(&output, &["no commits"]);
    assert_nothing_lost(&kotadb, &baseline);
}

// ------------------------------------------------------------------ CLI: how to search

#[test]
fn searching_with_an_invalid_regex_fails_clearly() {
    let (kotadb, _baseline) = with_baseline();
    let output = kotadb.cmd(["search", "--regex", "--", "("]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.starts_with("kotadb: invalid regex"), "{stderr}");
    assert!(output.stdout.is_empty());
    // The same text as a literal is fine.
    kotadb.search_json("(", &[]);
}

#[test]
fn searching_an_unknown_language_fails_clearly() {
    let (kotadb, _baseline) = with_baseline();
    let output = kotadb.cmd(["search", "--lang", "klingon", "--", "baseline_marker"]);
    assert_clear_error(&output, &["unknown language", "klingon", "rust"]);
}

#[test]
fn searching_for_an_empty_query_fails_clearly() {
    let (kotadb, _baseline) = with_baseline();
    let output = kotadb.cmd(["search", "--", ""]);
    assert_clear_error(&output, &["query is empty"]);
}

#[test]
fn searching_with_limit_zero_fails_clearly() {
    let (kotadb, _baseline) = with_baseline();
    let output = kotadb.cmd(["search", "--limit", "0", "--", "baseline_marker"]);
    assert_clear_error(&output, &["limit must be between 1 and"]);
}

// ------------------------------------------------------------------ hostile repository content

#[test]
fn a_five_megabyte_single_line_file_is_indexed_and_searchable() {
    let repo = GitRepo::new();
    let mut line = "abcdefghij".repeat(500_000);
    line.push_str(" end_of_long_line_marker\n");
    repo.write("minified.js", &line);
    repo.write("small.txt", "small_file_marker\n");
    repo.commit("long line");
    let kotadb = Kotadb::new();
    assert_eq!(indexed_file_count(&kotadb.index(repo.path())), 2);
    let found = kotadb.search_json("end_of_long_line_marker", &[]);
    assert_eq!(
        paths_lines(&found),
        vec![("minified.js".to_string(), 1)],
        "{}",
        &found.to_string()[..300.min(found.to_string().len())]
    );
    let text = found["results"][0]["text"].as_str().unwrap();
    assert!(
        text.contains("end_of_long_line_marker"),
        "the shown text includes the match"
    );
    assert!(
        text.len() < 10_000,
        "a 5 MB line is cut for display, got {} bytes",
        text.len()
    );
    assert_eq!(
        paths_lines(&kotadb.search_json("small_file_marker", &[])),
        vec![("small.txt".to_string(), 1)]
    );
}

#[test]
fn files_over_the_size_limit_are_not_searchable_but_the_others_are() {
    let repo = GitRepo::new();
    repo.write(
        "big.rs",
        format!(
            "pub fn oversized_marker() {{}}\n{}\n",
            "// padding\n".repeat(200)
        ),
    );
    repo.write("small.rs", "pub fn small_marker() {}\n");
    repo.write(
        "exact.txt",
        format!("exact_marker{}\n", "x".repeat(1000 - 13)),
    );
    repo.commit("sizes");
    assert_eq!(
        std::fs::metadata(repo.path().join("exact.txt"))
            .unwrap()
            .len(),
        1000
    );
    let kotadb = Kotadb::new();
    let output = kotadb
        .command()
        .env("KOTADB_MAX_FILE_BYTES", "1000")
        .arg("index")
        .arg(repo.path())
        .output()
        .unwrap();
    common::assert_success("index with KOTADB_MAX_FILE_BYTES=1000", &output);
    assert_eq!(
        indexed_file_count(&String::from_utf8_lossy(&output.stdout)),
        3,
        "the big file is recorded"
    );
    assert!(kotadb.search_json("oversized_marker", &[])["results"]
        .as_array()
        .unwrap()
        .is_empty());
    assert!(
        symbols(&kotadb, "oversized_marker").is_empty(),
        "an oversized file is not parsed"
    );
    assert_eq!(
        paths_lines(&kotadb.search_json("small_marker", &[])),
        vec![("small.rs".to_string(), 1)]
    );
    assert_eq!(
        paths_lines(&kotadb.search_json("exact_marker", &[])),
        vec![("exact.txt".to_string(), 1)]
    );
    assert_eq!(symbols(&kotadb, "small_marker").len(), 1);
}

#[test]
fn binary_files_are_not_searchable_and_do_not_break_indexing() {
    let repo = GitRepo::new();
    repo.write(
        "image.png",
        b"\x89PNG\r\n\x1a\n\x00\x00binary_marker\x00\xff\xfe".as_slice(),
    );
    repo.write(
        "blob.rs",
        b"\x00pub fn binary_symbol() {}\nbinary_marker\n".as_slice(),
    );
    repo.write("text.txt", "text_marker binary_marker_not\n");
    repo.commit("binary");
    let kotadb = Kotadb::new();
    assert_eq!(indexed_file_count(&kotadb.index(repo.path())), 3);
    let found = kotadb.search_json("binary_marker", &[]);
    assert_eq!(
        result_paths(&found),
        ["text.txt".to_string()].into(),
        "{found}"
    );
    assert!(
        symbols(&kotadb, "binary_symbol").is_empty(),
        "binary files are not parsed"
    );
}

#[test]
fn latin1_text_is_searchable_by_its_ascii_parts() {
    let repo = GitRepo::new();
    repo.write("latin1.txt", b"caf\xe9 latin1_marker na\xefve\n".as_slice());
    repo.commit("latin-1");
    let kotadb = Kotadb::new();
    kotadb.index(repo.path());
    let found = kotadb.search_json("latin1_marker", &[]);
    assert_eq!(
        paths_lines(&found),
        vec![("latin1.txt".to_string(), 1)],
        "{found}"
    );
    let text = found["results"][0]["text"].as_str().unwrap();
    assert_eq!(
        text, "caf\u{FFFD} latin1_marker na\u{FFFD}ve",
        "shown as lossy UTF-8"
    );
}

#[test]
fn invalid_utf8_in_a_source_file_keeps_its_symbols() {
    let repo = GitRepo::new();
    repo.write(
        "src/bad.rs",
        b"// caf\xe9 \xff\xfe broken bytes\npub fn after_invalid_bytes() -> u8 {\n    let _s = \"\xc3\x28\";\n    1\n}\n\npub struct AlsoFoundAfterBadBytes;\n"
            .as_slice(),
    );
    repo.commit("invalid utf-8");
    let kotadb = Kotadb::new();
    kotadb.index(repo.path());
    let found = symbols(&kotadb, "after_invalid_bytes");
    assert!(
        found
            .iter()
            .any(|(p, n, _, l)| p == "src/bad.rs" && n == "after_invalid_bytes" && *l == 2),
        "{found:?}"
    );
    let found = symbols(&kotadb, "AlsoFoundAfterBadBytes");
    assert!(
        found
            .iter()
            .any(|(p, _, _, l)| p == "src/bad.rs" && *l == 7),
        "{found:?}"
    );
    assert_eq!(
        paths_lines(&kotadb.search_json("after_invalid_bytes", &[])),
        vec![("src/bad.rs".to_string(), 2)]
    );
}

#[test]
fn a_symlink_to_etc_passwd_never_exposes_its_content() {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    assert!(
        passwd.contains("root:x:0:0"),
        "this test needs an /etc/passwd with a root entry"
    );
    let repo = GitRepo::new();
    repo.symlink("passwd", "/etc/passwd");
    repo.symlink("config/users.txt", "../../../../../../../../etc/passwd");
    repo.write("readme.txt", "symlink_test_marker\n");
    repo.commit("links out of the repository");
    let kotadb = Kotadb::new();
    assert_eq!(
        indexed_file_count(&kotadb.index(repo.path())),
        1,
        "symlinks are not indexed files"
    );
    for query in ["root:x:0:0", "root:"] {
        let found = kotadb.search_json(query, &[]);
        assert!(
            found["results"].as_array().unwrap().is_empty(),
            "{query}: {found}"
        );
        assert_eq!(found["total"], 0);
    }
    assert_eq!(
        paths_lines(&kotadb.search_json("symlink_test_marker", &[])).len(),
        1
    );
}

#[test]
fn a_symlink_loop_is_indexed_without_error() {
    let repo = GitRepo::new();
    repo.symlink("loop_a", "loop_b");
    repo.symlink("loop_b", "loop_a");
    repo.symlink("self", "self");
    repo.symlink("dir/up", "..");
    repo.write("dir/real.txt", "loop_test_marker\n");
    repo.commit("loops");
    let kotadb = Kotadb::new();
    assert_eq!(indexed_file_count(&kotadb.index(repo.path())), 1);
    assert_eq!(
        paths_lines(&kotadb.search_json("loop_test_marker", &[])),
        vec![("dir/real.txt".to_string(), 1)]
    );
}

#[test]
fn unusual_file_names_are_indexed_and_reported_exactly() {
    let long = format!("{}.txt", "l".repeat(196));
    assert_eq!(long.len(), 200);
    let names = [
        "with\nnewline.txt".to_string(),
        "with space.txt".to_string(),
        "ünïcödé/文件 名.txt".to_string(),
        "-leading-dash.txt".to_string(),
        "--help".to_string(),
        "tab\there.txt".to_string(),
        "quote\"and'apostrophe.txt".to_string(),
        "colon:name.txt".to_string(),
        long,
    ];
    let repo = GitRepo::new();
    for name in &names {
        repo.write(name, "odd_name_marker\n");
    }
    repo.commit("odd names");
    let kotadb = Kotadb::new();
    assert_eq!(
        indexed_file_count(&kotadb.index(repo.path())),
        names.len() as u64
    );
    let found = kotadb.search_json("odd_name_marker", &[]);
    let expected: BTreeSet<String> = names.iter().cloned().collect();
    assert_eq!(result_paths(&found), expected);
    assert!(paths_lines(&found).iter().all(|(_, line)| *line == 1));
}

#[test]
fn a_repository_whose_head_is_an_empty_tree_indexes_zero_files() {
    let repo = GitRepo::new();
    repo.commit("nothing at all");
    let kotadb = Kotadb::new();
    let summary = kotadb.index(repo.path());
    assert_eq!(indexed_file_count(&summary), 0, "{summary}");
    let found = kotadb.search_json("anything", &[]);
    assert!(found["results"].as_array().unwrap().is_empty(), "{found}");
    for letter in ["a", "e", "i", "o", "u", "_"] {
        assert!(symbols(&kotadb, letter).is_empty());
    }
    // A later commit with files indexes them.
    repo.write("a.rs", "fn later_marker() {}\n");
    repo.commit("files");
    assert_eq!(indexed_file_count(&kotadb.index(repo.path())), 1);
    assert_eq!(
        paths_lines(&kotadb.search_json("later_marker", &[])),
        vec![("a.rs".to_string(), 1)]
    );
}

#[test]
fn a_submodule_entry_is_skipped_without_error() {
    let repo = GitRepo::new();
    repo.write("main.rs", "fn submodule_test_marker() {}\n");
    let first = repo.commit("first");
    repo.git([
        "update-index",
        "--add",
        "--cacheinfo",
        &format!("160000,{first},sub"),
    ]);
    repo.git([
        "update-index",
        "--add",
        "--cacheinfo",
        &format!("160000,{first},nested/dir/sub2"),
    ]);
    // Not `repo.commit`: `git add -A` would stage the gitlinks' missing directories away.
    repo.git(["commit", "-q", "--no-verify", "-m", "submodules"]);
    let tree = String::from_utf8(repo.git(["ls-tree", "-r", "HEAD"]).stdout).unwrap();
    assert!(
        tree.contains("160000 commit") && tree.contains("\tsub\n"),
        "{tree}"
    );
    let kotadb = Kotadb::new();
    assert_eq!(
        indexed_file_count(&kotadb.index(repo.path())),
        1,
        "the gitlinks are not files"
    );
    let found = kotadb.search_json("submodule_test_marker", &[]);
    assert_eq!(paths_lines(&found), vec![("main.rs".to_string(), 1)]);
    assert!(kotadb.search_json(&first, &[])["results"]
        .as_array()
        .unwrap()
        .is_empty());
    // Removing a submodule again is an ordinary incremental update.
    repo.git(["rm", "-q", "--cached", "sub"]);
    repo.git(["commit", "-q", "--no-verify", "-m", "drop submodule"]);
    assert_eq!(indexed_file_count(&kotadb.index(repo.path())), 1);
}

#[test]
fn an_empty_symbol_pattern_or_a_zero_limit_is_refused_clearly() {
    let kotadb = Kotadb::new();
    let empty = kotadb.cmd(["search", "--symbols", "--json", "--", ""]);
    assert_clear_error(&empty, &["pattern is empty"]);
    let zero = kotadb.cmd(["search", "--symbols", "--json", "--limit", "0", "--", "x"]);
    assert_clear_error(&zero, &["limit must be between 1 and"]);
}
