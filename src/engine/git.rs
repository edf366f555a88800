//! Reading repositories with libgit2: where a repository comes from, the files of a
//! commit, and what changed between two commits.
//!
//! A local path is read in place (its objects, never its working tree, so uncommitted
//! edits are not indexed). A URL is cloned bare under the data directory and fetched on
//! every update; it must sit under the configured git base URL, so a request cannot make
//! the service fetch from internal addresses or local files.

use git2::{Delta, DiffOptions, ObjectType, Oid, Repository, TreeWalkMode, TreeWalkResult};
use std::path::{Path, PathBuf};

use super::url_policy::{GitBase, UrlError};

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error(transparent)]
    UrlNotAllowed(#[from] UrlError),
    #[error("{0:?} is neither a local git repository nor a git url")]
    NotARepository(String),
    #[error("branch, tag or commit {0:?} not found")]
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
    /// A repository on this machine, read in place: the commit its HEAD names (a clone's
    /// own commits, a checked-out branch, a detached head), never its working tree.
    Local(PathBuf),
    /// A remote repository, cloned bare into the data directory and fetched on each run:
    /// its tracked branch (the remote's HEAD unless a branch is given).
    Remote(String),
}

impl Source {
    /// Parses what a user typed: a URL (admitted by `base`, see [`GitBase::admit`]) or a
    /// local path.
    ///
    /// `allow_local` is true for the CLI (the user owns the machine) and false for
    /// network callers, who may only name URLs under the base.
    pub fn parse(input: &str, base: &GitBase, allow_local: bool) -> Result<Source, GitError> {
        let input = input.trim();
        if input.contains("://") || input.starts_with("git@") {
            return Ok(Source::Remote(base.admit(input)?));
        }
        if allow_local {
            let path = Path::new(input);
            if path.exists() {
                return Ok(Source::Local(path.canonicalize()?));
            }
        }
        Err(GitError::NotARepository(input.to_string()))
    }

    /// The source of a registered repository, from its stored `git_url`.
    pub fn of_stored(git_url: &str) -> Source {
        if git_url.contains("://") {
            Source::Remote(git_url.to_string())
        } else {
            Source::Local(PathBuf::from(git_url))
        }
    }

    /// The stable name of the source stored as the repository's `git_url`.
    pub fn url(&self) -> String {
        match self {
            Source::Local(path) => path.display().to_string(),
            Source::Remote(url) => url.clone(),
        }
    }

    fn is_remote(&self) -> bool {
        matches!(self, Source::Remote(_))
    }
}

/// Opens a local repository, or clones/fetches a remote one into `clone_dir`.
///
/// A fetch mirrors the remote's branches (pruning deleted ones), its tags and its HEAD, so
/// any branch, tag or commit id can be indexed.
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
                let mut options = git2::FetchOptions::new();
                options.prune(git2::FetchPrune::On);
                options.download_tags(git2::AutotagOption::All);
                remote.fetch(
                    &[
                        "+refs/heads/*:refs/remotes/origin/*",
                        "+refs/tags/*:refs/tags/*",
                        "+HEAD:refs/remotes/origin/HEAD",
                    ],
                    Some(&mut options),
                    None,
                )?;
            }
            Ok(repo)
        }
    }
}

/// The commit to index from `source`: `revision` (a branch as `main` or `refs/heads/main`,
/// a tag, or a commit id), or by default the commit a local repository's HEAD names and
/// the remote's HEAD for a clone.
///
/// A local clone's `refs/remotes/origin/*` are never the default: they are the state of
/// the last fetch, not what the user has checked out.
pub fn resolve_commit(
    repo: &Repository,
    source: &Source,
    revision: Option<&str>,
) -> Result<Oid, GitError> {
    let remote = source.is_remote();
    let candidates: Vec<String> = match revision.map(str::trim) {
        None | Some("") | Some("HEAD") if remote => vec!["refs/remotes/origin/HEAD".into()],
        None | Some("") | Some("HEAD") => vec!["HEAD".into()],
        Some(rev) => {
            let branch = rev.strip_prefix("refs/heads/").unwrap_or(rev);
            let tag = rev.strip_prefix("refs/tags/").unwrap_or(rev);
            let mut candidates = Vec::new();
            if remote {
                candidates.push(format!("refs/remotes/origin/{branch}"));
            } else {
                candidates.push(format!("refs/heads/{branch}"));
            }
            candidates.push(format!("refs/tags/{tag}"));
            // A commit id, full or abbreviated (and only that: no revision expressions
            // reach libgit2 from a request).
            if rev.len() >= 4 && rev.len() <= 40 && rev.bytes().all(|b| b.is_ascii_hexdigit()) {
                candidates.push(rev.to_string());
            }
            candidates
        }
    };
    for candidate in &candidates {
        if let Ok(object) = repo.revparse_single(candidate) {
            if let Ok(commit) = object.peel_to_commit() {
                return Ok(commit.id());
            }
        }
    }
    let unborn = matches!(repo.head(), Err(e) if e.code() == git2::ErrorCode::UnbornBranch);
    if revision.is_none() && (unborn || repo.is_empty().unwrap_or(false)) {
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
    fn sources_are_urls_or_existing_local_paths() {
        let dir = tempfile::tempdir().unwrap();
        let base = &GitBase::parse("https://github.com").unwrap();
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
