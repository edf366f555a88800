//! Helpers shared by KotaDB's integration tests.
//!
//! - [`GitRepo`]: a throw-away git repository to write files into and commit, driven by
//!   the `git` command line (isolated from the user's and the system's git config).
//! - [`Kotadb`]: runs the real `kotadb` binary against a throw-away data directory.
//! - [`Server`]: a running `kotadb serve` on a free loopback port, with [`curl`]-based
//!   HTTP helpers ([`Reply`]) and [`Remotes`], bare clones under a `file://` git base.
//! - [`rg_lines`] / [`rg_columns`]: ask ripgrep which lines of a checkout match, the
//!   reference code search is compared against. ripgrep is required: these helpers panic
//!   when `rg` is missing rather than letting a test pass without its oracle.
//!
//! Every file under `tests/` that says `mod common;` compiles this module on its own, so
//! not every helper is used by every test binary.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Panics with the command, its status and both streams unless it succeeded.
#[track_caller]
pub fn assert_success(what: &str, output: &Output) {
    assert!(
        output.status.success(),
        "{what} failed with {}\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
}

/// A git repository in a temporary directory, deleted when dropped.
///
/// Every `git` call runs with the global and system config ignored, so a developer's
/// `core.autocrlf`, hooks path or signing settings cannot change what gets committed.
pub struct GitRepo {
    dir: tempfile::TempDir,
}

impl GitRepo {
    /// `git init -b main` in a fresh temporary directory, with a local user name and
    /// e-mail, `core.autocrlf=false` (bytes are committed as written) and symlinks on.
    pub fn new() -> GitRepo {
        GitRepo::new_in(std::env::temp_dir())
    }

    /// Like [`GitRepo::new`], the temporary directory created inside `parent`.
    pub fn new_in(parent: impl AsRef<Path>) -> GitRepo {
        std::fs::create_dir_all(parent.as_ref()).expect("creating the parent of a temp dir");
        let dir = tempfile::Builder::new()
            .prefix("kotadb-test-repo-")
            .tempdir_in(parent)
            .expect("creating a temp dir");
        let repo = GitRepo { dir };
        repo.git(["init", "-q", "-b", "main"]);
        repo.git(["config", "user.name", "KotaDB Test"]);
        repo.git(["config", "user.email", "test@kotadb.invalid"]);
        repo.git(["config", "core.autocrlf", "false"]);
        repo.git(["config", "core.symlinks", "true"]);
        repo.git(["config", "commit.gpgsign", "false"]);
        repo
    }

    /// The working tree (also what `kotadb index` is given).
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Runs `git ARGS` in the working tree and returns its output, asserting success.
    pub fn git<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let args: Vec<std::ffi::OsString> =
            args.into_iter().map(|a| a.as_ref().to_owned()).collect();
        let output = git_command(self.path())
            .args(&args)
            .output()
            .expect("running git (is it installed?)");
        assert_success(&format!("git {args:?}"), &output);
        output
    }

    /// Writes `bytes` to `path` (relative to the working tree), creating parent
    /// directories. Nothing is committed until [`GitRepo::commit`].
    pub fn write(&self, path: impl AsRef<Path>, bytes: impl AsRef<[u8]>) -> &GitRepo {
        let full = self.path().join(path.as_ref());
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent)
                .unwrap_or_else(|e| panic!("creating {}: {e}", parent.display()));
        }
        std::fs::write(&full, bytes).unwrap_or_else(|e| panic!("writing {}: {e}", full.display()));
        self
    }

    /// Creates a symbolic link at `path` pointing to `target` (stored as given: relative
    /// targets are relative to the link's directory, absolute ones may leave the repo).
    pub fn symlink(&self, path: impl AsRef<Path>, target: impl AsRef<Path>) -> &GitRepo {
        let full = self.path().join(path.as_ref());
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent)
                .unwrap_or_else(|e| panic!("creating {}: {e}", parent.display()));
        }
        std::os::unix::fs::symlink(target.as_ref(), &full).unwrap_or_else(|e| {
            panic!(
                "linking {} -> {}: {e}",
                full.display(),
                target.as_ref().display()
            )
        });
        self
    }

    /// Removes a file, a symlink or a whole directory from the working tree.
    pub fn remove(&self, path: impl AsRef<Path>) -> &GitRepo {
        let full = self.path().join(path.as_ref());
        let meta =
            std::fs::symlink_metadata(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()));
        let result = if meta.is_dir() {
            std::fs::remove_dir_all(&full)
        } else {
            std::fs::remove_file(&full)
        };
        result.unwrap_or_else(|e| panic!("removing {}: {e}", full.display()));
        self
    }

    /// Stages everything (additions, changes, deletions) and commits; returns the
    /// commit id. Empty commits are allowed.
    pub fn commit(&self, message: &str) -> String {
        self.git(["add", "-A"]);
        self.git([
            "-c",
            "user.name=KotaDB Test",
            "-c",
            "user.email=test@kotadb.invalid",
            "commit",
            "-q",
            "--allow-empty",
            "--no-verify",
            "-m",
            message,
        ]);
        self.head()
    }

    /// `git clone SOURCE` into a fresh temporary directory: a working copy whose
    /// `refs/remotes/origin/*` record the source as it was at the clone.
    pub fn clone_of(source: &GitRepo) -> GitRepo {
        let dir = tempfile::Builder::new()
            .prefix("kotadb-test-clone-")
            .tempdir()
            .expect("creating a temp dir");
        let output = git_command(dir.path())
            .args(["clone", "-q"])
            .arg(source.path())
            .arg(dir.path())
            .output()
            .expect("running git clone");
        assert_success("git clone", &output);
        let repo = GitRepo { dir };
        repo.git(["config", "core.autocrlf", "false"]);
        repo
    }

    /// The commit id of HEAD.
    pub fn head(&self) -> String {
        let out = self.git(["rev-parse", "HEAD"]);
        String::from_utf8(out.stdout)
            .expect("commit id is ASCII")
            .trim()
            .to_string()
    }

    /// The paths git tracks at HEAD's index (`git ls-files -z`), raw bytes each.
    pub fn tracked_paths(&self) -> Vec<Vec<u8>> {
        let out = self.git(["ls-files", "-z"]);
        out.stdout
            .split(|&b| b == 0)
            .filter(|p| !p.is_empty())
            .map(<[u8]>::to_vec)
            .collect()
    }
}

impl Default for GitRepo {
    fn default() -> Self {
        GitRepo::new()
    }
}

/// A `git` command in `dir` that ignores global/system config and outer GIT_* variables.
fn git_command(dir: &Path) -> Command {
    let mut command = Command::new("git");
    command
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0");
    for var in [
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_OBJECT_DIRECTORY",
        "GIT_CEILING_DIRECTORIES",
    ] {
        command.env_remove(var);
    }
    command
}

/// The real `kotadb` binary, run against its own temporary data directory.
///
/// The environment variables the binary reads (`KOTADB_DATA_DIR`, `DATABASE_URL`,
/// `KOTA_GIT_BASE_URL`, `KOTADB_MAX_FILE_BYTES`) are removed, so a developer's shell
/// cannot change a test; [`Kotadb::git_base_url`] sets the allowed remote base.
pub struct Kotadb {
    data: tempfile::TempDir,
    git_base_url: Option<String>,
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
        Kotadb {
            data,
            git_base_url: None,
        }
    }

    /// Sets `KOTA_GIT_BASE_URL` for every later command (e.g. a `file://` base).
    pub fn git_base_url(mut self, url: impl Into<String>) -> Kotadb {
        self.git_base_url = Some(url.into());
        self
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
        ] {
            command.env_remove(var);
        }
        if let Some(url) = &self.git_base_url {
            command.env("KOTA_GIT_BASE_URL", url);
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

/// Bare clones of test repositories in one temporary folder, served to `kotadb serve`
/// as `KOTA_GIT_BASE_URL=file://<folder>`.
pub struct Remotes {
    dir: tempfile::TempDir,
}

impl Remotes {
    pub fn new() -> Remotes {
        Remotes {
            dir: tempfile::Builder::new()
                .prefix("kotadb-test-remotes-")
                .tempdir()
                .expect("creating a temp dir"),
        }
    }

    /// `file://<folder>`: the value for `KOTA_GIT_BASE_URL`.
    pub fn base_url(&self) -> String {
        format!("file://{}", self.dir.path().display())
    }

    /// `git clone --bare REPO <folder>/NAME.git`; returns its `file://` URL.
    pub fn publish(&self, repo: &GitRepo, name: &str) -> String {
        let bare = self.dir.path().join(format!("{name}.git"));
        let output = git_command(self.dir.path())
            .args(["clone", "-q", "--bare"])
            .arg(repo.path())
            .arg(&bare)
            .output()
            .expect("running git clone");
        assert_success("git clone --bare", &output);
        format!("{}/{name}.git", self.base_url())
    }
}

impl Default for Remotes {
    fn default() -> Self {
        Remotes::new()
    }
}

/// One HTTP exchange made with curl.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    /// Response headers, names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| {
            panic!(
                "expected a JSON body ({e}), got HTTP {}: {}",
                self.status, self.body
            )
        })
    }

    /// The value of response header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// `curl -sS -D - -X METHOD URL -H ...` with `body` sent on stdin: status, content
/// type, headers and body. `Expect: 100-continue` is turned off so a large body gets the
/// server's own answer.
pub fn curl(method: &str, url: &str, headers: &[(&str, &str)], body: Option<&str>) -> Reply {
    let mut command = Command::new("curl");
    command.args([
        "-sS",
        "--max-time",
        "60",
        "-D",
        "-",
        "-H",
        "Expect:",
        "-X",
        method,
        url,
        "-w",
        "\n%{http_code} %{content_type}",
    ]);
    for (name, value) in headers {
        command.arg("-H").arg(format!("{name}: {value}"));
    }
    if body.is_some() {
        command.args(["--data-binary", "@-"]);
    }
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => panic!("running curl (is it installed?): {e}"),
    };
    let mut stdin = child.stdin.take().expect("curl's stdin");
    if let Some(body) = body {
        stdin
            .write_all(body.as_bytes())
            .expect("writing curl's stdin");
    }
    drop(stdin);
    let output = child.wait_with_output().expect("waiting for curl");
    assert_success(&format!("curl {method} {url}"), &output);
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let (mut rest, trailer) = text.rsplit_once('\n').unwrap_or(("", &text));
    let (status, content_type) = trailer.split_once(' ').unwrap_or((trailer, ""));
    let mut headers = Vec::new();
    // `-D -` prints every header block (a `100 Continue` one too) before the body.
    while rest.starts_with("HTTP/") {
        let (block, after) = rest.split_once("\r\n\r\n").unwrap_or((rest, ""));
        headers = block
            .lines()
            .skip(1)
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        rest = after;
    }
    Reply {
        status: status
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("curl printed no status: {text}")),
        content_type: content_type.trim().to_string(),
        headers,
        body: rest.to_string(),
    }
}

/// A running `kotadb serve --port 0` on loopback, killed when dropped.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// The admin key printed on first start (`None` when the data dir already had keys).
    pub admin_key: Option<String>,
    /// What the server printed on stdout while starting.
    pub printed: Vec<String>,
    stderr_path: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts `kotadb serve` on the data dir of `kotadb`; waits until it answers.
    pub fn start(kotadb: &Kotadb) -> Server {
        Server::start_with(kotadb, &[])
    }

    /// Like [`Server::start`], with extra environment variables (limits, fault hooks).
    pub fn start_with(kotadb: &Kotadb, env: &[(&str, &str)]) -> Server {
        let stderr_path = kotadb.data_dir().join(format!(
            "serve-{}.stderr",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        ));
        let stderr = std::fs::File::create(&stderr_path).expect("creating the stderr log");
        let mut command = kotadb.command();
        command.args(["serve", "--port", "0", "--bind", "127.0.0.1"]);
        for var in [
            "KOTA_ALLOWED_ORIGINS",
            "KOTADB_ALLOWED_HOSTS",
            "KOTADB_PUBLIC_URL",
            "PORT",
            "KOTADB_FAULT_PANIC_ON",
            "KOTADB_MAX_CONCURRENT_REQUESTS",
            "KOTADB_MAX_BODY_BYTES",
            "KOTA_RATE_LIMIT_FREE_PER_HOUR",
            "KOTA_RATE_LIMIT_SOLO_PER_HOUR",
            "KOTA_RATE_LIMIT_TEAM_PER_HOUR",
        ] {
            command.env_remove(var);
        }
        command.env("RUST_LOG", "warn").envs(env.iter().copied());
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("starting kotadb serve");
        let stdout = child.stdout.take().expect("serve's stdout");
        let (tx, rx) = mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                // Keep draining after the receiver is gone so the server never blocks.
                let _ = tx.send(line);
            }
        });
        let fail = |child: &mut Child, seen: &[String], why: &str| -> ! {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "kotadb serve {why}\n--- stdout\n{}\n--- stderr\n{}",
                seen.join("\n"),
                std::fs::read_to_string(&stderr_path).unwrap_or_default()
            );
        };
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut printed = Vec::new();
        let base = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    let base = line
                        .split(" listening on ")
                        .nth(1)
                        .and_then(|rest| rest.split_whitespace().next())
                        .map(str::to_string);
                    printed.push(line);
                    if let Some(base) = base {
                        break base;
                    }
                }
                Err(_) => fail(&mut child, &printed, "did not print its address"),
            }
        };
        // Everything `serve` prints (the admin key too) is printed before it accepts
        // connections, so once /health answers, stdout holds all of it.
        loop {
            let reply = curl("GET", &format!("{base}/health"), &[], None);
            if reply.status == 200 {
                break;
            }
            if Instant::now() > deadline {
                fail(&mut child, &printed, "never answered /health with 200");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        while let Ok(line) = rx.recv_timeout(Duration::from_millis(300)) {
            printed.push(line);
        }
        let admin_key = printed
            .iter()
            .map(|l| l.trim())
            .find(|l| l.starts_with("kota_"))
            .map(str::to_string);
        Server {
            child,
            base,
            admin_key,
            printed,
            stderr_path,
        }
    }

    /// The admin key printed on first start.
    #[track_caller]
    pub fn admin_key(&self) -> String {
        self.admin_key.clone().unwrap_or_else(|| {
            panic!(
                "kotadb serve printed no admin key:\n{}",
                self.printed.join("\n")
            )
        })
    }

    pub fn mcp_url(&self) -> String {
        format!("{}/mcp", self.base)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The process id (for signals).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the server wrote on stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// `METHOD PATH` with `Authorization: Bearer KEY` (if any) and, with a body,
    /// `Content-Type: application/json`.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Option<&str>,
    ) -> Reply {
        let auth = key.map(|k| format!("Bearer {k}"));
        let mut headers: Vec<(&str, &str)> = Vec::new();
        if let Some(auth) = &auth {
            headers.push(("Authorization", auth));
        }
        if body.is_some() {
            headers.push(("Content-Type", "application/json"));
        }
        curl(method, &self.url(path), &headers, body)
    }

    pub fn get(&self, path: &str, key: &str) -> Reply {
        self.request("GET", path, Some(key), None)
    }

    pub fn post(&self, path: &str, key: &str, body: &serde_json::Value) -> Reply {
        self.request("POST", path, Some(key), Some(&body.to_string()))
    }

    pub fn delete(&self, path: &str, key: &str) -> Reply {
        self.request("DELETE", path, Some(key), None)
    }

    /// `POST /api/v1/repositories {"git_url"}`, asserting 201: the reply's JSON.
    #[track_caller]
    pub fn register(&self, key: &str, git_url: &str) -> serde_json::Value {
        let reply = self.post(
            "/api/v1/repositories",
            key,
            &serde_json::json!({ "git_url": git_url }),
        );
        assert_eq!(
            reply.status,
            201,
            "registering {git_url}: {}\n--- server stderr\n{}",
            reply.body,
            self.stderr()
        );
        reply.json()
    }

    /// Polls `GET /api/v1/jobs/{job}` until the job succeeds or fails; returns it.
    #[track_caller]
    pub fn wait_for_job(&self, key: &str, job: &str) -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(180);
        loop {
            let reply = self.get(&format!("/api/v1/jobs/{job}"), key);
            assert_eq!(reply.status, 200, "job {job}: {}", reply.body);
            let value = reply.json();
            if value["status"] == "succeeded" || value["status"] == "failed" {
                return value;
            }
            assert!(
                Instant::now() < deadline,
                "job {job} did not finish in time: {value}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Registers `git_url` and waits for its first index job to succeed: (repository id,
    /// job id).
    #[track_caller]
    pub fn register_and_index(&self, key: &str, git_url: &str) -> (String, String) {
        let created = self.register(key, git_url);
        let id = created["id"].as_str().expect("an id").to_string();
        let job = created["job_id"].as_str().expect("a job_id").to_string();
        let finished = self.wait_for_job(key, &job);
        assert_eq!(
            finished["status"],
            "succeeded",
            "indexing {git_url}: {finished}\n--- server stderr\n{}",
            self.stderr()
        );
        (id, job)
    }

    /// Sends SIGTERM and waits up to `within` for the process to exit.
    pub fn terminate(mut self, within: Duration) -> Option<ExitStatus> {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("running kill");
        assert!(status.success(), "kill -TERM failed");
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("waiting for kotadb serve") {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

/// The Origin seed 000's MCP curl calls send.
pub const SEED_ORIGIN: &str = "http://localhost:3000";

/// A POST to /mcp with the seed's exact headers (Accept: application/json alone).
pub fn seed_post(server: &Server, key: &str, body: &str) -> Reply {
    let auth = format!("Bearer {key}");
    curl(
        "POST",
        &server.mcp_url(),
        &[
            ("Content-Type", "application/json"),
            ("Authorization", &auth),
            ("Origin", SEED_ORIGIN),
            ("MCP-Protocol-Version", "2025-06-18"),
            ("Accept", "application/json"),
        ],
        Some(body),
    )
}

/// A `tools/call` over HTTP as the seed sends it; returns the JSON-RPC `result`.
#[track_caller]
pub fn call_tool(
    server: &Server,
    key: &str,
    name: &str,
    arguments: serde_json::Value,
) -> serde_json::Value {
    let body = serde_json::json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": name, "arguments": arguments}});
    let reply = seed_post(server, key, &body.to_string());
    assert_eq!(reply.status, 200, "tools/call {name}: {}", reply.body);
    let value = reply.json();
    value
        .get("result")
        .cloned()
        .unwrap_or_else(|| panic!("tools/call {name} has no result: {value}"))
}

/// The text of a tool result's content (a tool error's message).
pub fn tool_error_text(result: &serde_json::Value) -> String {
    result["content"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["text"].as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A directory for fixtures shared by the tests of one test binary, which live in a
/// `static` and so are never dropped: `<cargo's target tmp dir>/<name>-<pid>`. Leftovers of
/// earlier runs of the same binary (their process gone) are deleted when it is created.
pub fn shared_fixture_dir(name: &str) -> PathBuf {
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let prefix = format!("{name}-");
    if let Ok(entries) = std::fs::read_dir(&root) {
        for entry in entries.flatten() {
            let file_name = entry.file_name().to_string_lossy().into_owned();
            let Some(pid) = file_name
                .strip_prefix(&prefix)
                .and_then(|p| p.parse::<u32>().ok())
            else {
                continue;
            };
            if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
    let dir = root.join(format!("{prefix}{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("creating the shared fixture dir");
    dir
}

/// Runs `rg -n --no-heading --column --null -uu -g '!.git' FLAGS -e PATTERN .` in `dir`
/// and returns, for every matching line, `(path, line) -> column` (1-based byte column
/// of the line's first match). Paths are relative to `dir`, without a leading `./`,
/// converted lossily when not UTF-8.
///
/// Panics if `rg` is not installed (CI installs it; a test must never pass without its
/// oracle) or if it reports an error (exit status 2).
pub fn rg_columns(dir: &Path, pattern: &str, flags: &[&str]) -> BTreeMap<(String, u64), u64> {
    let output = match Command::new("rg")
        .current_dir(dir)
        .env_remove("RIPGREP_CONFIG_PATH")
        .args([
            "-n",
            "--no-heading",
            "--column",
            "--null",
            "--color",
            "never",
            "-uu",
            "-g",
            "!.git",
        ])
        .args(flags)
        .arg("-e")
        .arg(pattern)
        .arg(".")
        .output()
    {
        Ok(output) => output,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            panic!("ripgrep (`rg`) is required by this test: install ripgrep (apt-get install ripgrep)")
        }
        Err(e) => panic!("running rg: {e}"),
    };
    match output.status.code() {
        Some(0) | Some(1) => {}
        _ => panic!(
            "rg {flags:?} -e {pattern:?} failed with {}:\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ),
    }
    parse_rg_output(&output.stdout)
}

/// Like [`rg_columns`], only the `(path, line)` pairs.
pub fn rg_lines(dir: &Path, pattern: &str, flags: &[&str]) -> BTreeSet<(String, u64)> {
    rg_columns(dir, pattern, flags).into_keys().collect()
}

/// Parses `PATH\0LINE:COLUMN:TEXT\n` records. The path ends at the NUL (so it may hold
/// ':' or even '\n'), the text at the next '\n' (matched text never spans lines).
fn parse_rg_output(stdout: &[u8]) -> BTreeMap<(String, u64), u64> {
    let mut out = BTreeMap::new();
    let mut rest = stdout;
    while !rest.is_empty() {
        // ripgrep interleaves one unframed line when it stops reading a binary file after
        // a match: `PATH: WARNING: stopped searching binary file after match (...)`.
        let line_end = rest
            .iter()
            .position(|&b| b == b'\n')
            .map_or(rest.len(), |i| i + 1);
        if !rest[..line_end].contains(&0) && is_binary_warning(&rest[..line_end]) {
            rest = &rest[line_end..];
            continue;
        }
        let nul = rest
            .iter()
            .position(|&b| b == 0)
            .expect("rg --null record without a NUL after the path");
        let raw_path = &rest[..nul];
        let raw_path = raw_path.strip_prefix(b"./").unwrap_or(raw_path);
        let path = String::from_utf8_lossy(raw_path).into_owned();
        rest = &rest[nul + 1..];
        let (line, after) = take_number(rest);
        let (column, after) = take_number(after);
        let end = after
            .iter()
            .position(|&b| b == b'\n')
            .map_or(after.len(), |i| i + 1);
        rest = &after[end..];
        out.insert((path, line), column);
    }
    out
}

fn is_binary_warning(line: &[u8]) -> bool {
    let line = String::from_utf8_lossy(line);
    line.contains(": WARNING: stopped searching binary file")
        || line.contains(": binary file matches (found ")
}

/// `DIGITS:` at the start of `bytes`: the number and what follows the ':'.
fn take_number(bytes: &[u8]) -> (u64, &[u8]) {
    let colon = bytes
        .iter()
        .position(|&b| b == b':')
        .expect("rg record: expected NUMBER:");
    let number = std::str::from_utf8(&bytes[..colon])
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            panic!(
                "rg record: {:?} is not a number",
                String::from_utf8_lossy(&bytes[..colon])
            )
        });
    (number, &bytes[colon + 1..])
}

/// A readable difference between two sets: up to `shown` of the extra and of the missing
/// members (extra = in `got` only, missing = in `expected` only), or `None` if equal.
pub fn set_difference<T: Ord + std::fmt::Debug>(
    got: &BTreeSet<T>,
    expected: &BTreeSet<T>,
    shown: usize,
) -> Option<String> {
    if got == expected {
        return None;
    }
    let extra: Vec<&T> = got.difference(expected).collect();
    let missing: Vec<&T> = expected.difference(got).collect();
    Some(format!(
        "{} extra (first {shown}): {:?}\n{} missing (first {shown}): {:?}",
        extra.len(),
        &extra[..extra.len().min(shown)],
        missing.len(),
        &missing[..missing.len().min(shown)],
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn rg_records_keep_colons_in_paths() {
        let parsed = super::parse_rg_output(
            b"./a:b/c.txt\x0012:3:x:y\n./bin: WARNING: stopped searching binary file after match (found \"\\0\" byte around offset 9)\nd\x001:1:\n",
        );
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed.get(&("a:b/c.txt".to_string(), 12)), Some(&3));
        assert_eq!(parsed.get(&("d".to_string(), 1)), Some(&1));
    }
}
