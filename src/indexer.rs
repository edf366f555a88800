//! One indexing run of one repository: read the commit from git, turn changed files into
//! search documents and records, write a segment, apply the records, save the snapshot
//! and return it (its caller, the repository's actor, publishes it to readers).
//!
//! Work is proportional to the change: the tree of the indexed commit is diffed against
//! the new one and only changed paths are read, parsed and written. A full run happens
//! when there is no usable previous index (first run, older format, a manifest that
//! disagrees with the database after a crash, or a previous commit that is gone).
//!
//! Order of effects, chosen so a crash at any point loses nothing: (1) the new segment
//! file is written under a fresh name, and the manifest naming it under a temporary name,
//! (2) the database transaction records the files and the commit, (3) the manifest is
//! renamed into place. A crash
//! before (3) leaves a manifest whose commit disagrees with the database, which the next
//! run detects and answers with a full rebuild.

use crate::engine::deps::Resolver;
use crate::engine::git::{self, Entry, EntryKind, GitError, Source};
use crate::engine::lang::Language;
use crate::engine::model::FileAnalysis;
use crate::engine::model::Import;
use crate::engine::parse::Analyzer;
use crate::engine::segment::{self, DocInput, Segment, SegmentError};
use crate::engine::snapshot::{Snapshot, SnapshotError};
use crate::engine::text::{searchable_text, Skip};
use crate::engine::trigram::{distinct_trigrams, TrigramBitmap};
use crate::layout::DataDir;
use crate::store::{
    FileRecord, FileUpdate, Repository, ResolvedImport, Store, StoreError, StoredImport,
};
use kotadb_actors::Cancel;
use rayon::prelude::*;
use std::cell::RefCell;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error(transparent)]
    Git(#[from] GitError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    #[error(transparent)]
    Segment(#[from] SegmentError),
    #[error("index i/o")]
    Io(#[from] std::io::Error),
    #[error("indexing task failed: {0}")]
    Task(String),
    #[error("indexing was cancelled")]
    Cancelled,
}

/// Limits that protect indexing from hostile or huge repositories.
#[derive(Debug, Clone)]
pub struct IndexSettings {
    /// Larger files are recorded as skipped and not searchable.
    pub max_file_bytes: u64,
    /// Larger files are searchable but not parsed for symbols (minified bundles).
    pub max_parse_bytes: u64,
    /// Source bytes per segment; bounds the memory of one build.
    pub segment_bytes: u64,
    /// Threads parsing files; 0 means one per core.
    pub threads: usize,
}

impl IndexSettings {
    /// The limits `settings` ask for, with `threads` parse threads (0: one per core).
    pub fn from_settings(settings: &crate::settings::Settings, threads: usize) -> IndexSettings {
        IndexSettings {
            max_file_bytes: settings.max_file_bytes,
            threads,
            ..IndexSettings::default()
        }
    }
}

impl Default for IndexSettings {
    fn default() -> Self {
        IndexSettings {
            max_file_bytes: crate::settings::DEFAULT_MAX_FILE_BYTES,
            max_parse_bytes: 2 << 20,
            segment_bytes: 512 << 20,
            threads: 0,
        }
    }
}

/// What an indexing run did, for the CLI summary and job records.
#[derive(Debug, Clone, serde::Serialize)]
pub struct IndexSummary {
    pub commit: String,
    pub full: bool,
    /// Files of the commit.
    pub files: u64,
    /// Files read and processed in this run (all of them on a full run).
    pub files_indexed: u64,
    pub files_deleted: u64,
    pub bytes_indexed: u64,
    pub symbols: u64,
    pub references: u64,
    pub seconds: f64,
    pub index_bytes: u64,
}

/// Progress callbacks for a terminal progress bar; both may be called from any thread.
pub trait Progress: Send + Sync {
    fn start(&self, _files: u64, _bytes: u64) {}
    fn advance(&self, _bytes: u64) {}
}

/// No progress display.
pub struct Silent;
impl Progress for Silent {}

/// Runs indexing for repositories, sharing the compiled parsers.
///
/// Indexing runs on a thread pool of its own whose threads run at a lower scheduling
/// priority: searches (on rayon's global pool) never queue behind parse tasks, and the
/// kernel gives them the CPU first while an index build keeps both cores busy.
pub struct Indexer {
    store: Arc<dyn Store>,
    analyzer: Arc<Analyzer>,
    data: DataDir,
    settings: IndexSettings,
    pool: Arc<rayon::ThreadPool>,
}

struct Processed {
    record: FileRecord,
    /// The file's blocks; empty when it has no searchable text.
    doc: Vec<DocInput>,
    analysis: FileAnalysis,
    language: Option<Language>,
}

/// A unit of work streamed from the build to the database writer.
enum Batch {
    Deleted(Vec<String>),
    Files(Vec<FileUpdate>),
}

/// Files parsed per batch sent to the database: small enough to overlap well.
const FILES_PER_BATCH: usize = 256;
/// The most files a pool thread takes at once from the shared work list: small enough
/// that the threads finish together, large enough that handing out work costs nothing.
const FILES_PER_TASK: usize = 4;

/// The result of the synchronous part of a run.
struct Built {
    commit: String,
    full: bool,
    files: u64,
    deleted: u64,
    resolver: Resolver,
    /// Whether files appeared, disappeared, or resolver configuration changed.
    paths_changed: bool,
    snapshot: Snapshot,
    bytes: u64,
}

impl Indexer {
    pub fn new(
        store: Arc<dyn Store>,
        analyzer: Arc<Analyzer>,
        data: DataDir,
        settings: IndexSettings,
    ) -> Result<Indexer, IndexError> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(settings.threads)
            .thread_name(|i| format!("kotadb-index-{i}"))
            .start_handler(|_| crate::lower_thread_priority())
            .build()
            .map_err(|e| IndexError::Task(format!("starting the indexing threads: {e}")))?;
        Ok(Indexer {
            store,
            analyzer,
            data,
            settings,
            pool: Arc::new(pool),
        })
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn data(&self) -> &DataDir {
        &self.data
    }

    /// Loads the saved snapshot of a repository (None if there is none yet).
    pub fn load_snapshot(&self, repository: &Repository) -> Result<Option<Snapshot>, IndexError> {
        Ok(Snapshot::load(&self.data.index(&repository.id))?)
    }

    /// Indexes `repository` at `revision` (its default branch when None) and returns the
    /// new snapshot, already saved.
    pub async fn index(
        &self,
        repository: &Repository,
        revision: Option<String>,
        progress: Arc<dyn Progress>,
    ) -> Result<(IndexSummary, Arc<Snapshot>), IndexError> {
        self.index_cancellable(repository, revision, progress, Cancel::default())
            .await
    }

    /// [`Indexer::index`] that stops with [`IndexError::Cancelled`], committing nothing,
    /// soon after `cancel` is set: the build checks it before each file.
    pub async fn index_cancellable(
        &self,
        repository: &Repository,
        revision: Option<String>,
        progress: Arc<dyn Progress>,
        cancel: Cancel,
    ) -> Result<(IndexSummary, Arc<Snapshot>), IndexError> {
        let started = Instant::now();
        let source = Source::of_stored(&repository.git_url);
        let job = BuildJob {
            source,
            clone_dir: self.data.clone(&repository.id),
            index_dir: self.data.index(&repository.id),
            revision: revision.or_else(|| repository.default_branch.clone()),
            indexed_commit: repository.last_indexed_commit.clone(),
            known_files: self
                .store
                .files(&repository.id)
                .await?
                .into_iter()
                .map(|f| f.path)
                .collect(),
            analyzer: Arc::clone(&self.analyzer),
            pool: Arc::clone(&self.pool),
            settings: self.settings.clone(),
            progress,
            cancel,
        };
        // The blocking build streams batches of parsed files; the database writes them
        // inside one transaction while the next batch is parsed.
        let (sender, mut batches) = tokio::sync::mpsc::channel::<Batch>(8);
        let build = tokio::task::spawn_blocking(move || job.run(sender));
        let mut update = self.store.begin_update(&repository.id).await?;
        let mut symbols = 0u64;
        let mut references = 0u64;
        let mut files_indexed = 0u64;
        let mut write_error = None;
        while let Some(batch) = batches.recv().await {
            let result = match batch {
                Batch::Deleted(paths) => update.delete_files(&paths).await,
                Batch::Files(files) => {
                    files_indexed += files.len() as u64;
                    symbols += files
                        .iter()
                        .map(|f| f.analysis.symbols.len() as u64)
                        .sum::<u64>();
                    references += files
                        .iter()
                        .map(|f| f.analysis.references.len() as u64)
                        .sum::<u64>();
                    update.upsert_files(&files).await
                }
            };
            if let Err(error) = result {
                write_error = Some(error);
                break; // dropping the receiver stops the build at its next send
            }
        }
        drop(batches);
        let built = build.await.map_err(|e| IndexError::Task(e.to_string()))?;
        if let Some(error) = write_error {
            return Err(error.into());
        }
        let built = built?;
        tracing::info!(
            seconds = started.elapsed().as_secs_f64(),
            files = files_indexed,
            "files processed and written"
        );
        if built.paths_changed && !built.full {
            let resolver = &built.resolver;
            let resolve = |import: &StoredImport| -> Vec<String> {
                match Language::from_path(&import.path) {
                    Some(language) => resolver.resolve(
                        &import.path,
                        language,
                        &Import {
                            spec: import.spec.clone(),
                            kind: import.kind,
                            line: import.line,
                        },
                    ),
                    None => Vec::new(),
                }
            };
            update.reresolve_imports(&resolve).await?;
        }
        // The manifest is staged (written and synced) before the database commits and
        // installed (renamed) right after, so the index on disk and the records disagree
        // only for the length of a rename; the caller publishes the snapshot next.
        let dir = self.data.index(&repository.id);
        let snapshot = built.snapshot;
        let staging = snapshot.clone();
        let staged = tokio::task::spawn_blocking(move || staging.stage(&dir))
            .await
            .map_err(|e| IndexError::Task(e.to_string()))??;
        update.commit(&built.commit).await?;
        staged.install()?;
        let summary = IndexSummary {
            commit: built.commit,
            full: built.full,
            files: built.files,
            files_indexed,
            files_deleted: built.deleted,
            bytes_indexed: built.bytes,
            symbols,
            references,
            seconds: started.elapsed().as_secs_f64(),
            index_bytes: snapshot.byte_len(),
        };
        Ok((summary, Arc::new(snapshot)))
    }
}

fn resolve_all(
    resolver: &Resolver,
    path: &str,
    language: Language,
    imports: &[crate::engine::model::Import],
) -> Vec<ResolvedImport> {
    imports
        .iter()
        .map(|import| ResolvedImport {
            spec: import.spec.clone(),
            kind: import.kind,
            line: import.line,
            targets: resolver.resolve(path, language, import),
        })
        .collect()
}

/// Everything the blocking part of a run needs, owned, so it can move to a worker thread.
struct BuildJob {
    source: Source,
    clone_dir: PathBuf,
    index_dir: PathBuf,
    revision: Option<String>,
    indexed_commit: Option<String>,
    known_files: Vec<String>,
    analyzer: Arc<Analyzer>,
    pool: Arc<rayon::ThreadPool>,
    settings: IndexSettings,
    progress: Arc<dyn Progress>,
    cancel: Cancel,
}

thread_local! {
    /// Per-thread scratch bitmap for trigram deduplication (2 MiB, reused).
    static BITMAP: RefCell<TrigramBitmap> = RefCell::new(TrigramBitmap::default());
}

impl BuildJob {
    fn run(self, sender: tokio::sync::mpsc::Sender<Batch>) -> Result<Built, IndexError> {
        let repo = git::open(&self.source, &self.clone_dir)?;
        let commit = git::resolve_commit(&repo, &self.source, self.revision.as_deref())?;
        let entries = git::tree_entries(&repo, commit)?;
        let files: Vec<&Entry> = entries
            .iter()
            .filter(|e| e.kind == EntryKind::File)
            .collect();
        std::fs::create_dir_all(&self.index_dir)?;

        // Incremental only from a snapshot that agrees with the database.
        let previous = Snapshot::load(&self.index_dir)?.filter(|s| {
            Some(&s.commit) == self.indexed_commit.as_ref() && git::has_commit(&repo, &s.commit)
        });
        let (full, to_index, deleted, paths_changed, base) = match previous {
            Some(previous) if previous.commit == commit.to_string() => {
                (false, Vec::new(), Vec::new(), false, previous)
            }
            Some(previous) => {
                let old = git2::Oid::from_str(&previous.commit).map_err(GitError::Git)?;
                let changed: HashSet<String> = git::changed_paths(&repo, old, commit)?
                    .into_iter()
                    .collect();
                let now: HashSet<&str> = files.iter().map(|e| e.path.as_str()).collect();
                let to_index: Vec<&Entry> = files
                    .iter()
                    .copied()
                    .filter(|e| changed.contains(&e.path))
                    .collect();
                let known: HashSet<&str> = self.known_files.iter().map(String::as_str).collect();
                let mut deleted: Vec<String> = changed
                    .iter()
                    .filter(|p| !now.contains(p.as_str()) && known.contains(p.as_str()))
                    .cloned()
                    .collect();
                deleted.sort();
                let added = to_index.iter().any(|e| !known.contains(e.path.as_str()));
                let config = changed.iter().any(|p| Resolver::is_config_path(p));
                let paths_changed = added || !deleted.is_empty() || config;
                (false, to_index, deleted, paths_changed, previous)
            }
            None => {
                let now: HashSet<&str> = files.iter().map(|e| e.path.as_str()).collect();
                let deleted = self
                    .known_files
                    .iter()
                    .filter(|p| !now.contains(p.as_str()))
                    .cloned()
                    .collect();
                (true, files.clone(), deleted, true, Snapshot::empty())
            }
        };

        let config_reader = |path: &str| -> Option<Vec<u8>> {
            let entry = entries
                .binary_search_by(|e| e.path.as_str().cmp(path))
                .ok()
                .map(|i| &entries[i])?;
            let blob = repo.find_blob(entry.blob).ok()?;
            (blob.size() <= 1 << 20).then(|| blob.content().to_vec())
        };
        let resolver = Resolver::new(files.iter().map(|e| e.path.as_str()), &config_reader);

        self.progress.start(to_index.len() as u64, 0);
        let repo_path = repo.path().to_path_buf();
        drop(repo);
        let stopped = || IndexError::Task("the database writer stopped".into());
        if !deleted.is_empty() {
            sender
                .blocking_send(Batch::Deleted(deleted.clone()))
                .map_err(|_| stopped())?;
        }

        // Segments of bounded source size, each built from batches streamed to the database.
        // Changed and deleted paths die in the old segments; new copies are appended.
        let commit_text = commit.to_string();
        let replaced: Vec<String> = to_index
            .iter()
            .map(|e| e.path.clone())
            .chain(deleted.iter().cloned())
            .collect();
        let mut snapshot = base.apply(&commit_text, None, &replaced);
        let bytes_done = AtomicU64::new(0);
        let to_index = self.sized(&repo_path, &to_index)?;
        let mut start = 0;
        while start < to_index.len() {
            let take = self.segment_prefix(&to_index[start..]);
            let docs = self.stream(
                &repo_path,
                &to_index[start..start + take],
                &bytes_done,
                &resolver,
                &sender,
            )?;
            start += take;
            if let Some(added) = self.write_segment(docs)? {
                snapshot = snapshot.apply(&commit_text, Some(added), &[]);
            }
        }

        if !full && snapshot.needs_merge() {
            snapshot = self.rebuild(&repo_path, &files, &commit_text)?;
        }
        Ok(Built {
            commit: commit_text,
            full,
            files: files.len() as u64,
            bytes: bytes_done.load(Ordering::Relaxed),
            deleted: deleted.len() as u64,
            resolver,
            paths_changed,
            snapshot,
        })
    }

    /// Processes files on the indexing pool as one stream: each pool thread sends its
    /// parsed files to the database writer every `FILES_PER_BATCH`, so no core waits for
    /// the slowest file of a batch. Work is handed out a few files at a time, largest
    /// first, so the run does not end with one core parsing a big file while the other
    /// idles. Returns the search documents (any order: the segment writer sorts them).
    fn stream(
        &self,
        repo_path: &Path,
        entries: &[(&Entry, u64)],
        bytes_done: &AtomicU64,
        resolver: &Resolver,
        sender: &tokio::sync::mpsc::Sender<Batch>,
    ) -> Result<Vec<DocInput>, IndexError> {
        /// What one pool thread has produced and not yet handed on. Each thread only
        /// locks its own slot, so the lock is never contended.
        #[derive(Default)]
        struct Worker {
            repo: Option<git2::Repository>,
            updates: Vec<FileUpdate>,
            docs: Vec<DocInput>,
        }
        let stopped = || IndexError::Task("the database writer stopped".into());
        let send = |updates: Vec<FileUpdate>| {
            sender
                .blocking_send(Batch::Files(updates))
                .map_err(|_| stopped())
        };
        let mut order = entries.to_vec();
        order.sort_by_key(|(_, size)| std::cmp::Reverse(*size));

        let slots: Vec<std::sync::Mutex<Worker>> = (0..self.pool.current_num_threads())
            .map(|_| std::sync::Mutex::new(Worker::default()))
            .collect();
        self.pool.install(|| {
            order.par_iter().with_max_len(FILES_PER_TASK).try_for_each(
                |entry| -> Result<(), IndexError> {
                    if self.cancel.is_cancelled() {
                        return Err(IndexError::Cancelled);
                    }
                    let slot = rayon::current_thread_index().unwrap_or(0) % slots.len();
                    let mut worker = slots[slot]
                        .lock()
                        .map_err(|_| IndexError::Task("an indexing thread panicked".into()))?;
                    if worker.repo.is_none() {
                        worker.repo =
                            Some(git2::Repository::open(repo_path).map_err(GitError::Git)?);
                    }
                    let Some(repo) = worker.repo.as_ref() else {
                        return Ok(());
                    };
                    let p = self.process_file(repo, *entry, true)?;
                    bytes_done.fetch_add(p.record.size_bytes, Ordering::Relaxed);
                    self.progress.advance(1);
                    worker.docs.extend(p.doc);
                    let imports = match p.language {
                        Some(language) => {
                            resolve_all(resolver, &p.record.path, language, &p.analysis.imports)
                        }
                        None => Vec::new(),
                    };
                    worker.updates.push(FileUpdate {
                        file: p.record,
                        analysis: p.analysis,
                        imports,
                    });
                    if worker.updates.len() >= FILES_PER_BATCH {
                        send(std::mem::take(&mut worker.updates))?;
                    }
                    Ok(())
                },
            )
        })?;
        let mut docs = Vec::new();
        for slot in slots {
            let worker = slot
                .into_inner()
                .map_err(|_| IndexError::Task("an indexing thread panicked".into()))?;
            if !worker.updates.is_empty() {
                send(worker.updates)?;
            }
            docs.extend(worker.docs);
        }
        Ok(docs)
    }

    /// Each entry with its blob's size, read once from the object header (not the
    /// content): it orders the work, cuts segments and skips files over the size limit.
    fn sized<'a>(
        &self,
        repo_path: &Path,
        entries: &[&'a Entry],
    ) -> Result<Vec<(&'a Entry, u64)>, IndexError> {
        let repo = git2::Repository::open(repo_path).map_err(GitError::Git)?;
        let odb = repo.odb().map_err(GitError::Git)?;
        entries
            .iter()
            .map(|entry| {
                let (size, _) = odb.read_header(entry.blob).map_err(GitError::Git)?;
                Ok((*entry, size as u64))
            })
            .collect()
    }

    /// How many of `entries` fit in one segment, by blob size.
    fn segment_prefix(&self, entries: &[(&Entry, u64)]) -> usize {
        let mut budget = 0u64;
        for (i, (_, size)) in entries.iter().enumerate() {
            budget += (*size).min(self.settings.max_file_bytes);
            if budget >= self.settings.segment_bytes {
                return i + 1;
            }
        }
        entries.len()
    }

    /// Reads and processes files on the rayon pool, in order.
    fn process(
        &self,
        repo_path: &Path,
        entries: &[(&Entry, u64)],
        bytes_done: &AtomicU64,
        parse: bool,
    ) -> Result<Vec<Processed>, IndexError> {
        self.pool.install(|| {
            entries
                .par_iter()
                .map_init(
                    || git2::Repository::open(repo_path),
                    |repo, entry| {
                        let repo = repo
                            .as_ref()
                            .map_err(|e| GitError::Git(git2::Error::from_str(&e.to_string())))?;
                        let processed = self.process_file(repo, *entry, parse)?;
                        bytes_done.fetch_add(processed.record.size_bytes, Ordering::Relaxed);
                        self.progress.advance(1);
                        Ok(processed)
                    },
                )
                .collect()
        })
    }

    /// Processes one file; `size` is its blob's size, from [`BuildJob::sized`].
    fn process_file(
        &self,
        repo: &git2::Repository,
        (entry, size): (&Entry, u64),
        parse: bool,
    ) -> Result<Processed, IndexError> {
        let language = Language::from_path(&entry.path);
        let mut record = FileRecord {
            path: entry.path.clone(),
            content_hash: entry.blob.to_string(),
            language: language.map(|l| l.name().to_string()),
            size_bytes: size,
            skipped: None,
        };
        if size > self.settings.max_file_bytes {
            record.skipped = Some("too_large");
            return Ok(Processed {
                record,
                doc: Vec::new(),
                analysis: FileAnalysis::default(),
                language,
            });
        }
        let blob = repo.find_blob(entry.blob).map_err(GitError::Git)?;
        let text = match searchable_text(blob.content(), self.settings.max_file_bytes) {
            Ok(text) => text,
            Err(skip) => {
                record.skipped = Some(match skip {
                    Skip::Binary => "binary",
                    Skip::TooLarge => "too_large",
                });
                return Ok(Processed {
                    record,
                    doc: Vec::new(),
                    analysis: FileAnalysis::default(),
                    language,
                });
            }
        };
        let mut blob_id = [0u8; 20];
        blob_id.copy_from_slice(&entry.blob.as_bytes()[..20]);
        let blocks: Vec<DocInput> = segment::blocks(&text)
            .into_iter()
            .map(|(first_line, range)| {
                let block = &text[range];
                DocInput {
                    path: entry.path.clone(),
                    blob_id,
                    language,
                    first_line,
                    text_len: block.len() as u32,
                    compressed: lz4_flex::block::compress(block),
                    trigrams: BITMAP
                        .with(|bitmap| distinct_trigrams(block, &mut bitmap.borrow_mut())),
                }
            })
            .collect();
        let analysis = match language {
            Some(language) if parse && text.len() as u64 <= self.settings.max_parse_bytes => {
                let analyzer = &self.analyzer;
                match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    analyzer.analyze(language, &text)
                })) {
                    Ok(Ok(analysis)) => analysis,
                    Ok(Err(error)) => {
                        tracing::warn!(path = %entry.path, %error, "file not parsed");
                        FileAnalysis::default()
                    }
                    Err(_) => {
                        tracing::error!(path = %entry.path, "parser panicked; file indexed for search only");
                        FileAnalysis::default()
                    }
                }
            }
            _ => FileAnalysis::default(),
        };
        Ok(Processed {
            record,
            doc: blocks,
            analysis,
            language,
        })
    }

    /// Writes documents as a new segment file under a fresh name.
    fn write_segment(
        &self,
        docs: Vec<DocInput>,
    ) -> Result<Option<(String, Arc<Segment>)>, IndexError> {
        if docs.is_empty() {
            return Ok(None);
        }
        let file = format!("seg-{}.kseg", uuid::Uuid::new_v4());
        let path = self.index_dir.join(&file);
        segment::write(&path, docs)?;
        Ok(Some((file, Arc::new(Segment::open(&path)?))))
    }

    /// Rebuilds the whole search index of a commit (no parsing), when incremental
    /// segments have piled up.
    fn rebuild(
        &self,
        repo_path: &Path,
        files: &[&Entry],
        commit: &str,
    ) -> Result<Snapshot, IndexError> {
        let mut snapshot = Snapshot {
            commit: commit.to_string(),
            ..Snapshot::empty()
        };
        let ignored = AtomicU64::new(0);
        let sized = self.sized(repo_path, files)?;
        let mut start = 0;
        while start < sized.len() {
            let take = self.segment_prefix(&sized[start..]);
            let processed =
                self.process(repo_path, &sized[start..start + take], &ignored, false)?;
            start += take;
            if let Some(added) =
                self.write_segment(processed.into_iter().flat_map(|p| p.doc).collect())?
            {
                snapshot = snapshot.apply(commit, Some(added), &[]);
            }
        }
        Ok(snapshot)
    }
}
