//! Incremental re-indexing must give exactly what a full index of the same commit gives.
//!
//! One repository goes through a history of realistic changes (edits, deletions, a rename,
//! a file that makes an earlier unresolved import resolvable, a tsconfig `paths` change, a
//! file replaced by a symlink, a file turned binary, a force-push-like rewrite and finally
//! a rewrite whose old commit is garbage-collected). After every commit the repository is
//! indexed incrementally in one data directory (A) and from scratch in a fresh one (B),
//! and everything a user can observe is compared: code search, symbol search, and the
//! indexed files, symbols, references and dependencies in the database.

mod common;

use common::{GitRepo, Kotadb};
use serde_json::Value;
use std::collections::BTreeSet;

/// Code searches compared after every step: (query, extra flags).
const CODE_QUERIES: &[(&str, &[&str])] = &[
    ("e", &[]),
    ("fn ", &[]),
    ("import", &[]),
    ("greet", &[]),
    ("HELPER", &["-i"]),
    (r"\w+\(", &["--regex"]),
    (r"^#include", &["--regex", "--lang", "c"]),
    ("def", &["--path", "*.py"]),
    ("export", &["--lang", "typescript"]),
    ("util", &["--path", "web/**"]),
    ("binary_marker", &[]),
    ("rewritten", &[]),
];

/// Symbol patterns compared after every step (the database rows are compared in full too).
const SYMBOL_PATTERNS: &[&str] = &[
    "a", "_", "e", "greet", "help", "Model", "main", "add", "parse", "util",
];

fn strip_code(mut value: Value) -> Value {
    if let Some(object) = value.as_object_mut() {
        object.remove("took_ms");
    }
    if let Some(results) = value.get_mut("results").and_then(Value::as_array_mut) {
        for result in results {
            if let Some(object) = result.as_object_mut() {
                object.remove("repository_id");
            }
        }
    }
    value
}

fn symbols_json(kotadb: &Kotadb, pattern: &str) -> Value {
    strip_code(kotadb.symbols_json(pattern))
}

type FileRow = (String, String, Option<String>, i64, Option<String>);
type SymbolRow = (String, String, String, i64, i64);
type ReferenceRow = (String, String, String, i64, i64);
type DependencyRow = (String, Option<String>, String, String, i64);

#[derive(Debug, PartialEq, Eq)]
struct Records {
    files: BTreeSet<FileRow>,
    symbols: Vec<SymbolRow>,
    references: Vec<ReferenceRow>,
    dependencies: Vec<DependencyRow>,
}

/// The canonical records of the (only) repository of `kotadb`, sorted, read from its
/// database (the embedded file, or the test Postgres; there only rows readers see,
/// `update_id IS NULL`, count).
async fn records(kotadb: &Kotadb) -> Records {
    match kotadb.database() {
        Some(url) => {
            let pool = sqlx::postgres::PgPool::connect(url)
                .await
                .expect("connecting to the test database");
            let got = read_records(&pool, "f.update_id IS NULL", "d.update_id IS NULL").await;
            pool.close().await;
            got
        }
        None => {
            let url = format!(
                "sqlite://{}?mode=ro",
                kotadb.data_dir().join("kotadb.db").display()
            );
            let pool = sqlx::sqlite::SqlitePool::connect(&url)
                .await
                .expect("opening the database read-only");
            let got = read_records(&pool, "1 = 1", "1 = 1").await;
            pool.close().await;
            got
        }
    }
}

async fn read_records<DB: sqlx::Database>(
    pool: &sqlx::Pool<DB>,
    visible_file: &str,
    visible_dependency: &str,
) -> Records
where
    for<'c> &'c sqlx::Pool<DB>: sqlx::Executor<'c, Database = DB>,
    for<'r> FileRow: sqlx::FromRow<'r, DB::Row>,
    for<'r> SymbolRow: sqlx::FromRow<'r, DB::Row>,
    for<'r> DependencyRow: sqlx::FromRow<'r, DB::Row>,
    for<'q> <DB as sqlx::Database>::Arguments: sqlx::IntoArguments<DB>,
{
    let query = |sql: String| sqlx::AssertSqlSafe(sql);
    let files: Vec<FileRow> = sqlx::query_as(query(format!(
        "SELECT path, content_hash, language, CAST(size_bytes AS BIGINT), skipped FROM indexed_files f \
         WHERE {visible_file} ORDER BY path"
    )))
    .fetch_all(pool)
    .await
    .unwrap();
    let mut symbols: Vec<SymbolRow> = sqlx::query_as(query(format!(
        "SELECT f.path, s.name, s.kind, CAST(s.line_start AS BIGINT), CAST(s.line_end AS BIGINT) \
         FROM symbols s JOIN indexed_files f ON f.id = s.file_id WHERE {visible_file}"
    )))
    .fetch_all(pool)
    .await
    .unwrap();
    let mut references: Vec<ReferenceRow> = sqlx::query_as(query(format!(
        "SELECT f.path, r.name, r.kind, CAST(r.line AS BIGINT), CAST(r.\"column\" AS BIGINT) \
         FROM \"references\" r JOIN indexed_files f ON f.id = r.file_id WHERE {visible_file}"
    )))
    .fetch_all(pool)
    .await
    .unwrap();
    let mut dependencies: Vec<DependencyRow> = sqlx::query_as(query(format!(
        "SELECT source_path, target_path, spec, import_kind, CAST(line AS BIGINT) FROM dependencies d \
         WHERE {visible_dependency}"
    )))
    .fetch_all(pool)
    .await
    .unwrap();
    symbols.sort();
    references.sort();
    dependencies.sort();
    Records {
        files: files.into_iter().collect(),
        symbols,
        references,
        dependencies,
    }
}

/// Paths of regular files (not symlinks, not submodules) in a commit's tree.
fn regular_files(repo: &GitRepo, commit: &str) -> BTreeSet<String> {
    let out = repo.git(["ls-tree", "-r", "-z", commit]);
    out.stdout
        .split(|&b| b == 0)
        .filter(|r| !r.is_empty())
        .filter_map(|record| {
            let record = String::from_utf8_lossy(record);
            let (meta, path) = record.split_once('\t')?;
            let mode = meta.split(' ').next()?;
            matches!(mode, "100644" | "100755").then(|| path.to_string())
        })
        .collect()
}

/// Paths that differ between two commits, without rename detection.
fn diff_paths(repo: &GitRepo, old: &str, new: &str) -> BTreeSet<String> {
    let out = repo.git(["diff", "--no-renames", "--name-only", "-z", old, new]);
    out.stdout
        .split(|&b| b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect()
}

/// `(files read, full?, files deleted)` from the `index` summary line.
fn summary_counts(summary: &str) -> (u64, bool, u64) {
    let re = regex::Regex::new(r"files \((\d+) (changed|read, full), (\d+) deleted\)").unwrap();
    let caps = re
        .captures(summary)
        .unwrap_or_else(|| panic!("unexpected index summary: {summary:?}"));
    (
        caps[1].parse().unwrap(),
        &caps[2] == "read, full",
        caps[3].parse().unwrap(),
    )
}

enum Expect {
    /// The run must be incremental, reading exactly the changed files.
    Incremental,
    /// The run must be a full one (the previously indexed commit no longer exists).
    Full,
}

/// Indexes HEAD into `a` (which holds the previous index) and into a fresh data dir, and
/// asserts both give the same answers.
async fn index_and_compare(
    step: &str,
    repo: &GitRepo,
    a: &Kotadb,
    previous: Option<&str>,
    expect: Expect,
) -> Records {
    let head = repo.head();
    let summary = a.index(repo.path());
    assert!(
        summary.contains(&format!(" at {}", &head[..12])),
        "{step}: summary names another commit: {summary}"
    );
    let (read, full, deleted) = summary_counts(&summary);
    match expect {
        Expect::Incremental => {
            let previous = previous.expect("an incremental step has a previous commit");
            assert!(
                !full,
                "{step}: expected an incremental run, got a full one: {summary}"
            );
            let changed = diff_paths(repo, previous, &head);
            let now = regular_files(repo, &head);
            let before = regular_files(repo, previous);
            let expected_read = changed.iter().filter(|p| now.contains(*p)).count() as u64;
            let expected_deleted = changed
                .iter()
                .filter(|p| before.contains(*p) && !now.contains(*p))
                .count() as u64;
            assert_eq!(
                (read, deleted),
                (expected_read, expected_deleted),
                "{step}: (changed, deleted) should match git's diff {changed:?}: {summary}"
            );
        }
        Expect::Full => {
            assert!(full, "{step}: expected a full run: {summary}");
            assert_eq!(
                read,
                regular_files(repo, &head).len() as u64,
                "{step}: a full run reads every file: {summary}"
            );
        }
    }

    let b = Kotadb::new();
    let fresh = b.index(repo.path());
    assert!(
        summary_counts(&fresh).1,
        "{step}: a fresh data dir must index fully: {fresh}"
    );

    for (query, extra) in CODE_QUERIES {
        let got = strip_code(a.search_json(query, extra));
        let expected = strip_code(b.search_json(query, extra));
        assert_eq!(
            got, expected,
            "{step}: code search {query:?} {extra:?} differs (left: incremental, right: full)"
        );
    }
    for pattern in SYMBOL_PATTERNS {
        assert_eq!(
            symbols_json(a, pattern),
            symbols_json(&b, pattern),
            "{step}: symbol search {pattern:?} differs (left: incremental, right: full)"
        );
    }
    let got = records(a).await;
    let expected = records(&b).await;
    assert_eq!(
        got.files, expected.files,
        "{step}: indexed_files differ (left: incremental, right: full)"
    );
    assert_eq!(
        got.symbols, expected.symbols,
        "{step}: symbols differ (left: incremental, right: full)"
    );
    assert_eq!(
        got.references, expected.references,
        "{step}: references differ (left: incremental, right: full)"
    );
    assert_eq!(
        got.dependencies, expected.dependencies,
        "{step}: dependencies differ (left: incremental, right: full)"
    );
    // The comparison is only meaningful if the index has content.
    assert!(
        !expected.files.is_empty() && !expected.symbols.is_empty(),
        "{step}: nothing was indexed"
    );
    got
}

/// The targets an import `spec` of `source` resolved to (None: unresolved), so the test
/// also checks that the history really exercises resolution changes.
fn targets(records: &Records, source: &str, spec: &str) -> Vec<Option<String>> {
    records
        .dependencies
        .iter()
        .filter(|(s, _, sp, _, _)| s == source && sp == spec)
        .map(|(_, target, _, _, _)| target.clone())
        .collect()
}

fn file_skipped(records: &Records, path: &str) -> Option<Option<String>> {
    records
        .files
        .iter()
        .find(|f| f.0 == path)
        .map(|f| f.4.clone())
}

fn initial_content(repo: &GitRepo) {
    // Rust: `mod` declarations and `use crate::` paths.
    repo.write(
        "Cargo.toml",
        "[package]\nname = \"demo\"\nversion = \"0.1.0\"\n",
    );
    repo.write(
        "src/lib.rs",
        "mod parser;\npub mod util;\n\nuse crate::parser::parse;\n\npub fn run() -> u32 {\n    parse(\"x\")\n}\n",
    );
    repo.write(
        "src/parser.rs",
        "use crate::util::helper;\n\npub fn parse(input: &str) -> u32 {\n    helper(input.len() as u32)\n}\n",
    );
    repo.write(
        "src/util/mod.rs",
        "pub fn helper(n: u32) -> u32 {\n    n + 1\n}\n\npub struct Helper;\n",
    );
    // Python: a package with relative imports.
    repo.write("pkg/__init__.py", "from .core import run\n");
    repo.write(
        "pkg/core.py",
        "from . import helpers\nfrom .models import Model\nfrom ..outside import nothing\nimport os\n\n\ndef run():\n    return helpers.help_me(Model())\n",
    );
    repo.write(
        "pkg/helpers.py",
        "def help_me(model):\n    return model.name()\n",
    );
    repo.write(
        "pkg/models.py",
        "class Model:\n    def name(self):\n        return \"model\"\n",
    );
    repo.write("tools/run.py", "import pkg.core\n\npkg.core.run()\n");
    // TypeScript: a tsconfig `paths` alias and an import of a file that does not exist yet.
    repo.write(
        "tsconfig.json",
        "{\n  \"compilerOptions\": {\n    \"baseUrl\": \".\",\n    \"paths\": { \"@lib/*\": [\"lib/*\"] }\n  }\n}\n",
    );
    repo.write(
        "web/app.ts",
        "import { util } from \"./util\";\nimport { greet } from \"@lib/greet\";\n\nexport function main(): string {\n  return greet(util());\n}\n",
    );
    repo.write(
        "lib/greet.ts",
        "export function greet(name: string): string {\n  return `hello ${name}`;\n}\n",
    );
    // C: a local include.
    repo.write("c/x.h", "int add(int a, int b);\n");
    repo.write(
        "c/x.c",
        "#include \"x.h\"\n\nint add(int a, int b) {\n    return a + b;\n}\n",
    );
    repo.write("c/main.c", "#include <stdio.h>\n#include \"x.h\"\n\nint main(void) {\n    printf(\"%d\\n\", add(1, 2));\n    return 0;\n}\n");
    // Not source.
    repo.write("README.md", "# demo\n\nSee greet and helper.\n");
    repo.write(
        "data/notes.txt",
        "plain notes that will become binary_marker data\n",
    );
}

#[tokio::test]
async fn incremental_reindex_equals_a_full_index_of_the_same_commit() {
    let repo = GitRepo::new();
    let a = Kotadb::new();

    initial_content(&repo);
    let mut previous = repo.commit("initial");
    let r = index_and_compare("initial", &repo, &a, None, Expect::Full).await;
    assert_eq!(
        targets(&r, "web/app.ts", "./util"),
        vec![None],
        "./util does not exist yet"
    );
    assert_eq!(
        targets(&r, "web/app.ts", "@lib/greet"),
        vec![Some("lib/greet.ts".to_string())]
    );
    assert_eq!(
        targets(&r, "c/main.c", "x.h"),
        vec![Some("c/x.h".to_string())]
    );
    assert_eq!(
        targets(&r, "src/parser.rs", "crate::util::helper"),
        vec![Some("src/util/mod.rs".to_string())]
    );

    // Re-indexing the same commit reads nothing.
    let again = a.index(repo.path());
    assert_eq!(
        summary_counts(&again),
        (0, false, 0),
        "re-indexing an unchanged commit: {again}"
    );

    let mut step = |name: &'static str, change: &dyn Fn(&GitRepo)| {
        change(&repo);
        let head = repo.commit(name);
        let old = std::mem::replace(&mut previous, head);
        (name, old)
    };

    // 1. Modify files in several languages, and a mode-only change.
    let (name, old) = step("modify", &|repo| {
        repo.write(
            "src/parser.rs",
            "use crate::util::{helper, Helper};\n\npub fn parse(input: &str) -> u32 {\n    let _h = Helper;\n    helper(input.len() as u32) + parse_more()\n}\n\nfn parse_more() -> u32 {\n    2\n}\n",
        );
        repo.write(
            "pkg/core.py",
            "from . import helpers\nfrom .models import Model\nimport os\n\n\ndef run():\n    return helpers.help_me(Model())\n\n\ndef run_twice():\n    return run() + run()\n",
        );
        repo.write(
            "c/main.c",
            "#include \"x.h\"\n\nint main(void) {\n    return add(add(1, 2), 3);\n}\n",
        );
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            repo.path().join("tools/run.py"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
    });
    index_and_compare(name, &repo, &a, Some(&old), Expect::Incremental).await;

    // 2. Delete files other files import.
    let (name, old) = step("delete", &|repo| {
        repo.remove("pkg/helpers.py");
        repo.remove("c/x.h");
    });
    let r = index_and_compare(name, &repo, &a, Some(&old), Expect::Incremental).await;
    assert_eq!(
        targets(&r, "c/main.c", "x.h"),
        vec![None],
        "x.h was deleted"
    );

    // 3. Renames: a TS module (its alias import breaks) and a Rust module file
    //    (`src/util/mod.rs` -> `src/util.rs`, same module, new target path).
    let (name, old) = step("rename", &|repo| {
        repo.git(["mv", "lib/greet.ts", "lib/greeting.ts"]);
        repo.git(["mv", "src/util/mod.rs", "src/util.rs"]);
    });
    let r = index_and_compare(name, &repo, &a, Some(&old), Expect::Incremental).await;
    assert_eq!(
        targets(&r, "web/app.ts", "@lib/greet"),
        vec![None],
        "greet.ts was renamed away"
    );

    // 4. A new file makes an earlier unresolved import (`./util` in web/app.ts) resolve,
    //    and a restored header makes `#include "x.h"` resolve again.
    let (name, old) = step("add-import-target", &|repo| {
        repo.write(
            "web/util.ts",
            "export function util(): string {\n  return \"util\";\n}\n",
        );
        repo.write("c/x.h", "int add(int a, int b);\nint sub(int a, int b);\n");
    });
    let r = index_and_compare(name, &repo, &a, Some(&old), Expect::Incremental).await;
    assert_eq!(
        targets(&r, "web/app.ts", "./util"),
        vec![Some("web/util.ts".to_string())]
    );
    assert_eq!(
        targets(&r, "c/main.c", "x.h"),
        vec![Some("c/x.h".to_string())]
    );

    // 5. Only the tsconfig changes: `@lib/greet` now maps to the renamed file.
    let (name, old) = step("tsconfig-paths", &|repo| {
        repo.write(
            "tsconfig.json",
            "{\n  \"compilerOptions\": {\n    \"baseUrl\": \".\",\n    \"paths\": { \"@lib/greet\": [\"lib/greeting.ts\"], \"@lib/*\": [\"lib/*\"] }\n  }\n}\n",
        );
    });
    let r = index_and_compare(name, &repo, &a, Some(&old), Expect::Incremental).await;
    assert_eq!(
        targets(&r, "web/app.ts", "@lib/greet"),
        vec![Some("lib/greeting.ts".to_string())]
    );

    // 6. A file replaced by a symlink (to another file of the repository).
    let (name, old) = step("symlink", &|repo| {
        repo.remove("pkg/models.py");
        repo.symlink("pkg/models.py", "core.py");
    });
    let r = index_and_compare(name, &repo, &a, Some(&old), Expect::Incremental).await;
    assert_eq!(
        file_skipped(&r, "pkg/models.py"),
        None,
        "a symlink is not an indexed file"
    );

    // 7. Files become binary: a text file and a C source with symbols.
    let (name, old) = step("binary", &|repo| {
        repo.write(
            "data/notes.txt",
            b"\x00\x01\x02binary_marker\x00\xff\n".as_slice(),
        );
        repo.write(
            "c/x.c",
            b"#include \"x.h\"\n\x00int add(int a, int b) { return a + b; }\n".as_slice(),
        );
    });
    let r = index_and_compare(name, &repo, &a, Some(&old), Expect::Incremental).await;
    assert_eq!(
        file_skipped(&r, "data/notes.txt"),
        Some(Some("binary".to_string()))
    );
    assert_eq!(file_skipped(&r, "c/x.c"), Some(Some("binary".to_string())));

    // 8. Force-push-like rewrite: drop the last two commits and commit something else, so
    //    the indexed commit is no longer an ancestor of HEAD (it still exists in the repo).
    repo.git(["reset", "-q", "--hard", "HEAD~2"]);
    let (name, old) = step("rewrite", &|repo| {
        repo.write("src/rewritten.rs", "pub fn rewritten() -> u8 {\n    8\n}\n");
        repo.write("src/lib.rs", "mod parser;\npub mod util;\nmod rewritten;\n\nuse crate::parser::parse;\nuse crate::rewritten::rewritten;\n\npub fn run() -> u32 {\n    parse(\"x\") + rewritten() as u32\n}\n");
        repo.remove("web/util.ts");
    });
    index_and_compare(name, &repo, &a, Some(&old), Expect::Incremental).await;
    let (name, old) = step("after-rewrite", &|repo| {
        repo.write(
            "pkg/helpers.py",
            "def help_me(model):\n    return \"rewritten\"\n",
        );
    });
    index_and_compare(name, &repo, &a, Some(&old), Expect::Incremental).await;

    // 9. Rewrite again and garbage-collect the indexed commit: the run must fall back to a
    //    full index, and still agree with a fresh one (deleted files included).
    repo.git(["reset", "-q", "--hard", "HEAD~1"]);
    let (name, _) = step("rewrite-and-gc", &|repo| {
        repo.remove("c");
        repo.write(
            "src/parser.rs",
            "pub fn parse(input: &str) -> u32 {\n    input.len() as u32\n}\n",
        );
    });
    repo.git(["reflog", "expire", "--expire=now", "--all"]);
    repo.git(["gc", "-q", "--prune=now"]);
    index_and_compare(name, &repo, &a, None, Expect::Full).await;
}
