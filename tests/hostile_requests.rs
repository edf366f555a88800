//! Inputs a hostile or careless caller controls get a bound and a 400 with a message on
//! every surface (REST, MCP, CLI): deeply nested path globs, huge symbol patterns, regexes
//! too large to compile, line ranges past the end of a file. Nothing is a dropped
//! connection, a hung MCP call or a crashed CLI. Symbol globs (`*`, `?`) match as the
//! MCP schema promises.

mod common;

use common::{call_tool, tool_error_text, GitRepo, Kotadb, Server};
use serde_json::json;
use std::time::{Duration, Instant};

fn fixture() -> GitRepo {
    let repo = GitRepo::new();
    repo.write(
        "src/lib.rs",
        "pub fn get_user() {}\npub fn get_group() {}\npub fn set_user() {}\npub struct ParseError;\npub fn parse_args() {}\npub fn reparse() {}\n",
    );
    repo.write("notes.txt", "one\ntwo\nthree\n");
    repo.commit("fixture");
    repo
}

fn nested_glob(depth: usize) -> String {
    "{a,".repeat(depth) + &"}".repeat(depth)
}

#[test]
fn hostile_inputs_are_refused_with_400_on_rest_mcp_and_the_cli() {
    let repo = fixture();
    let kotadb = Kotadb::new();
    kotadb.index(repo.path());
    let server = Server::start(&kotadb);
    let key = server.admin_key();

    let bad_bodies = [
        (
            "/api/v1/search/code",
            json!({"query": "x", "path": nested_glob(300)}),
        ),
        (
            "/api/v1/search/code",
            json!({"query": "x", "path": "*".repeat(5000)}),
        ),
        ("/api/v1/search/code", json!({"query": "a".repeat(100_000)})),
        (
            "/api/v1/search/code",
            json!({"query": r"\w{1000}\w{1000}\w{1000}", "regex": true}),
        ),
        (
            "/api/v1/search/code",
            json!({"query": "(".repeat(5000), "regex": true}),
        ),
        (
            "/api/v1/symbols/search",
            json!({"pattern": "x".repeat(100_000)}),
        ),
        (
            "/api/v1/symbols/search",
            json!({"pattern": "*".repeat(100_000)}),
        ),
    ];
    for (path, body) in &bad_bodies {
        let started = Instant::now();
        let reply = server.post(path, &key, body);
        assert_eq!(
            reply.status,
            400,
            "{path} {:.60}: {}",
            body.to_string(),
            reply.body
        );
        assert!(
            reply.json()["error"]["message"].is_string(),
            "{}",
            reply.body
        );
        assert!(started.elapsed() < Duration::from_secs(10));
    }
    // The server is still there.
    assert_eq!(
        server
            .post("/api/v1/search/code", &key, &json!({"query": "get_user"}))
            .json()["total"],
        1
    );

    // MCP answers at once with a tool error, never a 30 s hang.
    let started = Instant::now();
    let result = call_tool(
        &server,
        &key,
        "search_code",
        json!({"query": "x", "path": nested_glob(300)}),
    );
    assert_eq!(result["isError"], true, "{result}");
    assert!(tool_error_text(&result).contains("glob"), "{result}");
    assert!(started.elapsed() < Duration::from_secs(10));
    let result = call_tool(
        &server,
        &key,
        "search_symbols",
        json!({"pattern": "y".repeat(100_000)}),
    );
    assert_eq!(result["isError"], true, "{result}");

    // get_file past the end answers the lines that exist; an inverted range is refused.
    let result = call_tool(
        &server,
        &key,
        "get_file",
        json!({"repository": repo.path().to_str().unwrap(), "path": "notes.txt", "start_line": 2, "end_line": 1000}),
    );
    let file = &result["structuredContent"];
    assert_eq!(file["content"], "two\nthree\n", "{result}");
    assert_eq!(file["end_line"], 3);
    let result = call_tool(
        &server,
        &key,
        "get_file",
        json!({"repository": repo.path().to_str().unwrap(), "path": "notes.txt", "start_line": 50}),
    );
    assert_eq!(result["isError"], true, "{result}");
    assert!(tool_error_text(&result).contains("3 lines"), "{result}");
    let result = call_tool(
        &server,
        &key,
        "get_file",
        json!({"repository": repo.path().to_str().unwrap(), "path": "notes.txt", "start_line": 3, "end_line": 2}),
    );
    assert_eq!(result["isError"], true, "{result}");
    drop(server);

    // The CLI: an error message and exit status 1, not a panic (101).
    for args in [
        vec!["search", "--path", &nested_glob(300), "--", "x"][..].to_vec(),
        vec!["search", "--symbols", "--", &"x".repeat(100_000)],
    ] {
        let output = kotadb.cmd(&args);
        assert_eq!(output.status.code(), Some(1), "{:?}", output);
        assert!(!String::from_utf8_lossy(&output.stderr).contains("panicked"));
    }
}

#[test]
fn symbol_globs_match_on_rest_mcp_and_the_cli() {
    let repo = fixture();
    let kotadb = Kotadb::new();
    kotadb.index(repo.path());
    let names = |body: &serde_json::Value| -> Vec<String> {
        body["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap().to_string())
            .collect()
    };
    // CLI.
    assert_eq!(
        names(&kotadb.symbols_json("get_*")),
        ["get_user", "get_group"]
    );
    assert_eq!(
        names(&kotadb.symbols_json("?et_user")),
        ["get_user", "set_user"]
    );
    assert_eq!(names(&kotadb.symbols_json("*Error")), ["ParseError"]);
    assert_eq!(
        names(&kotadb.symbols_json("*user")),
        ["get_user", "set_user"]
    );
    // Substring, ranked: exact, then prefix (any case), then the rest; shorter first.
    assert_eq!(
        names(&kotadb.symbols_json("parse")),
        ["ParseError", "parse_args", "reparse"]
    );
    assert_eq!(
        names(&kotadb.symbols_json("GET_*")),
        ["get_user", "get_group"]
    );

    let server = Server::start(&kotadb);
    let key = server.admin_key();
    let rest = server
        .post("/api/v1/symbols/search", &key, &json!({"pattern": "get_*"}))
        .json();
    assert_eq!(names(&rest), ["get_user", "get_group"]);
    let mcp = call_tool(
        &server,
        &key,
        "search_symbols",
        json!({"pattern": "*_user"}),
    );
    assert_eq!(names(&mcp["structuredContent"]), ["get_user", "set_user"]);
}
