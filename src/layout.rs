//! The data directory: every path KotaDB keeps on disk, named in one place, and the lock
//! that makes one process its only writer.
//!
//! ```text
//! DATA_DIR/kotadb.db            the embedded SQLite database (and its -wal, -shm)
//! DATA_DIR/index/<repo id>/     a repository's search index: manifest.json + seg-*.kseg
//! DATA_DIR/repos/<repo id>.git  bare clones of remote repositories
//! DATA_DIR/webhook.key          the server key webhook secrets are derived from
//! DATA_DIR/writer.lock          held by the one process that writes indexes
//! ```
//!
//! Architecture invariant: only the holder of `writer.lock` writes a search index or a
//! clone under this directory. `kotadb serve` (and `kotadb mcp --stdio`) hold it for their
//! whole life, `kotadb index` for its run; a second writer is refused at once with a
//! message naming the first. Readers (`kotadb search`) take no lock.

use crate::store::RepositoryId;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// The data directory (`--data-dir` / `KOTADB_DATA_DIR`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    pub fn new(root: impl Into<PathBuf>) -> DataDir {
        DataDir { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The embedded SQLite database.
    pub fn database(&self) -> PathBuf {
        self.root.join("kotadb.db")
    }

    /// A repository's search index (a rebuildable cache).
    pub fn index(&self, repository: &RepositoryId) -> PathBuf {
        self.root.join("index").join(&repository.0)
    }

    /// The bare clone of a remote repository.
    pub fn clone(&self, repository: &RepositoryId) -> PathBuf {
        self.root.join("repos").join(format!("{repository}.git"))
    }

    /// The server key from which webhook secrets are derived, when none is configured.
    pub fn webhook_key(&self) -> PathBuf {
        self.root.join("webhook.key")
    }

    fn writer_lock(&self) -> PathBuf {
        self.root.join("writer.lock")
    }

    /// Takes the writer lock, or says at once who holds it. `holder` describes this
    /// process for the message another writer will get (`kotadb serve (pid 7) on
    /// http://127.0.0.1:8080`); [`WriterLock::describe`] can refine it later.
    pub fn lock_for_writing(&self, holder: &str) -> Result<WriterLock, LockError> {
        std::fs::create_dir_all(&self.root).map_err(LockError::Io)?;
        let path = self.writer_lock();
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(LockError::Io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                let holder = text.trim();
                return Err(LockError::Held {
                    dir: self.root.clone(),
                    holder: if holder.is_empty() {
                        "another kotadb process".to_string()
                    } else {
                        holder.to_string()
                    },
                });
            }
            Err(TryLockError::Error(error)) => return Err(LockError::Io(error)),
        }
        let mut lock = WriterLock { file };
        lock.describe(holder).map_err(LockError::Io)?;
        Ok(lock)
    }
}

/// Proof that this process is the data directory's one writer; released when dropped
/// (and by the kernel when the process dies, however it dies).
#[derive(Debug)]
pub struct WriterLock {
    file: File,
}

impl WriterLock {
    /// Replaces the description other processes are shown.
    pub fn describe(&mut self, holder: &str) -> std::io::Result<()> {
        self.file.set_len(0)?;
        self.file.rewind()?;
        self.file.write_all(holder.as_bytes())?;
        self.file.flush()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "the data directory {dir:?} is in use by {holder}: only one process may write its indexes; \
         register or re-index repositories through that process (its REST API or MCP tools), or stop it first"
    )]
    Held { dir: PathBuf, holder: String },
    #[error("taking the data directory's writer lock")]
    Io(#[source] std::io::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_writer_is_refused_with_the_holders_description() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::new(dir.path());
        let mut first = data.lock_for_writing("kotadb index (pid 1)").unwrap();
        first.describe("kotadb serve (pid 1) on http://x").unwrap();
        match data.lock_for_writing("kotadb index (pid 2)") {
            Err(LockError::Held { holder, .. }) => {
                assert_eq!(holder, "kotadb serve (pid 1) on http://x")
            }
            other => panic!("{other:?}"),
        }
        drop(first);
        assert!(data.lock_for_writing("kotadb index (pid 2)").is_ok());
    }
}
