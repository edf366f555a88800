//! A throw-away git repository ([`GitRepo`]) and bare clones of them under a `file://`
//! base ([`Remotes`]), both driven by the `git` command line and isolated from the
//! user's and the system's git config.

use super::assert_success;
use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Output};

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
        // No automatic gc: after a commit of thousands of files git packs the loose
        // objects in a detached background process, which races a `git clone` of the
        // repository copying them ("failed to copy file … No such file or directory").
        repo.git(["config", "gc.auto", "0"]);
        repo.git(["config", "maintenance.auto", "false"]);
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
        // Nor in the remote: a push would start a detached gc there, racing fetches.
        for setting in [["gc.auto", "0"], ["receive.autogc", "false"]] {
            let output = git_command(&bare)
                .args(["config", setting[0], setting[1]])
                .output()
                .expect("running git config");
            assert_success("git config", &output);
        }
        format!("{}/{name}.git", self.base_url())
    }
}

impl Default for Remotes {
    fn default() -> Self {
        Remotes::new()
    }
}
