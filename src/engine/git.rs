//! Reading repositories with libgit2: where a repository comes from, the files of a
//! commit, and what changed between two commits.
//!
//! A local path is read in place (its objects, never its working tree, so uncommitted
//! edits are not indexed). A URL is cloned bare under the data directory and fetched on
//! every update; it must sit under the configured git base URL, so a request cannot make
//! the service fetch from internal addresses or local files.

use git2::{Delta, DiffOptions, ObjectType, Oid, Repository, TreeWalkMode, TreeWalkResult};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("git url {url:?} is not under the allowed base {base:?}")]
    UrlNotAllowed { url: String, base: String },
    #[error("{0:?} is neither a local git repository nor a git url")]
    NotARepository(String),
    #[error("branch or commit {0:?} not found")]
    RevisionNotFound(String),
    #[error("the repository has no commits yet")]
    NoCommits,
    #[error("git")]
    Git(#[from] git2::Error),
    #[error("git i/o")]
    Io(#[from] std::io::Error),
}

/// Where a repository's objects come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A repository on this machine, read in place.
    Local(PathBuf),
    /// A remote repository, cloned bare into the data directory.
    Remote(String),
}

impl Source {
    /// Parses what a user typed: a URL (checked against `base_url`) or a local path.
    ///
    /// `allow_local` is true for the CLI (the user owns the machine) and false for
    /// network callers, who may only name URLs under the base.
    pub fn parse(input: &str, base_url: &str, allow_local: bool) -> Result<Source, GitError> {
        let input = input.trim();
        if input.contains("://") || input.starts_with("git@") {
            check_url(input, base_url)?;
            return Ok(Source::Remote(input.trim_end_matches('/').to_string()));
        }
        if allow_local {
            let path = Path::new(input);
            if path.exists() {
                return Ok(Source::Local(path.canonicalize()?));
            }
        }
        Err(GitError::NotARepository(input.to_string()))
    }

    /// The stable name of the source stored as the repository's `git_url`.
    pub fn url(&self) -> String {
        match self {
            Source::Local(path) => path.display().to_string(),
            Source::Remote(url) => url.clone(),
        }
    }
}

/// A URL is allowed when it starts with the base followed by '/', has no credentials,
/// no `..` segments, no query or fragment, and no control characters or whitespace.
pub fn check_url(url: &str, base_url: &str) -> Result<(), GitError> {
    let refuse = || GitError::UrlNotAllowed {
        url: url.to_string(),
        base: base_url.to_string(),
    };
    let base = base_url.trim_end_matches('/');
    let rest = url
        .strip_prefix(base)
        .and_then(|r| r.strip_prefix('/'))
        .ok_or_else(refuse)?;
    let hostile = rest.is_empty()
        || rest
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || matches!(c, '?' | '#' | '@' | '\\'))
        || rest
            .split('/')
            .any(|segment| segment == ".." || segment == ".");
    if hostile || base.is_empty() {
        return Err(refuse());
    }
    Ok(())
}

/// Opens a local repository, or clones/fetches a remote one into `clone_dir`.
pub fn open(source: &Source, clone_dir: &Path) -> Result<Repository, GitError> {
    match source {
        Source::Local(path) => Repository::open(path).map_err(|e| {
            if e.code() == git2::ErrorCode::NotFound {
                GitError::NotARepository(path.display().to_string())
            } else {
                GitError::Git(e)
            }
        }),
        Source::Remote(url) => {
            let repo = match Repository::open_bare(clone_dir) {
                Ok(repo) => repo,
                Err(_) => {
                    if let Some(parent) = clone_dir.parent() {
                        std::fs::create_dir_all(parent)?;
                    }
                    let repo = Repository::init_bare(clone_dir)?;
                    repo.remote("origin", url)?;
                    repo
                }
            };
            {
                let mut remote = repo.find_remote("origin")?;
                remote.fetch(
                    &[
                        "+refs/heads/*:refs/remotes/origin/*",
                        "+HEAD:refs/remotes/origin/HEAD",
                    ],
                    None,
                    None,
                )?;
            }
            Ok(repo)
        }
    }
}

/// The commit to index: `revision` (a branch, tag or commit id) or the default head.
pub fn resolve_commit(repo: &Repository, revision: Option<&str>) -> Result<Oid, GitError> {
    let candidates: Vec<String> = match revision {
        Some(rev) => vec![
            format!("refs/remotes/origin/{rev}"),
            format!("refs/heads/{rev}"),
            rev.to_string(),
        ],
        None => vec!["refs/remotes/origin/HEAD".into(), "HEAD".into()],
    };
    for candidate in &candidates {
        if let Ok(object) = repo.revparse_single(candidate) {
            if let Ok(commit) = object.peel_to_commit() {
                return Ok(commit.id());
            }
        }
    }
    let unborn = matches!(repo.head(), Err(e) if e.code() == git2::ErrorCode::UnbornBranch);
    if revision.is_none() && unborn {
        return Err(GitError::NoCommits);
    }
    Err(GitError::RevisionNotFound(
        revision.unwrap_or("HEAD").to_string(),
    ))
}

/// What a tree entry is, as far as indexing cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File,
    /// Never followed: ripgrep does not follow links either, and the target, when it is
    /// inside the repository, is indexed under its own path.
    Symlink,
    /// A gitlink to another repository's commit: nothing to read here.
    Submodule,
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub path: String,
    pub blob: Oid,
    pub kind: EntryKind,
}

fn entry_kind(mode: i32, kind: Option<ObjectType>) -> Option<EntryKind> {
    match (mode & 0o170000, kind) {
        (0o120000, _) => Some(EntryKind::Symlink),
        (0o160000, _) => Some(EntryKind::Submodule),
        (_, Some(ObjectType::Blob)) => Some(EntryKind::File),
        _ => None,
    }
}

/// Every file of a commit's tree, sorted by path. Paths that are not UTF-8 are
/// converted lossily (they are shown to people and models as text).
pub fn tree_entries(repo: &Repository, commit: Oid) -> Result<Vec<Entry>, GitError> {
    let tree = repo.find_commit(commit)?.tree()?;
    let mut entries = Vec::new();
    tree.walk(TreeWalkMode::PreOrder, |dir, entry| {
        if let Some(kind) = entry_kind(entry.filemode(), entry.kind()) {
            let name = String::from_utf8_lossy(entry.name_bytes());
            entries.push(Entry {
                path: format!("{dir}{name}"),
                blob: entry.id(),
                kind,
            });
        }
        TreeWalkResult::Ok
    })?;
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(entries)
}

/// Paths whose content differs between two commits (added, modified, deleted, or changed
/// type), compared tree to tree so force-pushes and rewritten history are handled alike.
pub fn changed_paths(repo: &Repository, old: Oid, new: Oid) -> Result<Vec<String>, GitError> {
    let old_tree = repo.find_commit(old)?.tree()?;
    let new_tree = repo.find_commit(new)?.tree()?;
    let mut options = DiffOptions::new();
    options.include_typechange(true).ignore_submodules(false);
    let diff = repo.diff_tree_to_tree(Some(&old_tree), Some(&new_tree), Some(&mut options))?;
    let mut paths = Vec::new();
    for delta in diff.deltas() {
        if delta.status() == Delta::Unmodified {
            continue;
        }
        for file in [delta.old_file(), delta.new_file()] {
            if let Some(path) = file.path_bytes() {
                paths.push(String::from_utf8_lossy(path).into_owned());
            }
        }
    }
    paths.sort();
    paths.dedup();
    Ok(paths)
}

/// Whether `commit` exists in the repository (an old indexed commit may be gone after a
/// force-push and garbage collection; then the update is a full re-index).
pub fn has_commit(repo: &Repository, commit: &str) -> bool {
    Oid::from_str(commit)
        .ok()
        .and_then(|oid| repo.find_commit(oid).ok())
        .is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_sit_under_the_base() {
        let base = "https://github.com";
        assert!(check_url("https://github.com/rust-lang/regex", base).is_ok());
        assert!(check_url("https://github.com/rust-lang/regex.git", base).is_ok());
        for bad in [
            "https://github.com.evil.example/x/y",
            "https://github.com/../etc/passwd",
            "https://user:pw@github.com/x/y",
            "https://github.com/x/y?upload-pack=sh",
            "file:///etc",
            "http://169.254.169.254/latest",
            "https://github.com/",
            "https://github.com/x/y z",
        ] {
            assert!(check_url(bad, base).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn file_urls_only_when_the_base_is_a_file_url() {
        assert!(check_url("file:///srv/git/repo", "file:///srv/git").is_ok());
        assert!(check_url("file:///etc/x", "file:///srv/git").is_err());
    }

    #[test]
    fn sources_are_urls_or_existing_local_paths() {
        let dir = tempfile::tempdir().unwrap();
        let base = "https://github.com";
        assert!(matches!(
            Source::parse(dir.path().to_str().unwrap(), base, true),
            Ok(Source::Local(_))
        ));
        assert!(Source::parse(dir.path().to_str().unwrap(), base, false).is_err());
        assert!(Source::parse("/no/such/dir", base, true).is_err());
        assert_eq!(
            Source::parse("https://github.com/a/b/", base, false).unwrap(),
            Source::Remote("https://github.com/a/b".into())
        );
    }
}
