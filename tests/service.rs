//! The HTTP service end to end, against the real `kotadb serve` binary (driven with curl,
//! see `common::Server`): registering and indexing a local git repository over REST and
//! the exact answers of every query endpoint; the error contract (status + JSON shape,
//! nothing created by a rejected request); tenancy between organizations; crash
//! isolation of a panicking repository; load shedding; rate limits; /openapi.json,
//! /health and /metrics; graceful shutdown and restart on the same data directory.

mod common;

use common::{GitRepo, Kotadb, Remotes, Reply, Server};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// A small repository in three languages with known symbols, calls and imports:
/// Rust `src/lib.rs -> src/parser.rs`, TypeScript `web/app.ts -> web/util.ts ->
/// web/lib/constants.ts`, Python `py/tokens.py -> py/parser_py.py`.
fn fixture_repo() -> GitRepo {
    let repo = GitRepo::new();
    repo.write(
        "src/lib.rs",
        "mod parser;\n\npub use parser::Parser;\n\npub fn parse_all(input: &str) -> Vec<String> {\n    let parser = Parser::new();\n    parser.tokens(input)\n}\n",
    );
    repo.write(
        "src/parser.rs",
        "pub struct Parser {\n    strict: bool,\n}\n\nimpl Parser {\n    pub fn new() -> Parser {\n        Parser { strict: true }\n    }\n\n    pub fn tokens(&self, input: &str) -> Vec<String> {\n        input.split_whitespace().map(String::from).collect()\n    }\n}\n\npub struct ParserConfig;\n",
    );
    repo.write(
        "web/app.ts",
        "import { formatName } from \"./util\";\n\nexport function greet(name: string): string {\n  return formatName(name);\n}\n",
    );
    repo.write(
        "web/util.ts",
        "import { GREETING } from \"./lib/constants\";\n\nexport function formatName(name: string): string {\n  return GREETING + \", \" + name;\n}\n",
    );
    repo.write(
        "web/lib/constants.ts",
        "export const GREETING = \"Hello\";\n",
    );
    repo.write(
        "py/tokens.py",
        "from .parser_py import Parser\n\n\ndef parse_all(text):\n    \"\"\"Parse every token in text.\"\"\"\n    return Parser().tokens(text)\n",
    );
    repo.write(
        "py/parser_py.py",
        "class Parser:\n    def tokens(self, text):\n        return text.split()\n",
    );
    repo.write("NOTES.md", "Parser notes: the PARSER handles tokens.\n");
    repo.commit("fixture");
    repo
}

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

/// A running server (with `env`) whose admin has indexed the fixture repository.
struct Indexed {
    // Field order = drop order: the server stops before its directories go.
    server: Server,
    kotadb: Kotadb,
    remotes: Remotes,
    admin: String,
    repository_id: String,
    job_id: String,
}

fn indexed_fixture(env: &[(&str, &str)]) -> Indexed {
    let remotes = Remotes::new();
    let git_url = remotes.publish(&fixture_repo(), "fixture");
    let kotadb = Kotadb::new().git_base_url(remotes.base_url());
    let server = Server::start_with(&kotadb, env);
    let admin = server.admin_key();
    let (repository_id, job_id) = server.register_and_index(&admin, &git_url);
    Indexed {
        server,
        kotadb,
        remotes,
        admin,
        repository_id,
        job_id,
    }
}

impl Indexed {
    #[track_caller]
    fn ok(&self, reply: Reply) -> Value {
        assert_eq!(
            reply.status,
            200,
            "{}\n--- server stderr\n{}",
            reply.body,
            self.server.stderr()
        );
        reply.json()
    }

    /// `POST /api/v1/search/code` as the admin, asserting 200.
    #[track_caller]
    fn search(&self, body: Value) -> Value {
        self.ok(self.server.post("/api/v1/search/code", &self.admin, &body))
    }

    #[track_caller]
    fn post_ok(&self, path: &str, body: Value) -> Value {
        self.ok(self.server.post(path, &self.admin, &body))
    }
}

/// `(path, line, column)` of every code search result.
fn hits(response: &Value) -> Vec<(String, u64, u64)> {
    response["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results array: {response}"))
        .iter()
        .map(|r| {
            (
                r["path"].as_str().unwrap().to_string(),
                r["line"].as_u64().unwrap(),
                r["column"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn hit(path: &str, line: u64, column: u64) -> (String, u64, u64) {
    (path.to_string(), line, column)
}

/// `(path, depth, direction)` of a dependencies answer.
fn deps(response: &Value) -> BTreeSet<(String, u64, String)> {
    response["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results array: {response}"))
        .iter()
        .map(|r| {
            (
                r["path"].as_str().unwrap().to_string(),
                r["depth"].as_u64().unwrap(),
                r["direction"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn dep(path: &str, depth: u64, direction: &str) -> (String, u64, String) {
    (path.to_string(), depth, direction.to_string())
}

/// Asserts the error contract: this status and `{"error": {"code", "message"}}`.
#[track_caller]
fn assert_error(reply: &Reply, status: u16, what: &str) -> Value {
    assert_eq!(reply.status, status, "{what}: {}", reply.body);
    let body = reply.json();
    assert!(
        body["error"]["code"]
            .as_str()
            .is_some_and(|c| !c.is_empty())
            && body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
        "{what}: not the JSON error shape: {body}"
    );
    assert!(
        reply.content_type.starts_with("application/json"),
        "{what}: content type {:?}",
        reply.content_type
    );
    body
}

/// The ids of `GET /api/v1/repositories` for `key`.
fn repository_ids(server: &Server, key: &str) -> Vec<String> {
    let reply = server.get("/api/v1/repositories", key);
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()["repositories"]
        .as_array()
        .unwrap_or_else(|| panic!("no repositories array: {}", reply.body))
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

/// `kotadb jobs --json` on the server's data directory (SQLite in WAL mode allows it).
fn job_count(kotadb: &Kotadb) -> usize {
    let output = kotadb.cmd_ok(["jobs", "--json", "--limit", "1000"]);
    let value: Value = serde_json::from_slice(&output.stdout).expect("jobs --json prints JSON");
    value["jobs"].as_array().expect("a jobs array").len()
}

/// `kotadb keys create --tier TIER --org ORG` against the same data dir: the new key.
fn create_key(kotadb: &Kotadb, tier: &str, org: &str) -> String {
    let output = kotadb.cmd_ok(["keys", "create", "--tier", tier, "--org", org]);
    let key = String::from_utf8_lossy(&output.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .trim()
        .to_string();
    assert!(
        key.starts_with(&format!("kota_{tier}_")),
        "no key printed: {key:?}"
    );
    key
}

#[test]
fn registering_a_repository_queues_an_index_job_that_succeeds() {
    let remotes = Remotes::new();
    let git_url = remotes.publish(&fixture_repo(), "fixture");
    let kotadb = Kotadb::new().git_base_url(remotes.base_url());
    let server = Server::start(&kotadb);
    let admin = server.admin_key();

    let created = server.register(&admin, &git_url);
    let id = created["id"].as_str().expect("id");
    assert!(uuid_like(id), "{created}");
    assert_eq!(created["git_url"], git_url.as_str(), "{created}");
    assert_eq!(created["name"], "fixture", "{created}");
    assert_eq!(
        created["webhook_url"],
        server.url(&format!("/webhooks/github/{id}")).as_str(),
        "{created}"
    );
    assert!(
        created["webhook_secret"]
            .as_str()
            .is_some_and(|s| s.len() >= 32),
        "{created}"
    );
    let job_id = created["job_id"].as_str().expect("job_id");
    let job = server.wait_for_job(&admin, job_id);
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["id"], job_id, "{job}");
    assert_eq!(job["repository_id"], id, "{job}");
    for field in [
        "job_type",
        "attempts",
        "queued_at",
        "started_at",
        "finished_at",
    ] {
        assert!(!job[field].is_null(), "job has no {field}: {job}");
    }
    // The secret is shown once: never in GET.
    let fetched = server.get(&format!("/api/v1/repositories/{id}"), &admin);
    assert_eq!(fetched.status, 200, "{}", fetched.body);
    assert!(
        fetched.json().get("webhook_secret").is_none(),
        "{}",
        fetched.body
    );
}

fn uuid_like(s: &str) -> bool {
    s.len() == 36 && s.chars().filter(|&c| c == '-').count() == 4
}

#[test]
fn code_search_answers_exactly() {
    let f = indexed_fixture(&[]);
    let all_parser = vec![
        hit("NOTES.md", 1, 1),
        hit("py/parser_py.py", 1, 7),
        hit("py/tokens.py", 1, 24),
        hit("py/tokens.py", 6, 12),
        hit("src/lib.rs", 3, 17),
        hit("src/lib.rs", 6, 18),
        hit("src/parser.rs", 1, 12),
        hit("src/parser.rs", 5, 6),
        hit("src/parser.rs", 6, 21),
        hit("src/parser.rs", 7, 9),
        hit("src/parser.rs", 15, 12),
    ];

    // Literal: every matching line, 1-based line and column, text and repository id.
    let found = f.search(json!({"query": "Parser"}));
    assert_eq!(hits(&found), all_parser, "{found}");
    assert_eq!(found["total"], 11, "{found}");
    assert_eq!(found["truncated"], false, "{found}");
    assert!(found["took_ms"].is_number(), "{found}");
    assert_eq!(
        found["results"][0]["text"],
        "Parser notes: the PARSER handles tokens."
    );
    assert_eq!(
        found["results"][0]["repository_id"],
        f.repository_id.as_str()
    );

    // Case-insensitive also finds `parser`, `PARSER` and `parse_all` is not a match.
    let found = f.search(json!({"query": "parser", "case_sensitive": false}));
    assert_eq!(
        hits(&found),
        vec![
            hit("NOTES.md", 1, 1),
            hit("py/parser_py.py", 1, 7),
            hit("py/tokens.py", 1, 7),
            hit("py/tokens.py", 6, 12),
            hit("src/lib.rs", 1, 5),
            hit("src/lib.rs", 3, 9),
            hit("src/lib.rs", 6, 9),
            hit("src/lib.rs", 7, 5),
            hit("src/parser.rs", 1, 12),
            hit("src/parser.rs", 5, 6),
            hit("src/parser.rs", 6, 21),
            hit("src/parser.rs", 7, 9),
            hit("src/parser.rs", 15, 12),
        ],
        "{found}"
    );

    // Regex.
    let found = f.search(json!({"query": r"fn \w+\(", "regex": true}));
    assert_eq!(
        hits(&found),
        vec![
            hit("src/lib.rs", 5, 5),
            hit("src/parser.rs", 6, 9),
            hit("src/parser.rs", 10, 9),
        ],
        "{found}"
    );

    // Path glob and language filters.
    let found = f.search(json!({"query": "Parser", "path": "src/**"}));
    assert_eq!(hits(&found), all_parser[4..].to_vec(), "{found}");
    let found = f.search(json!({"query": "Parser", "language": "python"}));
    assert_eq!(hits(&found), all_parser[1..4].to_vec(), "{found}");

    // Limit: the first results, the full total, truncated.
    let found = f.search(json!({"query": "Parser", "limit": 2}));
    assert_eq!(hits(&found), all_parser[..2].to_vec(), "{found}");
    assert_eq!(found["total"], 11, "{found}");
    assert_eq!(found["truncated"], true, "{found}");

    // Scoped to the repository by id.
    let found = f.search(json!({"query": "GREETING", "repository": f.repository_id}));
    assert_eq!(
        hits(&found),
        vec![
            hit("web/lib/constants.ts", 1, 14),
            hit("web/util.ts", 1, 10),
            hit("web/util.ts", 4, 10),
        ],
        "{found}"
    );
}

#[test]
fn symbol_search_ranks_exact_matches_first_and_filters_by_kind() {
    let f = indexed_fixture(&[]);
    let found = f.post_ok("/api/v1/symbols/search", json!({"pattern": "Parser"}));
    let results = found["results"].as_array().expect("results");
    let shape = |r: &Value| {
        (
            r["name"].as_str().unwrap().to_string(),
            r["kind"].as_str().unwrap().to_string(),
            r["path"].as_str().unwrap().to_string(),
            r["line_start"].as_u64().unwrap(),
            r["line_end"].as_u64().unwrap(),
        )
    };
    let first_two: BTreeSet<_> = results.iter().take(2).map(shape).collect();
    assert_eq!(
        first_two,
        BTreeSet::from([
            (
                "Parser".into(),
                "class".into(),
                "py/parser_py.py".into(),
                1,
                3
            ),
            (
                "Parser".into(),
                "struct".into(),
                "src/parser.rs".into(),
                1,
                3
            ),
        ]),
        "the exact matches come first: {found}"
    );
    assert!(
        results[2..].iter().any(|r| r["name"] == "ParserConfig"),
        "a prefix match follows: {found}"
    );
    assert!(
        results
            .iter()
            .all(|r| r["repository_id"] == f.repository_id.as_str()),
        "{found}"
    );

    let found = f.post_ok(
        "/api/v1/symbols/search",
        json!({"pattern": "parse_all", "kind": "function"}),
    );
    let got: BTreeSet<_> = found["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(shape)
        .collect();
    assert_eq!(
        got,
        BTreeSet::from([
            (
                "parse_all".into(),
                "function".into(),
                "py/tokens.py".into(),
                4,
                6
            ),
            (
                "parse_all".into(),
                "function".into(),
                "src/lib.rs".into(),
                5,
                8
            ),
        ]),
        "{found}"
    );
    let found = f.post_ok(
        "/api/v1/symbols/search",
        json!({"pattern": "Parser", "kind": "class"}),
    );
    let got: Vec<_> = found["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(shape)
        .collect();
    assert_eq!(
        got,
        vec![(
            "Parser".into(),
            "class".into(),
            "py/parser_py.py".into(),
            1,
            3
        )],
        "{found}"
    );
}

#[test]
fn references_list_every_import_and_call() {
    let f = indexed_fixture(&[]);
    let found = f.post_ok(
        "/api/v1/references",
        json!({"symbol": "formatName", "repository": f.repository_id}),
    );
    let got: Vec<(String, u64, u64, String)> = found["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            assert_eq!(r["repository_id"], f.repository_id.as_str(), "{found}");
            (
                r["path"].as_str().unwrap().to_string(),
                r["line"].as_u64().unwrap(),
                r["column"].as_u64().unwrap(),
                r["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("web/app.ts".into(), 1, 10, "import".into()),
            ("web/app.ts".into(), 4, 10, "call".into()),
        ],
        "{found}"
    );
}

#[test]
fn dependencies_walk_both_directions_to_the_asked_depth() {
    let f = indexed_fixture(&[]);
    let ask = |path: &str, direction: &str, depth: u32| {
        deps(&f.post_ok(
            "/api/v1/dependencies",
            json!({"repository": f.repository_id, "path": path, "direction": direction, "depth": depth}),
        ))
    };
    assert_eq!(
        ask("web/app.ts", "dependencies", 2),
        BTreeSet::from([
            dep("web/util.ts", 1, "dependency"),
            dep("web/lib/constants.ts", 2, "dependency"),
        ])
    );
    assert_eq!(
        ask("web/app.ts", "dependencies", 1),
        BTreeSet::from([dep("web/util.ts", 1, "dependency")])
    );
    assert_eq!(
        ask("web/lib/constants.ts", "dependents", 2),
        BTreeSet::from([
            dep("web/util.ts", 1, "dependent"),
            dep("web/app.ts", 2, "dependent"),
        ])
    );
    assert_eq!(
        ask("web/util.ts", "both", 2),
        BTreeSet::from([
            dep("web/lib/constants.ts", 1, "dependency"),
            dep("web/app.ts", 1, "dependent"),
        ])
    );
    assert_eq!(
        ask("src/lib.rs", "both", 2),
        BTreeSet::from([dep("src/parser.rs", 1, "dependency")])
    );
    assert_eq!(
        ask("py/parser_py.py", "dependents", 2),
        BTreeSet::from([dep("py/tokens.py", 1, "dependent")])
    );
}

#[test]
fn repositories_can_be_listed_fetched_reindexed_and_deleted() {
    let f = indexed_fixture(&[]);
    let (server, admin, id) = (&f.server, f.admin.as_str(), f.repository_id.as_str());

    assert_eq!(repository_ids(server, admin), vec![id.to_string()]);
    let fetched = f.ok(server.get(&format!("/api/v1/repositories/{id}"), admin));
    assert_eq!(fetched["id"], id);
    assert_eq!(fetched["name"], "fixture");
    assert!(fetched["last_indexed_commit"].is_string(), "{fetched}");

    let reply = server.request(
        "POST",
        &format!("/api/v1/repositories/{id}/index"),
        Some(admin),
        None,
    );
    assert_eq!(reply.status, 202, "{}", reply.body);
    let job_id = reply.json()["job_id"].as_str().expect("job_id").to_string();
    assert_ne!(job_id, f.job_id);
    let job = server.wait_for_job(admin, &job_id);
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(hits(&f.search(json!({"query": "ParserConfig"}))).len(), 1);

    let reply = server.delete(&format!("/api/v1/repositories/{id}"), admin);
    assert!(reply.status == 204 || reply.status == 200, "{}", reply.body);
    assert_error(
        &server.get(&format!("/api/v1/repositories/{id}"), admin),
        404,
        "GET after DELETE",
    );
    assert_error(
        &server.delete(&format!("/api/v1/repositories/{id}"), admin),
        404,
        "DELETE twice",
    );
    assert!(repository_ids(server, admin).is_empty());
    let found = f.search(json!({"query": "Parser"}));
    assert_eq!(
        hits(&found),
        vec![],
        "a deleted repository is not searched: {found}"
    );
    let found = f.post_ok("/api/v1/symbols/search", json!({"pattern": "Parser"}));
    assert_eq!(found["results"], json!([]), "{found}");
    assert_error(
        &server.post(
            "/api/v1/search/code",
            admin,
            &json!({"query": "Parser", "repository": id}),
        ),
        404,
        "search scoped to a deleted repository",
    );
}

#[test]
fn requests_without_a_valid_key_get_401() {
    let f = indexed_fixture(&[]);
    let server = &f.server;
    let search = json!({"query": "Parser"}).to_string();
    let id_part = f.admin.split('_').nth(2).expect("kota_team_ID_SECRET");
    let wrong_secret = format!("kota_team_{id_part}_{}", "0".repeat(64));
    for (what, key) in [
        ("no key", None),
        ("malformed key", Some("not-a-kotadb-key")),
        (
            "wrong tier prefix",
            Some(&*format!("kota_free_{id_part}_{}", "0".repeat(64))),
        ),
        (
            "wrong secret for an existing key id",
            Some(wrong_secret.as_str()),
        ),
    ] {
        for (method, path, body) in [
            ("POST", "/api/v1/search/code", Some(search.as_str())),
            ("GET", "/api/v1/repositories", None),
            (
                "GET",
                &*format!("/api/v1/repositories/{}", f.repository_id),
                None,
            ),
        ] {
            let reply = server.request(method, path, key, body);
            let error = assert_error(&reply, 401, &format!("{what}: {method} {path}"));
            assert_eq!(error["error"]["code"], "unauthorized");
            assert!(
                reply.header("x-ratelimit-limit").is_none(),
                "{what}: no limit headers on 401"
            );
        }
    }
    // A bearer scheme that is not Bearer.
    let reply = common::curl(
        "GET",
        &server.url("/api/v1/repositories"),
        &[("Authorization", &format!("Basic {}", f.admin))],
        None,
    );
    assert_error(&reply, 401, "Basic scheme");
    // The right key still works after all of that.
    assert_eq!(
        repository_ids(server, &f.admin),
        vec![f.repository_id.clone()]
    );
}

#[test]
fn bad_requests_get_the_right_status_and_create_nothing() {
    let f = indexed_fixture(&[("KOTADB_MAX_BODY_BYTES", "1024")]);
    let (server, admin) = (&f.server, f.admin.as_str());
    let jobs_before = job_count(&f.kotadb);
    let raw = |method: &str, path: &str, body: &str| {
        server.request(method, path, Some(admin), Some(body))
    };

    // 400: malformed JSON, wrong types, unknown fields, missing fields.
    for (path, body) in [
        ("/api/v1/search/code", "{\"query\": "),
        ("/api/v1/search/code", "not json"),
        ("/api/v1/search/code", "{\"query\": 42}"),
        (
            "/api/v1/search/code",
            "{\"query\": \"x\", \"limit\": \"ten\"}",
        ),
        (
            "/api/v1/search/code",
            "{\"query\": \"x\", \"regex\": \"yes\"}",
        ),
        ("/api/v1/search/code", "{\"query\": \"x\", \"bogus\": true}"),
        ("/api/v1/search/code", "{}"),
        ("/api/v1/search/code", "[]"),
        (
            "/api/v1/symbols/search",
            "{\"pattern\": \"x\", \"unknown\": 1}",
        ),
        ("/api/v1/references", "{\"symbol\": [\"x\"]}"),
        (
            "/api/v1/dependencies",
            "{\"repository\": \"r\", \"path\": \"p\", \"direction\": \"sideways\"}",
        ),
        ("/api/v1/repositories", "{\"git_url\": 5}"),
        ("/api/v1/repositories", "{\"git_url\": \"x\", \"extra\": 1}"),
        ("/api/v1/repositories", "{"),
    ] {
        assert_error(
            &raw("POST", path, body),
            400,
            &format!("POST {path} {body}"),
        );
    }
    // 400: well-formed but unusable values.
    for (path, body) in [
        ("/api/v1/search/code", json!({"query": "(", "regex": true})),
        ("/api/v1/search/code", json!({"query": "a[", "regex": true})),
        ("/api/v1/search/code", json!({"query": ""})),
        ("/api/v1/search/code", json!({"query": "x", "limit": 0})),
        ("/api/v1/search/code", json!({"query": "x", "limit": -1})),
        (
            "/api/v1/search/code",
            json!({"query": "x", "limit": 1_000_000_000u64}),
        ),
        ("/api/v1/symbols/search", json!({"pattern": ""})),
        (
            "/api/v1/symbols/search",
            json!({"pattern": "x", "limit": 0}),
        ),
        ("/api/v1/references", json!({"symbol": " "})),
        (
            "/api/v1/dependencies",
            json!({"repository": f.repository_id, "path": "web/app.ts", "depth": 0}),
        ),
        (
            "/api/v1/dependencies",
            json!({"repository": f.repository_id, "path": "web/app.ts", "depth": 1000}),
        ),
        (
            "/api/v1/repositories",
            json!({"git_url": "http://169.254.169.254/x"}),
        ),
        ("/api/v1/repositories", json!({"git_url": "file:///etc"})),
        (
            "/api/v1/repositories",
            json!({"git_url": format!("{}/../outside.git", f.remotes.base_url())}),
        ),
        ("/api/v1/repositories", json!({"git_url": ""})),
    ] {
        assert_error(
            &server.post(path, admin, &body),
            400,
            &format!("POST {path} {body}"),
        );
    }

    // 404: unknown ids, ids that are not UUIDs, unknown endpoints.
    let unknown = "00000000-0000-4000-8000-000000000000";
    for (method, path) in [
        ("GET", format!("/api/v1/repositories/{unknown}")),
        ("DELETE", format!("/api/v1/repositories/{unknown}")),
        ("POST", format!("/api/v1/repositories/{unknown}/index")),
        ("GET", format!("/api/v1/jobs/{unknown}")),
        ("GET", "/api/v1/repositories/not-a-uuid".to_string()),
        ("DELETE", "/api/v1/repositories/not-a-uuid".to_string()),
        ("POST", "/api/v1/repositories/not-a-uuid/index".to_string()),
        ("GET", "/api/v1/jobs/not-a-uuid".to_string()),
        ("GET", "/api/v1/nothing-here".to_string()),
        ("POST", "/api/v2/search/code".to_string()),
        ("GET", "/no/such/endpoint".to_string()),
    ] {
        assert_error(
            &server.request(method, &path, Some(admin), None),
            404,
            &format!("{method} {path}"),
        );
    }
    for body in [
        json!({"query": "Parser", "repository": unknown}),
        json!({"query": "Parser", "repository": "no-such-repository"}),
    ] {
        assert_error(
            &server.post("/api/v1/search/code", admin, &body),
            404,
            &body.to_string(),
        );
    }
    assert_error(
        &server.post(
            "/api/v1/dependencies",
            admin,
            &json!({"repository": unknown, "path": "a"}),
        ),
        404,
        "dependencies of an unknown repository",
    );

    // 405 (a known path, another method): the JSON shape too, with `Allow`.
    for (method, path) in [
        ("PUT", "/api/v1/repositories"),
        ("GET", "/api/v1/search/code"),
    ] {
        let reply = server.request(method, path, Some(admin), None);
        assert_error(&reply, 405, &format!("{method} {path}"));
        assert!(
            reply.header("allow").is_some(),
            "{method} {path}: no Allow: {reply:?}"
        );
    }

    // 413: a body over KOTADB_MAX_BODY_BYTES.
    let big = json!({"query": "x".repeat(4096)});
    assert_error(
        &server.post("/api/v1/search/code", admin, &big),
        413,
        "4 KiB body",
    );
    let big = json!({"git_url": format!("{}/{}.git", f.remotes.base_url(), "y".repeat(4096))});
    assert_error(
        &server.post("/api/v1/repositories", admin, &big),
        413,
        "4 KiB registration",
    );

    // 415: a body without a JSON content type.
    let auth = format!("Bearer {admin}");
    for headers in [
        vec![("Authorization", auth.as_str())],
        vec![
            ("Authorization", auth.as_str()),
            ("Content-Type", "text/plain"),
        ],
    ] {
        let reply = common::curl(
            "POST",
            &server.url("/api/v1/repositories"),
            &headers,
            Some(&json!({"git_url": format!("{}/fixture.git", f.remotes.base_url())}).to_string()),
        );
        assert_error(&reply, 415, &format!("content type {headers:?}"));
    }

    // 409: the same URL twice.
    let again = server.post(
        "/api/v1/repositories",
        admin,
        &json!({"git_url": format!("{}/fixture.git", f.remotes.base_url())}),
    );
    assert_error(&again, 409, "registering the same URL twice");

    // None of the rejected requests created a repository or a job.
    assert_eq!(repository_ids(server, admin), vec![f.repository_id.clone()]);
    assert_eq!(
        job_count(&f.kotadb),
        jobs_before,
        "a rejected request queued a job"
    );
    assert_eq!(jobs_before, 1);
}

#[test]
fn another_organization_sees_nothing_of_the_first() {
    let f = indexed_fixture(&[]);
    let (server, id, job) = (&f.server, f.repository_id.as_str(), f.job_id.as_str());
    let other = create_key(&f.kotadb, "solo", "other");

    assert_eq!(repository_ids(server, &other), Vec::<String>::new());
    assert_error(
        &server.get(&format!("/api/v1/repositories/{id}"), &other),
        404,
        "GET",
    );
    assert_error(
        &server.delete(&format!("/api/v1/repositories/{id}"), &other),
        404,
        "DELETE",
    );
    assert_error(
        &server.request(
            "POST",
            &format!("/api/v1/repositories/{id}/index"),
            Some(&other),
            None,
        ),
        404,
        "index",
    );
    assert_error(
        &server.get(&format!("/api/v1/jobs/{job}"), &other),
        404,
        "job",
    );
    for (path, body) in [
        (
            "/api/v1/search/code",
            json!({"query": "Parser", "repository": id}),
        ),
        (
            "/api/v1/symbols/search",
            json!({"pattern": "Parser", "repository": id}),
        ),
        (
            "/api/v1/references",
            json!({"symbol": "formatName", "repository": id}),
        ),
        (
            "/api/v1/dependencies",
            json!({"repository": id, "path": "web/app.ts"}),
        ),
        // By name or URL too.
        (
            "/api/v1/search/code",
            json!({"query": "Parser", "repository": "fixture"}),
        ),
    ] {
        assert_error(
            &server.post(path, &other, &body),
            404,
            &format!("{path} {body}"),
        );
    }
    for (path, body) in [
        ("/api/v1/search/code", json!({"query": "Parser"})),
        ("/api/v1/symbols/search", json!({"pattern": "Parser"})),
        ("/api/v1/references", json!({"symbol": "formatName"})),
    ] {
        let reply = server.post(path, &other, &body);
        assert_eq!(reply.status, 200, "{path}: {}", reply.body);
        assert_eq!(
            reply.json()["results"],
            json!([]),
            "{path} leaks: {}",
            reply.body
        );
    }
    // The other org can register the same URL for itself (no 409 across tenants).
    let own = server.register(&other, &format!("{}/fixture.git", f.remotes.base_url()));
    assert_ne!(own["id"], id);

    // And the first org still has everything.
    let fetched = server.get(&format!("/api/v1/repositories/{id}"), &f.admin);
    assert_eq!(fetched.status, 200, "{}", fetched.body);
    assert_eq!(repository_ids(server, &f.admin), vec![id.to_string()]);
    assert_eq!(
        hits(&f.search(json!({"query": "ParserConfig", "repository": id}))).len(),
        1
    );
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
            .map(|h| h.join().expect("a curl thread"))
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

#[test]
fn the_hourly_limit_is_announced_and_enforced_with_429() {
    let kotadb = Kotadb::new();
    let server = Server::start_with(&kotadb, &[("KOTA_RATE_LIMIT_TEAM_PER_HOUR", "5")]);
    let admin = server.admin_key();
    for n in 1..=5u64 {
        let reply = server.get("/api/v1/repositories", &admin);
        assert_eq!(reply.status, 200, "request {n}: {}", reply.body);
        assert_eq!(
            reply.header("x-ratelimit-limit"),
            Some("5"),
            "request {n}: {reply:?}"
        );
        assert_eq!(
            reply.header("x-ratelimit-remaining"),
            Some(&*(5 - n).to_string()),
            "request {n}: {reply:?}"
        );
        let reset: u64 = reply
            .header("x-ratelimit-reset")
            .and_then(|r| r.parse().ok())
            .unwrap_or_else(|| panic!("request {n}: no numeric X-RateLimit-Reset: {reply:?}"));
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!(
            reset > now && reset <= now + 3600,
            "reset {reset} is within the hour"
        );
    }
    let reply = server.get("/api/v1/repositories", &admin);
    let error = assert_error(&reply, 429, "the 6th request");
    assert_eq!(error["error"]["code"], "rate_limited");
    let wait: u64 = reply
        .header("retry-after")
        .and_then(|r| r.parse().ok())
        .unwrap_or_else(|| panic!("429 without a numeric Retry-After: {reply:?}"));
    assert!((1..=3600).contains(&wait), "Retry-After {wait}");
    assert_eq!(
        reply.header("x-ratelimit-remaining"),
        Some("0"),
        "{reply:?}"
    );
    assert!(
        reply.header("x-ratelimit-limit").is_some() && reply.header("x-ratelimit-reset").is_some()
    );
    // Public endpoints are not limited.
    assert_eq!(server.request("GET", "/health", None, None).status, 200);
}

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
    assert_eq!(health["database"]["backend"], "sqlite", "{health}");
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
