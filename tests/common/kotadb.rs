//! [`Kotadb`]: the real `kotadb` binary run against a throw-away data directory.

use super::assert_success;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The real `kotadb` binary, run against its own temporary data directory.
///
/// The database is the embedded default, or, when `KOTADB_TEST_BACKEND=postgres`, a
/// database of its own on the test Postgres (`kotadb::testing::postgres`): the same
/// integration tests then prove the service on both backends.
///
/// The environment variables the binary reads (`KOTADB_DATA_DIR`, `DATABASE_URL`,
/// `KOTA_GIT_BASE_URL`, `KOTADB_MAX_FILE_BYTES`) are removed, so a developer's shell
/// cannot change a test; [`Kotadb::git_base_url`] sets the allowed remote base.
pub struct Kotadb {
    data: tempfile::TempDir,
    git_base_url: Option<String>,
    database_url: Option<String>,
    /// The Postgres database of `KOTADB_TEST_BACKEND=postgres`, dropped with this.
    postgres: Option<kotadb::testing::postgres::TestDatabase>,
}

/// Which database the tests run the service on: `KOTADB_TEST_BACKEND` (`sqlite`, the
/// default, or `postgres`).
pub fn backend_is_postgres() -> bool {
    match std::env::var("KOTADB_TEST_BACKEND").as_deref() {
        Err(_) | Ok("") | Ok("sqlite") => false,
        Ok("postgres") => true,
        Ok(other) => panic!("KOTADB_TEST_BACKEND={other:?}: use sqlite or postgres"),
    }
}

impl Kotadb {
    pub fn new() -> Kotadb {
        Kotadb::new_in(std::env::temp_dir())
    }

    /// Like [`Kotadb::new`], the data directory created inside `parent`.
    pub fn new_in(parent: impl AsRef<Path>) -> Kotadb {
        std::fs::create_dir_all(parent.as_ref()).expect("creating the parent of a temp dir");
        let data = tempfile::Builder::new()
            .prefix("kotadb-test-data-")
            .tempdir_in(parent)
            .expect("creating a temp dir");
        let postgres = backend_is_postgres().then(kotadb::testing::postgres::TestDatabase::create);
        Kotadb {
            data,
            git_base_url: None,
            database_url: postgres.as_ref().map(|db| db.url.clone()),
            postgres,
        }
    }

    /// Sets `KOTA_GIT_BASE_URL` for every later command (e.g. a `file://` base).
    pub fn git_base_url(mut self, url: impl Into<String>) -> Kotadb {
        self.git_base_url = Some(url.into());
        self
    }

    /// A `Kotadb` on the embedded database whatever `KOTADB_TEST_BACKEND` says (for tests
    /// that compare the backends).
    pub fn embedded() -> Kotadb {
        let mut kotadb = Kotadb::new();
        kotadb.database_url = None;
        kotadb.postgres = None;
        kotadb
    }

    /// Sets `DATABASE_URL` for every later command (a `postgres://` URL: SaaS mode).
    pub fn database_url(mut self, url: impl Into<String>) -> Kotadb {
        self.database_url = Some(url.into());
        self.postgres = None;
        self
    }

    /// The `DATABASE_URL` of every command, if any (`None`: the embedded database).
    pub fn database(&self) -> Option<&str> {
        self.database_url.as_deref()
    }

    /// Whether this runs on the test Postgres of `KOTADB_TEST_BACKEND=postgres`.
    pub fn on_test_postgres(&self) -> bool {
        self.postgres.is_some()
    }

    pub fn data_dir(&self) -> &Path {
        self.data.path()
    }

    /// The path of the binary cargo built for this test run.
    pub fn binary() -> PathBuf {
        PathBuf::from(env!("CARGO_BIN_EXE_kotadb"))
    }

    /// A ready-to-run command: `kotadb --data-dir <tmp>` with a controlled environment.
    pub fn command(&self) -> Command {
        let mut command = Command::new(Kotadb::binary());
        command.arg("--data-dir").arg(self.data_dir());
        for var in [
            "KOTADB_DATA_DIR",
            "DATABASE_URL",
            "KOTA_GIT_BASE_URL",
            "KOTADB_MAX_FILE_BYTES",
            "DISABLE_SAAS_ENV_VALIDATION",
        ] {
            command.env_remove(var);
        }
        if let Some(url) = &self.git_base_url {
            command.env("KOTA_GIT_BASE_URL", url);
        }
        if let Some(url) = &self.database_url {
            command.env("DATABASE_URL", url);
        }
        if self.on_test_postgres() {
            // The tests of the service on Postgres are not about SaaS configuration.
            command.env("DISABLE_SAAS_ENV_VALIDATION", "1");
        }
        command
    }

    /// Runs `kotadb --data-dir <tmp> ARGS` and returns its output, whatever the status.
    pub fn cmd<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.command()
            .args(args)
            .output()
            .expect("running the kotadb binary")
    }

    /// Like [`Kotadb::cmd`], asserting success.
    #[track_caller]
    pub fn cmd_ok<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let args: Vec<std::ffi::OsString> =
            args.into_iter().map(|a| a.as_ref().to_owned()).collect();
        let output = self.cmd(&args);
        assert_success(&format!("kotadb {args:?}"), &output);
        output
    }

    /// `kotadb keys create ARGS…` (`--tier` among them), asserting success: the new key,
    /// the last line it printed.
    #[track_caller]
    pub fn create_key(&self, args: &[&str]) -> String {
        let mut all = vec!["keys", "create"];
        all.extend_from_slice(args);
        let output = self.cmd_ok(&all);
        let key = String::from_utf8_lossy(&output.stdout)
            .lines()
            .last()
            .unwrap_or_default()
            .trim()
            .to_string();
        assert!(key.starts_with("kota_"), "no key printed: {key:?}");
        key
    }

    /// `kotadb index PATH`, asserting success; returns what it printed.
    #[track_caller]
    pub fn index(&self, path: impl AsRef<Path>) -> String {
        let output = self.cmd_ok([OsStr::new("index"), path.as_ref().as_os_str()]);
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// `kotadb search --json --limit 100000 EXTRA... -- QUERY`, asserting success, parsed.
    ///
    /// The query goes after `--`, so queries that start with '-' (like `->`) are queries.
    #[track_caller]
    pub fn search_json(&self, query: &str, extra: &[&str]) -> serde_json::Value {
        let mut args: Vec<&str> = vec!["search", "--json", "--limit", "100000"];
        args.extend_from_slice(extra);
        args.push("--");
        args.push(query);
        self.cmd_json(&args)
    }

    /// `kotadb search --symbols --json --limit 10000 -- PATTERN` (10,000 is the symbol
    /// search's largest limit), asserting success, parsed.
    #[track_caller]
    pub fn symbols_json(&self, pattern: &str) -> serde_json::Value {
        self.cmd_json(&[
            "search",
            "--symbols",
            "--json",
            "--limit",
            "10000",
            "--",
            pattern,
        ])
    }

    /// Runs `kotadb ARGS`, asserting success, and parses what it printed as JSON.
    #[track_caller]
    fn cmd_json(&self, args: &[&str]) -> serde_json::Value {
        let output = self.cmd_ok(args);
        serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
            panic!(
                "kotadb {args:?} printed invalid JSON ({e}):\n{}",
                String::from_utf8_lossy(&output.stdout)
            )
        })
    }
}

impl Default for Kotadb {
    fn default() -> Self {
        Kotadb::new()
    }
}
