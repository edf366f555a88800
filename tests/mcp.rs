//! The MCP surface end to end, against the real `kotadb` binary:
//!
//! - `mcp_over_http`: `kotadb serve` on a free loopback port indexes a local git
//!   repository registered through REST, then
//!   - the seed's exact curl handshake and `search_code {"term": ...}` (Accept:
//!     application/json alone, Origin: http://localhost:3000) are answered with JSON;
//!   - a disallowed Origin gets 403, a missing key 401, malformed JSON a JSON-RPC -32700,
//!     a batch -32600;
//!   - another organization's key sees the repository and its job as not found, and an
//!     unknown repository id is a not-found tool error;
//!   - the official Python SDK (`mcp` 2.x, tests/mcp_client.py) lists the ten tools and
//!     calls search_code (with `query` and with `term`), search_symbols, find_references.
//!   - index_repository takes an id, a name (padded or not) or the git URL, and answers an
//!     empty, unknown, another tenant's or ambiguous selector with its exact message.
//! - `mcp_over_stdio`: `kotadb mcp --stdio` answers initialize, tools/list and search_code.
//!
//! The Python client runs in a venv under `target/mcp-venv`, created on first use
//! (`python3 -m venv` + `pip install 'mcp>=2,<3'`). If that fails the test fails with
//! pip's output: it is never skipped.

mod common;

use common::{
    assert_success, call_tool, http, seed_curl, seed_post, tool_error_text, GitRepo, Kotadb,
    Remotes, Server, SEED_ORIGIN,
};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The fixture repository: a `Router` type, a `helper` function and a caller of both.
fn fixture_repo() -> GitRepo {
    let repo = GitRepo::new();
    repo.write(
        "src/router.rs",
        "pub struct Router {\n    routes: Vec<String>,\n}\n\nimpl Router {\n    pub fn new() -> Router {\n        Router { routes: Vec::new() }\n    }\n}\n\npub fn helper() -> u32 {\n    42\n}\n",
    );
    repo.write(
        "src/main.rs",
        "mod router;\n\nuse router::{helper, Router};\n\nfn main() {\n    let _router = Router::new();\n    println!(\"{}\", helper());\n}\n",
    );
    repo.write("README.md", "A tiny Router fixture.\n");
    repo.commit("fixture");
    repo
}

/// The venv with the Python MCP SDK (2.x), created on first use.
fn python_with_mcp() -> PathBuf {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target dir")
        .to_path_buf();
    let venv = target.join("mcp-venv");
    let python = venv.join("bin").join("python");
    let has_sdk = |python: &Path| {
        Command::new(python)
            .args(["-c", "import importlib.metadata as m, sys; sys.exit(0 if m.version('mcp').startswith('2.') else 1)"])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    };
    if python.exists() && has_sdk(&python) {
        return python;
    }
    let output = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .output()
        .expect("running python3 -m venv");
    assert_success("python3 -m venv target/mcp-venv", &output);
    let output = Command::new(venv.join("bin").join("pip"))
        .args(["install", "--disable-pip-version-check", "-q", "mcp>=2,<3"])
        .output()
        .expect("running pip");
    assert_success(
        "pip install 'mcp>=2,<3' (the Python MCP SDK this test needs)",
        &output,
    );
    assert!(
        has_sdk(&python),
        "the venv at {} has no mcp 2.x after installing it",
        venv.display()
    );
    python
}

#[test]
fn mcp_over_http() {
    let repo = fixture_repo();
    let remotes = Remotes::new();
    let git_url = remotes.publish(&repo, "repo");
    let kotadb = Kotadb::new().git_base_url(remotes.base_url());
    let server = Server::start(&kotadb);
    let admin = server.admin_key();
    let (repository_id, job_id) = server.register_and_index(&admin, &git_url);

    // The seed's handshake, exactly as written (curl with Accept: application/json).
    let initialize = r#"{
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
      "protocolVersion": "2025-06-18",
      "capabilities": {},
      "clientInfo": {"name": "test-client", "version": "1.0"}
    }
  }"#;
    let reply = seed_curl(&server, &admin, initialize);
    assert_eq!(
        reply.status,
        200,
        "seed initialize: {}\n--- stderr\n{}",
        reply.body,
        server.stderr()
    );
    assert!(
        reply.content_type.starts_with("application/json"),
        "seed initialize content type {:?}",
        reply.content_type
    );
    let init = reply.json();
    assert_eq!(init["id"], 1, "{init}");
    assert_eq!(init["result"]["protocolVersion"], "2025-06-18", "{init}");
    assert_eq!(init["result"]["serverInfo"]["name"], "kotadb", "{init}");
    assert!(
        init["result"]["capabilities"]["tools"].is_object(),
        "{init}"
    );

    // The seed's search_code with {"term": "Router"}.
    let search = r#"{
    "jsonrpc": "2.0",
    "id": 2,
    "method": "tools/call",
    "params": {
      "name": "search_code",
      "arguments": {"term": "Router"}
    }
  }"#;
    let reply = seed_curl(&server, &admin, search);
    assert_eq!(reply.status, 200, "seed search_code: {}", reply.body);
    assert!(
        reply.content_type.starts_with("application/json"),
        "seed search_code content type {:?}",
        reply.content_type
    );
    let found = reply.json();
    assert_eq!(found["id"], 2, "{found}");
    let result = &found["result"];
    assert_ne!(result["isError"], true, "{found}");
    let results = result["structuredContent"]["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results: {found}"));
    let mut lines: Vec<(String, u64)> = results
        .iter()
        .map(|r| {
            (
                r["path"].as_str().unwrap_or_default().to_string(),
                r["line"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    lines.sort();
    let mut expected = common::rg_lines(repo.path(), "Router", &["-F"])
        .into_iter()
        .collect::<Vec<_>>();
    expected.sort();
    assert_eq!(lines, expected, "search_code term=Router vs ripgrep");
    assert!(
        results
            .iter()
            .all(|r| r["repository_id"] == repository_id.as_str()),
        "{found}"
    );
    let text = result["content"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("no text copy: {found}"));
    assert_eq!(
        serde_json::from_str::<Value>(text).ok().as_ref(),
        Some(&result["structuredContent"]),
        "text copy differs"
    );

    // tools/list: ten tools, lean definitions.
    let reply = seed_post(
        &server,
        &admin,
        r#"{"jsonrpc":"2.0","id":3,"method":"tools/list"}"#,
    );
    assert_eq!(reply.status, 200, "tools/list: {}", reply.body);
    let listed = reply.json();
    let tools = listed["result"]["tools"]
        .as_array()
        .unwrap_or_else(|| panic!("no tools: {listed}"));
    let mut names: Vec<&str> = tools.iter().filter_map(|t| t["name"].as_str()).collect();
    names.sort();
    let mut want = TOOL_NAMES.to_vec();
    want.sort();
    assert_eq!(names, want);
    let size = serde_json::to_string(tools).unwrap().len();
    eprintln!("tools/list: {size} bytes for {} tools", tools.len());
    assert!(
        size < 12_000,
        "tool definitions grew to {size} bytes; keep them lean"
    );
    assert!(
        tools.iter().all(|t| t["outputSchema"].is_object()),
        "every tool declares an output schema"
    );

    // A disallowed Origin is refused before anything else.
    let auth = format!("Bearer {admin}");
    let reply = http(
        "POST",
        &server.mcp_url(),
        &[
            ("Content-Type", "application/json"),
            ("Authorization", &auth),
            ("Origin", "http://evil.example"),
            ("MCP-Protocol-Version", "2025-06-18"),
            ("Accept", "application/json"),
        ],
        Some(initialize.as_bytes()),
    );
    assert_eq!(reply.status, 403, "bad Origin: {}", reply.body);
    // A Host that is not allowed (DNS rebinding) is refused too.
    let reply = http(
        "POST",
        &server.mcp_url(),
        &[
            ("Content-Type", "application/json"),
            ("Authorization", &auth),
            ("Host", "rebind.example"),
            ("Accept", "application/json"),
        ],
        Some(initialize.as_bytes()),
    );
    assert_eq!(reply.status, 403, "bad Host: {}", reply.body);
    // No Origin at all (non-browser clients) is fine.
    let reply = http(
        "POST",
        &server.mcp_url(),
        &[
            ("Content-Type", "application/json"),
            ("Authorization", &auth),
            ("Accept", "application/json"),
        ],
        Some(initialize.as_bytes()),
    );
    assert_eq!(reply.status, 200, "no Origin: {}", reply.body);

    // No key.
    let reply = http(
        "POST",
        &server.mcp_url(),
        &[
            ("Content-Type", "application/json"),
            ("Origin", SEED_ORIGIN),
            ("Accept", "application/json"),
        ],
        Some(initialize.as_bytes()),
    );
    assert_eq!(reply.status, 401, "no key: {}", reply.body);

    // Malformed JSON and batches are JSON-RPC errors.
    let reply = seed_post(&server, &admin, r#"{"jsonrpc": "2.0", "id": 1, "method": "#);
    assert_eq!(reply.status, 400, "malformed JSON: {}", reply.body);
    assert_eq!(reply.json()["error"]["code"], -32700, "{}", reply.body);
    let reply = seed_post(
        &server,
        &admin,
        r#"[{"jsonrpc":"2.0","id":1,"method":"tools/list"}]"#,
    );
    assert_eq!(reply.status, 400, "batch: {}", reply.body);
    assert_eq!(reply.json()["error"]["code"], -32600, "{}", reply.body);

    // Bad arguments and unknown ids are tool errors, never 500s.
    let result = call_tool(
        &server,
        &admin,
        "search_code",
        json!({"query": "Router", "repository": "00000000-0000-4000-8000-000000000000"}),
    );
    assert_eq!(result["isError"], true, "{result}");
    assert!(tool_error_text(&result).contains("not found"), "{result}");
    let result = call_tool(
        &server,
        &admin,
        "search_code",
        json!({"query": "(", "regex": true}),
    );
    assert_eq!(result["isError"], true, "{result}");
    let result = call_tool(&server, &admin, "search_code", json!({}));
    assert_eq!(result["isError"], true, "{result}");
    let result = call_tool(
        &server,
        &admin,
        "get_file",
        json!({"repository": repository_id, "path": "src/main.rs", "start_line": 3, "end_line": 3}),
    );
    assert_ne!(result["isError"], true, "{result}");
    assert_eq!(
        result["structuredContent"]["content"], "use router::{helper, Router};\n",
        "{result}"
    );
    let result = call_tool(
        &server,
        &admin,
        "get_index_job_status",
        json!({"job_id": job_id}),
    );
    assert_eq!(
        result["structuredContent"]["status"], "succeeded",
        "{result}"
    );
    let result = call_tool(
        &server,
        &admin,
        "search_dependencies",
        json!({"repository": repository_id, "path": "src/main.rs"}),
    );
    assert_ne!(result["isError"], true, "{result}");
    let result = call_tool(
        &server,
        &admin,
        "analyze_change_impact",
        json!({"repository": repository_id, "paths": ["src/router.rs"]}),
    );
    assert_ne!(result["isError"], true, "{result}");
    let result = call_tool(
        &server,
        &admin,
        "list_recent_files",
        json!({"repository": repository_id}),
    );
    assert_ne!(result["isError"], true, "{result}");
    assert!(
        result["structuredContent"]["files"]
            .as_array()
            .is_some_and(|f| f.len() == 3),
        "{result}"
    );

    // Another organization's key: the repository and the job do not exist for it.
    let output = kotadb.cmd([
        "keys",
        "create",
        "--tier",
        "team",
        "--org",
        "other-org",
        "--name",
        "mcp-test",
    ]);
    assert_success("kotadb keys create --org other-org", &output);
    let other = String::from_utf8_lossy(&output.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .trim()
        .to_string();
    assert!(other.starts_with("kota_"), "no key printed: {other:?}");
    let result = call_tool(
        &server,
        &other,
        "search_code",
        json!({"query": "Router", "repository": repository_id}),
    );
    assert_eq!(
        result["isError"], true,
        "another tenant's repository: {result}"
    );
    assert!(tool_error_text(&result).contains("not found"), "{result}");
    let result = call_tool(
        &server,
        &other,
        "get_file",
        json!({"repository": repository_id, "path": "src/main.rs"}),
    );
    assert_eq!(result["isError"], true, "{result}");
    assert!(tool_error_text(&result).contains("not found"), "{result}");
    let result = call_tool(
        &server,
        &other,
        "get_index_job_status",
        json!({"job_id": job_id}),
    );
    assert_eq!(result["isError"], true, "another tenant's job: {result}");
    let result = call_tool(&server, &other, "list_repositories", json!({}));
    assert_eq!(
        result["structuredContent"]["repositories"],
        json!([]),
        "{result}"
    );
    let result = call_tool(&server, &other, "search_code", json!({"term": "Router"}));
    assert_eq!(
        result["structuredContent"]["results"],
        json!([]),
        "{result}"
    );

    // The official Python SDK.
    let python = python_with_mcp();
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("mcp_client.py");
    let output = Command::new(&python)
        .arg(&script)
        .arg(server.mcp_url())
        .arg(&admin)
        .arg(&repository_id)
        .output()
        .expect("running the Python MCP client");
    assert_success("tests/mcp_client.py", &output);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let summary: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("the Python client printed no JSON summary ({e}):\n{stdout}"));
    eprintln!(
        "python client: protocol {} tools_bytes {}",
        summary["protocol_version"], summary["tools_bytes"]
    );
    let mut tools: Vec<String> = summary["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    tools.sort();
    assert_eq!(
        tools,
        want.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        "{summary}"
    );
    assert_eq!(
        summary["tools_with_output_schema"].as_array().map(Vec::len),
        Some(10),
        "{summary}"
    );
    for key in ["search_code_query", "search_code_term"] {
        let call = &summary[key];
        assert_eq!(call["is_error"], false, "{key}: {call}");
        let results = call["structured"]["results"]
            .as_array()
            .unwrap_or_else(|| panic!("{key}: {call}"));
        let mut got: Vec<(String, u64)> = results
            .iter()
            .map(|r| {
                (
                    r["path"].as_str().unwrap().to_string(),
                    r["line"].as_u64().unwrap(),
                )
            })
            .collect();
        got.sort();
        assert_eq!(got, expected, "{key} vs ripgrep");
    }
    let symbols = &summary["search_symbols"];
    assert_eq!(symbols["is_error"], false, "{symbols}");
    assert!(
        symbols["structured"]["results"]
            .as_array()
            .is_some_and(|r| r
                .iter()
                .any(|s| s["name"] == "Router" && s["path"] == "src/router.rs")),
        "search_symbols Router: {symbols}"
    );
    let references = &summary["find_references"];
    assert_eq!(references["is_error"], false, "{references}");
    assert!(
        references["structured"]["results"]
            .as_array()
            .is_some_and(|r| r.iter().any(|x| x["path"] == "src/main.rs")),
        "find_references helper: {references}"
    );
    let repositories = &summary["list_repositories"]["structured"]["repositories"];
    assert!(
        repositories
            .as_array()
            .is_some_and(|r| r.len() == 1 && r[0]["id"] == repository_id.as_str()),
        "{summary}"
    );
    let unknown = &summary["unknown_repository"];
    assert_eq!(unknown["is_error"], true, "{unknown}");
    assert!(
        unknown["text"].to_string().contains("not found"),
        "{unknown}"
    );

    // index_repository resolves its selector like every repository argument (id, name or
    // git URL among the caller's repositories, an ambiguous name refused), trimmed.
    let index = |key: &str, selector: &str| {
        call_tool(
            &server,
            key,
            "index_repository",
            json!({"repository": selector}),
        )
    };
    for selector in [repository_id.as_str(), "  repo  ", git_url.as_str()] {
        let result = index(&admin, selector);
        assert_ne!(result["isError"], true, "{selector:?}: {result}");
        let queued = &result["structuredContent"];
        assert_eq!(queued["repository_id"], repository_id.as_str(), "{result}");
        assert_eq!(queued["status"], "queued", "{result}");
        assert!(queued["job_id"].as_str().is_some_and(|j| !j.is_empty()));
    }
    let refused = |key: &str, selector: &str, message: &str| {
        let result = index(key, selector);
        assert_eq!(result["isError"], true, "{selector:?}: {result}");
        assert_eq!(tool_error_text(&result), message, "{selector:?}");
    };
    refused(&admin, "   ", "invalid arguments: repository is empty");
    refused(&admin, "no-such-repo", "not found: repository");
    refused(
        &admin,
        "00000000-0000-4000-8000-000000000000",
        "not found: repository",
    );
    refused(&other, &repository_id, "not found: repository");
    refused(&other, "repo", "not found: repository");
    let twin_url = remotes.publish(&repo, "twin");
    let reply = server.post(
        "/api/v1/repositories",
        &admin,
        &json!({"git_url": twin_url, "name": "repo"}),
    );
    assert_eq!(
        reply.status, 201,
        "second repository named repo: {}",
        reply.body
    );
    refused(
        &admin,
        " repo ",
        r#"invalid arguments: "repo" names several repositories: use an id"#,
    );
    let result = index(&admin, &repository_id);
    assert_ne!(result["isError"], true, "by id despite the twin: {result}");
}

const TOOL_NAMES: [&str; 10] = [
    "search_code",
    "search_symbols",
    "find_references",
    "search_dependencies",
    "analyze_change_impact",
    "get_file",
    "list_recent_files",
    "list_repositories",
    "index_repository",
    "get_index_job_status",
];

#[test]
fn mcp_over_stdio() {
    let repo = fixture_repo();
    let kotadb = Kotadb::new();
    kotadb.index(repo.path());

    let mut child = kotadb
        .command()
        .args(["mcp", "--stdio"])
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting kotadb mcp --stdio");
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let read_reply = |id: u64| -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = rx
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no reply to request {id} on stdout"));
            let value: Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("stdout is not JSON-RPC ({e}): {line}"));
            if value["id"] == id {
                return value;
            }
        }
    };
    let mut send = |message: Value| {
        writeln!(stdin, "{message}").expect("writing to kotadb mcp --stdio");
        stdin.flush().unwrap();
    };

    send(
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}}}),
    );
    let init = read_reply(1);
    assert_eq!(init["result"]["serverInfo"]["name"], "kotadb", "{init}");
    send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    send(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}));
    let listed = read_reply(2);
    let mut names: Vec<&str> = listed["result"]["tools"]
        .as_array()
        .unwrap_or_else(|| panic!("{listed}"))
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    names.sort();
    let mut want = TOOL_NAMES.to_vec();
    want.sort();
    assert_eq!(names, want);
    send(
        json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "search_code", "arguments": {"term": "Router"}}}),
    );
    let found = read_reply(3);
    assert_ne!(found["result"]["isError"], true, "{found}");
    let results = found["result"]["structuredContent"]["results"]
        .as_array()
        .unwrap_or_else(|| panic!("{found}"));
    let mut got: Vec<(String, u64)> = results
        .iter()
        .map(|r| {
            (
                r["path"].as_str().unwrap().to_string(),
                r["line"].as_u64().unwrap(),
            )
        })
        .collect();
    got.sort();
    let mut expected = common::rg_lines(repo.path(), "Router", &["-F"])
        .into_iter()
        .collect::<Vec<_>>();
    expected.sort();
    assert_eq!(got, expected, "stdio search_code vs ripgrep");

    drop(stdin);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match child.try_wait().expect("waiting for kotadb mcp --stdio") {
            Some(status) => {
                let mut stderr = String::new();
                child
                    .stderr
                    .take()
                    .unwrap()
                    .read_to_string(&mut stderr)
                    .ok();
                assert!(
                    status.success(),
                    "kotadb mcp --stdio exited with {status} after stdin closed:\n{stderr}"
                );
                break;
            }
            None if Instant::now() > deadline => {
                let _ = child.kill();
                panic!("kotadb mcp --stdio did not exit after stdin closed");
            }
            None => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}
