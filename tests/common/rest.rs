//! What the REST service tests share: the fixture repository, indexed behind a running
//! server ([`indexed_fixture`]), and the readers and assertions of REST answers
//! ([`hits`], [`assert_error`], [`repository_ids`]).

use super::{GitRepo, Kotadb, Remotes, Reply, Server};
use serde_json::Value;

/// A small repository in three languages with known symbols, calls and imports:
/// Rust `src/lib.rs -> src/parser.rs`, TypeScript `web/app.ts -> web/util.ts ->
/// web/lib/constants.ts`, Python `py/tokens.py -> py/parser_py.py`.
pub fn fixture_repo() -> GitRepo {
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

/// A running server (with `env`) whose admin has indexed the fixture repository.
pub struct Indexed {
    // Field order = drop order: the server stops before its directories go.
    pub server: Server,
    pub kotadb: Kotadb,
    pub remotes: Remotes,
    pub admin: String,
    pub repository_id: String,
    pub job_id: String,
}

pub fn indexed_fixture(env: &[(&str, &str)]) -> Indexed {
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
    pub fn ok(&self, reply: Reply) -> Value {
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
    pub fn search(&self, body: Value) -> Value {
        self.ok(self.server.post("/api/v1/search/code", &self.admin, &body))
    }

    #[track_caller]
    pub fn post_ok(&self, path: &str, body: Value) -> Value {
        self.ok(self.server.post(path, &self.admin, &body))
    }
}

/// `(path, line, column)` of every code search result.
pub fn hits(response: &Value) -> Vec<(String, u64, u64)> {
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

pub fn hit(path: &str, line: u64, column: u64) -> (String, u64, u64) {
    (path.to_string(), line, column)
}

/// Asserts the error contract: this status and `{"error": {"code", "message"}}`.
#[track_caller]
pub fn assert_error(reply: &Reply, status: u16, what: &str) -> Value {
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
pub fn repository_ids(server: &Server, key: &str) -> Vec<String> {
    let reply = server.get("/api/v1/repositories", key);
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()["repositories"]
        .as_array()
        .unwrap_or_else(|| panic!("no repositories array: {}", reply.body))
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}
