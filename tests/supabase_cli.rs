//! The Supabase CLI (`supabase@2.117.0` from npm, installed into `target/supabase-cli`)
//! applies `supabase/migrations` to a fresh test Postgres, and `kotadb migrate` on the same
//! database afterwards finds nothing to do, in both orders.
//!
//! What is true without help: the CLI keeps its ledger in
//! `supabase_migrations.schema_migrations`, sqlx (`kotadb migrate`, `serve`, Fly's
//! `release_command`) in `public._sqlx_migrations`; neither reads the other's, so after a
//! bare `supabase migration up`, `kotadb migrate` runs the first migration again and fails
//! on "already exists". `scripts/supabase-apply-remote.sh` (and `just supabase-apply`)
//! keeps the two ledgers in step around `migration up`, so either tool may follow the
//! other. The schema (`pg_dump --schema-only` without the two ledgers) is the same
//! whichever tool applied it, and is left unchanged by the second tool.
//!
//! Needs npm and PostgreSQL 15 (server and client binaries); fails, never skips, without.

mod common;

use common::{assert_success, npm_install, Kotadb};
use kotadb::testing::postgres::TestDatabase;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const SUPABASE_CLI: (&str, &str) = ("supabase", "2.117.0");

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn supabase_bin() -> PathBuf {
    let modules = npm_install("supabase-cli", &[SUPABASE_CLI]);
    let bin = modules.join(".bin/supabase");
    assert!(bin.exists(), "{} missing after npm install", bin.display());
    bin
}

/// The CLI refuses a local server without TLS unless told.
fn cli_url(db: &TestDatabase) -> String {
    format!("{}?sslmode=disable", db.url)
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// `scripts/supabase-apply-remote.sh` on `db`, asserting success.
fn apply_script(db: &TestDatabase) -> String {
    let output = Command::new("bash")
        .arg(root().join("scripts/supabase-apply-remote.sh"))
        .env("SUPABASE_DB_URL", cli_url(db))
        .env("SUPABASE_BIN", supabase_bin())
        .output()
        .expect("running supabase-apply-remote.sh");
    assert_success("scripts/supabase-apply-remote.sh", &output);
    let printed = text(&output);
    assert!(
        !printed.contains(&db.url),
        "the script printed the database URL:\n{printed}"
    );
    printed
}

/// `supabase migration up --db-url`, bare.
fn cli_up(db: &TestDatabase) -> Output {
    Command::new(supabase_bin())
        .args(["migration", "up", "--yes", "--workdir"])
        .arg(root())
        .arg("--db-url")
        .arg(cli_url(db))
        .output()
        .expect("running the supabase CLI")
}

fn kotadb_migrate(db: &TestDatabase) -> Output {
    Kotadb::embedded().database_url(&db.url).cmd(["migrate"])
}

fn pg_tool(name: &str) -> PathBuf {
    let debian = Path::new("/usr/lib/postgresql/15/bin").join(name);
    if debian.exists() {
        debian
    } else {
        PathBuf::from(name)
    }
}

/// The schema without the two ledgers, as `pg_dump --schema-only` prints it.
fn schema(db: &TestDatabase) -> String {
    let output = Command::new(pg_tool("pg_dump"))
        .args([
            "--schema-only",
            "--no-owner",
            "--exclude-schema=supabase_migrations",
            "--exclude-table=public._sqlx_migrations",
        ])
        .arg(&db.url)
        .output()
        .unwrap_or_else(|e| panic!("running pg_dump ({e}): install postgresql-15"));
    assert_success("pg_dump --schema-only", &output);
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        // pg_dump 15.x prints its own version and, in newer minors, a random \restrict key.
        .filter(|l| {
            !l.starts_with("-- Dumped")
                && !l.starts_with("\\restrict")
                && !l.starts_with("\\unrestrict")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn psql(db: &TestDatabase, sql: &str) -> String {
    let output = Command::new(pg_tool("psql"))
        .args(["-X", "-qAt", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .arg(&db.url)
        .output()
        .unwrap_or_else(|e| panic!("running psql ({e}): install postgresql-15"));
    assert_success(sql, &output);
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

/// The versions of `migrations/postgres`, in order.
fn versions() -> Vec<String> {
    let mut versions: Vec<String> = std::fs::read_dir(root().join("migrations/postgres"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".sql"))
        .map(|n| n.split('_').next().unwrap().to_string())
        .collect();
    versions.sort();
    versions
}

fn cli_ledger(db: &TestDatabase) -> Vec<String> {
    let listed = psql(
        db,
        "select string_agg(version, ' ' order by version) from supabase_migrations.schema_migrations",
    );
    listed.split_whitespace().map(str::to_string).collect()
}

/// sqlx's ledger: `version:execution_time` of each successful row.
fn sqlx_ledger(db: &TestDatabase) -> Vec<String> {
    let listed = psql(
        db,
        "select string_agg(version || ':' || execution_time, ' ' order by version) from public._sqlx_migrations where success",
    );
    listed.split_whitespace().map(str::to_string).collect()
}

#[test]
fn the_cli_applies_the_migrations_and_kotadb_migrate_then_has_nothing_to_do() {
    let by_cli = TestDatabase::create();
    let printed = apply_script(&by_cli);
    assert!(printed.contains("recorded for kotadb migrate"), "{printed}");
    assert_eq!(
        cli_ledger(&by_cli),
        versions(),
        "the CLI applied every file"
    );
    let after_cli = schema(&by_cli);
    assert!(
        after_cli.contains("CREATE TABLE public.api_keys"),
        "{after_cli}"
    );

    let migrate = kotadb_migrate(&by_cli);
    assert_success("kotadb migrate after the CLI", &migrate);
    // Nothing ran again: the rows the script recorded (execution_time 0) are untouched and
    // nothing changed in the schema.
    let recorded: Vec<String> = versions().iter().map(|v| format!("{v}:0")).collect();
    assert_eq!(sqlx_ledger(&by_cli), recorded);
    assert_eq!(
        schema(&by_cli),
        after_cli,
        "kotadb migrate changed the schema"
    );

    // The other order: kotadb migrate first, then the script has nothing to apply.
    let by_kotadb = TestDatabase::create();
    assert_success("kotadb migrate", &kotadb_migrate(&by_kotadb));
    let after_kotadb = schema(&by_kotadb);
    assert_eq!(
        after_kotadb, after_cli,
        "the CLI and kotadb migrate built different schemas"
    );
    let before = sqlx_ledger(&by_kotadb);
    let printed = apply_script(&by_kotadb);
    assert!(
        printed.contains("already applied by kotadb migrate"),
        "{printed}"
    );
    assert_eq!(cli_ledger(&by_kotadb), versions());
    assert_eq!(sqlx_ledger(&by_kotadb), before);
    assert_eq!(
        schema(&by_kotadb),
        after_kotadb,
        "the CLI changed the schema"
    );

    // Running either again is a no-op.
    apply_script(&by_kotadb);
    assert_success("kotadb migrate again", &kotadb_migrate(&by_kotadb));
    assert_eq!(schema(&by_kotadb), after_kotadb);
}

#[test]
fn a_bare_cli_migration_up_leaves_kotadb_migrate_failing_which_is_why_the_script_exists() {
    let db = TestDatabase::create();
    let up = cli_up(&db);
    assert!(up.status.success(), "supabase migration up: {}", text(&up));
    assert_eq!(cli_ledger(&db), versions());

    let migrate = kotadb_migrate(&db);
    assert!(
        !migrate.status.success(),
        "kotadb migrate after a bare `supabase migration up` succeeded: if sqlx now reads the \
         CLI's ledger, simplify scripts/supabase-apply-remote.sh and the README"
    );
    assert!(
        text(&migrate).contains("already exists"),
        "{}",
        text(&migrate)
    );
}
