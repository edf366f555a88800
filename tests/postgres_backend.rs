//! The real `kotadb` binary on Postgres (`DATABASE_URL=postgres://…`) answers exactly as on
//! the embedded default: `migrate`, `index` (a first run and an incremental one that
//! changes, adds and deletes files), then `search --json`, `search --symbols --json` and
//! `references --json` give the same JSON on both databases (`took_ms` removed, the
//! random repository ids replaced by one placeholder).

mod common;

use common::{assert_success, GitRepo, Kotadb};
use kotadb::testing::postgres::TestDatabase;
use serde_json::Value;
use std::process::Output;

/// One data directory, on Postgres when its `Kotadb` has a database URL, else on SQLite.
struct Backend {
    kotadb: Kotadb,
}

impl Backend {
    #[track_caller]
    fn run_ok(&self, args: &[&str]) -> Output {
        let output = self.kotadb.cmd(args);
        assert_success(&format!("kotadb {args:?} ({})", self.name()), &output);
        output
    }

    fn name(&self) -> &'static str {
        if self.kotadb.database().is_some() {
            "postgres"
        } else {
            "sqlite"
        }
    }

    /// The command's JSON with `took_ms` removed and the repository id made neutral.
    #[track_caller]
    fn json(&self, args: &[&str]) -> Value {
        let output = self.run_ok(args);
        let mut value: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
            panic!(
                "kotadb {args:?} ({}) printed invalid JSON ({e}):\n{}",
                self.name(),
                String::from_utf8_lossy(&output.stdout)
            )
        });
        let id = self.repository_id();
        normalize(&mut value, &id);
        value
    }

    fn repository_id(&self) -> String {
        let output = self.run_ok(&["repositories", "--json"]);
        let value: Value = serde_json::from_slice(&output.stdout).expect("repositories JSON");
        value["repositories"][0]["id"]
            .as_str()
            .expect("one repository")
            .to_string()
    }
}

fn normalize(value: &mut Value, repository_id: &str) {
    match value {
        Value::Object(map) => {
            map.remove("took_ms");
            for v in map.values_mut() {
                normalize(v, repository_id);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| normalize(v, repository_id)),
        Value::String(text) if text == repository_id => *text = "<repository>".into(),
        _ => {}
    }
}

fn write_first_commit(repo: &GitRepo) {
    repo.write(
        "src/lib.rs",
        "//! A small library.\n\npub mod parse;\n\npub struct ParseError {\n    line: u32,\n}\n\n\
         pub fn get_user(id: u32) -> String {\n    format!(\"user {id}\")\n}\n\n\
         pub fn set_user(id: u32) {\n    let _ = get_user(id);\n}\n",
    )
    .write(
        "src/parse.rs",
        "use crate::ParseError;\n\npub fn parse(text: &str) -> Result<u32, ParseError> {\n    \
         text.parse().map_err(|_| ParseError { line: 1 })\n}\n\npub fn parse_args() {\n    \
         let _ = parse(\"1\");\n}\n",
    )
    .write(
        "app/main.py",
        "import helpers\n\n\nclass Greeter:\n    def greet(self, name):\n        \
         return helpers.shout(name)\n\n\ndef main():\n    Greeter().greet(\"x\\ty\")\n",
    )
    .write(
        "app/helpers.py",
        "def shout(text):\n    return text.upper()\n\n\ndef whisper(text):\n    return text.lower()\n",
    )
    .write(
        "docs/ünïcödé notes.md",
        "# Notes\n\nget_user and parse are the entry points.\n",
    )
    .write(
        "include/tab\tand back\\slash.h",
        "#include \"../src/missing.h\"\nint odd_name_function(void);\n",
    );
    repo.commit("first");
}

fn write_second_commit(repo: &GitRepo) {
    repo.write(
        "src/parse.rs",
        "use crate::ParseError;\n\npub fn parse(text: &str) -> Result<u32, ParseError> {\n    \
         text.trim().parse().map_err(|_| ParseError { line: 2 })\n}\n\npub fn reparse(text: &str) {\n    \
         let _ = parse(text);\n}\n",
    )
    .remove("app/helpers.py")
    .write(
        "app/helpers/__init__.py",
        "def shout(text):\n    return text.upper() + \"!\"\n",
    )
    .write("src/missing.h", "#define MISSING 1\n");
    repo.commit("second");
}

/// Every query compared, with its arguments after the command's own.
const QUERIES: &[&[&str]] = &[
    &["search", "--json", "--limit", "1000", "--", "parse"],
    &[
        "search", "--json", "--limit", "1000", "-i", "--", "GET_USER",
    ],
    &[
        "search", "--json", "--limit", "1000", "--regex", "--", r"fn \w+",
    ],
    &["search", "--json", "--limit", "1000", "--", "shout"],
    &[
        "search",
        "--symbols",
        "--json",
        "--limit",
        "10000",
        "--",
        "parse",
    ],
    &[
        "search",
        "--symbols",
        "--json",
        "--limit",
        "10000",
        "--",
        "*_user",
    ],
    &[
        "search",
        "--symbols",
        "--json",
        "--limit",
        "10000",
        "--",
        "?et_user",
    ],
    &[
        "search",
        "--symbols",
        "--json",
        "--limit",
        "10000",
        "--",
        "GREET",
    ],
    &[
        "search",
        "--symbols",
        "--json",
        "--limit",
        "10000",
        "--",
        "*",
    ],
    &["references", "--json", "get_user"],
    &["references", "--json", "parse"],
    &["references", "--json", "shout"],
    &[
        "dependencies",
        "--json",
        "--depth",
        "3",
        "include/tab\tand back\\slash.h",
    ],
    &["dependencies", "--json", "--depth", "3", "src/missing.h"],
    &["dependencies", "--json", "--depth", "3", "src/lib.rs"],
    &["dependencies", "--json", "--depth", "3", "app/main.py"],
];

#[track_caller]
fn assert_same_answers(sqlite: &Backend, postgres: &Backend, stage: &str) {
    for query in QUERIES {
        let expected = sqlite.json(query);
        let actual = postgres.json(query);
        assert_eq!(
            actual, expected,
            "{stage}: kotadb {query:?} differs between Postgres (left) and SQLite (right)"
        );
    }
}

#[test]
fn the_binary_answers_the_same_on_postgres_as_on_the_embedded_database() {
    let database = TestDatabase::create();
    let sqlite = Backend {
        kotadb: Kotadb::embedded(),
    };
    let postgres = Backend {
        kotadb: Kotadb::new().database_url(&database.url),
    };

    let migrated = postgres.run_ok(&["migrate"]);
    assert!(String::from_utf8_lossy(&migrated.stdout).contains("migrations applied"));
    // Applying them again is a no-op.
    postgres.run_ok(&["migrate"]);

    let repo = GitRepo::new();
    write_first_commit(&repo);
    let path = repo.path().to_str().expect("a UTF-8 temp path");
    for backend in [&sqlite, &postgres] {
        backend.run_ok(&["index", "--name", "fixture", path]);
    }
    let symbols = postgres.json(&[
        "search",
        "--symbols",
        "--json",
        "--limit",
        "10000",
        "--",
        "*",
    ]);
    assert!(
        symbols["results"].as_array().is_some_and(|r| r.len() >= 10),
        "the fixture has symbols: {symbols}"
    );
    assert_same_answers(&sqlite, &postgres, "first index");

    // An incremental run: a changed file, a deleted one, new ones (imports re-resolve).
    write_second_commit(&repo);
    for backend in [&sqlite, &postgres] {
        backend.run_ok(&["index", "--name", "fixture", path]);
    }
    assert_same_answers(&sqlite, &postgres, "incremental index");
    let repositories = |backend: &Backend| {
        let mut value = backend.json(&["repositories", "--json"]);
        for repository in value["repositories"]
            .as_array_mut()
            .expect("a list of repositories")
        {
            let map = repository.as_object_mut().expect("a repository object");
            map.remove("created_at");
            map.remove("last_indexed_at");
        }
        value
    };
    assert_eq!(repositories(&postgres), repositories(&sqlite));
    assert_eq!(
        repositories(&postgres)["repositories"][0]["last_indexed_commit"],
        Value::String(repo.head())
    );
}

#[test]
fn an_unreachable_database_is_named_by_host_never_by_password() {
    let kotadb = Kotadb::new();
    let output = kotadb
        .command()
        .env("DATABASE_URL", "postgres://kota:hunter2@127.0.0.1:9/kotadb")
        .arg("migrate")
        .output()
        .expect("running the kotadb binary");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("127.0.0.1:9"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
}
