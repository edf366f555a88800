//! Helpers shared by KotaDB's integration tests.
//!
//! - [`GitRepo`]: a throw-away git repository to write files into and commit, driven by
//!   the `git` command line (isolated from the user's and the system's git config).
//! - [`Kotadb`]: runs the real `kotadb` binary against a throw-away data directory.
//! - [`rg_lines`] / [`rg_columns`]: ask ripgrep which lines of a checkout match, the
//!   reference code search is compared against. ripgrep is required: these helpers panic
//!   when `rg` is missing rather than letting a test pass without its oracle.
//!
//! Every file under `tests/` that says `mod common;` compiles this module on its own, so
//! not every helper is used by every test binary.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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
        let output = self.cmd_ok(&args);
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
