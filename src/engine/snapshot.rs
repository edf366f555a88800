//! A repository's searchable state at one commit: an ordered list of segments, each with
//! the set of its documents that newer segments replaced or deleted.
//!
//! A snapshot is immutable once built; a re-index builds a new one beside it and the
//! owner swaps an `Arc`, so searches see the old commit or the new one, never a mix.
//! The manifest names the segments and their dead documents; it is written to a
//! temporary file and renamed, so a crash leaves the previous manifest intact. Segment
//! files no manifest names are garbage and are removed when the next manifest is saved.

use crate::engine::segment::{Segment, SegmentError, FORMAT_VERSION};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::Arc;

const MANIFEST: &str = "manifest.json";
/// Merge into one segment when there are more than this many.
const MAX_SEGMENTS: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error(transparent)]
    Segment(#[from] SegmentError),
    #[error("index i/o at {path}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("index manifest {path} is unreadable: {reason}")]
    Manifest { path: String, reason: String },
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> SnapshotError + '_ {
    move |source| SnapshotError::Io {
        path: path.display().to_string(),
        source,
    }
}

#[derive(Serialize, Deserialize)]
struct Manifest {
    format: u32,
    commit: String,
    segments: Vec<ManifestSegment>,
}

#[derive(Serialize, Deserialize)]
struct ManifestSegment {
    file: String,
    dead: Vec<u32>,
}

/// A segment with the documents of it that are no longer current.
#[derive(Debug, Clone)]
pub struct LiveSegment {
    pub file: String,
    pub segment: Arc<Segment>,
    dead: Arc<Vec<u64>>,
}

impl LiveSegment {
    pub fn is_live(&self, id: u32) -> bool {
        let word = (id / 64) as usize;
        self.dead
            .get(word)
            .is_none_or(|w| w & (1 << (id % 64)) == 0)
    }

    fn dead_ids(&self) -> Vec<u32> {
        (0..self.segment.doc_count())
            .filter(|&id| !self.is_live(id))
            .collect()
    }

    fn with_dead(&self, more: &[u32]) -> LiveSegment {
        let mut dead = (*self.dead).clone();
        let words = (self.segment.doc_count() as usize).div_ceil(64);
        dead.resize(words, 0);
        for &id in more {
            dead[(id / 64) as usize] |= 1 << (id % 64);
        }
        LiveSegment {
            file: self.file.clone(),
            segment: Arc::clone(&self.segment),
            dead: Arc::new(dead),
        }
    }

    pub fn live_count(&self) -> u32 {
        self.segment.doc_count() - self.dead.iter().map(|w| w.count_ones()).sum::<u32>()
    }
}

/// A file's searchable text, as `Snapshot::file_text` returns it.
pub struct FileText {
    pub text: Vec<u8>,
    pub language: Option<crate::engine::lang::Language>,
}

/// The searchable index of one repository at one commit.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub commit: String,
    pub segments: Vec<LiveSegment>,
}

impl Snapshot {
    /// An index with no files, at no commit.
    pub fn empty() -> Snapshot {
        Snapshot {
            commit: String::new(),
            segments: Vec::new(),
        }
    }

    /// Loads the snapshot saved in `dir`. `Ok(None)` when there is none, or when it was
    /// written by another format version: the caller rebuilds it from the repository.
    pub fn load(dir: &Path) -> Result<Option<Snapshot>, SnapshotError> {
        let manifest_path = dir.join(MANIFEST);
        let bytes = match std::fs::read(&manifest_path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error(&manifest_path)(e)),
        };
        let manifest: Manifest = match serde_json::from_slice(&bytes) {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(path = %manifest_path.display(), error = %e, "index manifest unreadable, rebuilding");
                return Ok(None);
            }
        };
        if manifest.format != FORMAT_VERSION {
            return Ok(None);
        }
        let mut segments = Vec::with_capacity(manifest.segments.len());
        for entry in manifest.segments {
            let segment = match Segment::open(&dir.join(&entry.file)) {
                Ok(segment) => Arc::new(segment),
                Err(e) => {
                    tracing::warn!(file = %entry.file, error = %e, "index segment unusable, rebuilding");
                    return Ok(None);
                }
            };
            let live = LiveSegment {
                file: entry.file,
                segment,
                dead: Arc::new(Vec::new()),
            };
            let dead: Vec<u32> = entry
                .dead
                .into_iter()
                .filter(|&id| id < live.segment.doc_count())
                .collect();
            segments.push(live.with_dead(&dead));
        }
        Ok(Some(Snapshot {
            commit: manifest.commit,
            segments,
        }))
    }

    /// Writes the manifest atomically and deletes segment files it no longer names.
    pub fn save(&self, dir: &Path) -> Result<(), SnapshotError> {
        self.stage(dir)?.install()
    }

    /// The slow half of [`Snapshot::save`]: the manifest written and synced under a
    /// temporary name. [`StagedManifest::install`] then only renames it into place, so a
    /// caller can stage before committing the database and install right after, keeping
    /// the moment the two disagree as short as a rename.
    pub fn stage(&self, dir: &Path) -> Result<StagedManifest, SnapshotError> {
        let manifest = Manifest {
            format: FORMAT_VERSION,
            commit: self.commit.clone(),
            segments: self
                .segments
                .iter()
                .map(|s| ManifestSegment {
                    file: s.file.clone(),
                    dead: s.dead_ids(),
                })
                .collect(),
        };
        let path = dir.join(MANIFEST);
        let tmp = dir.join("manifest.json.tmp");
        let bytes = serde_json::to_vec(&manifest).map_err(|e| SnapshotError::Manifest {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        std::fs::write(&tmp, bytes).map_err(io_error(&tmp))?;
        std::fs::File::open(&tmp)
            .and_then(|f| f.sync_all())
            .map_err(io_error(&tmp))?;
        Ok(StagedManifest {
            dir: dir.to_path_buf(),
            tmp,
            path,
            named: self.segments.iter().map(|s| s.file.clone()).collect(),
        })
    }

    /// The live copy of `path`: (segment index, document id).
    pub fn find(&self, path: &str) -> Option<(usize, u32)> {
        self.segments
            .iter()
            .enumerate()
            .rev()
            .find_map(|(i, live)| {
                live.segment
                    .find(path)
                    .filter(|&id| live.is_live(id))
                    .map(|id| (i, id))
            })
    }

    /// A new snapshot at `commit`: `replaced` paths (changed or deleted) die in the
    /// existing segments and `added` (if any) is appended with the new copies.
    pub fn apply(
        &self,
        commit: &str,
        added: Option<(String, Arc<Segment>)>,
        replaced: &[String],
    ) -> Snapshot {
        let mut segments: Vec<LiveSegment> = self
            .segments
            .iter()
            .map(|live| {
                let ids: Vec<u32> = replaced
                    .iter()
                    .flat_map(|p| live.segment.blocks_of(p))
                    .collect();
                if ids.is_empty() {
                    live.clone()
                } else {
                    live.with_dead(&ids)
                }
            })
            .filter(|live| live.live_count() > 0)
            .collect();
        if let Some((file, segment)) = added {
            if segment.doc_count() > 0 {
                segments.push(LiveSegment {
                    file,
                    segment,
                    dead: Arc::new(Vec::new()),
                });
            }
        }
        Snapshot {
            commit: commit.to_string(),
            segments,
        }
    }

    /// Whether the index has fragmented enough to be worth merging into one segment.
    pub fn needs_merge(&self) -> bool {
        let total: u64 = self
            .segments
            .iter()
            .map(|s| s.segment.doc_count() as u64)
            .sum();
        let live: u64 = self.segments.iter().map(|s| s.live_count() as u64).sum();
        self.segments.len() > MAX_SEGMENTS || (total > 1000 && live * 2 < total)
    }

    /// The whole text and language of a live file, joined from its blocks.
    pub fn file_text(&self, path: &str) -> Result<Option<FileText>, SegmentError> {
        let Some((segment, _)) = self.find(path) else {
            return Ok(None);
        };
        let live = &self.segments[segment];
        let mut file = FileText {
            text: Vec::new(),
            language: None,
        };
        let mut buf = Vec::new();
        for id in live.segment.blocks_of(path) {
            file.language = live.segment.doc(id).language;
            file.text
                .extend_from_slice(live.segment.text(id, &mut buf)?);
        }
        Ok(Some(file))
    }

    /// Bytes on disk of the segments this snapshot uses.
    pub fn byte_len(&self) -> u64 {
        self.segments.iter().map(|s| s.segment.byte_len()).sum()
    }
}

/// A manifest on disk under a temporary name, ready to replace the current one.
#[derive(Debug)]
pub struct StagedManifest {
    dir: std::path::PathBuf,
    tmp: std::path::PathBuf,
    path: std::path::PathBuf,
    named: std::collections::HashSet<String>,
}

impl StagedManifest {
    /// Renames the manifest into place, then deletes segment files it no longer names
    /// (only the data directory's one writer saves, so none of them is another writer's).
    pub fn install(self) -> Result<(), SnapshotError> {
        std::fs::rename(&self.tmp, &self.path).map_err(io_error(&self.path))?;
        if let Ok(entries) = std::fs::read_dir(&self.dir) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.ends_with(".kseg") && !self.named.contains(&name) {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
        Ok(())
    }
}
