//! Where canonical records live: one interface, an embedded SQLite implementation and
//! (in SaaS mode) a Postgres one.
//!
//! Architecture invariant: every read and write is scoped to an organization; a
//! repository id from a request is never trusted on its own. Callers hold an
//! `Arc<dyn Store>` and never learn which database is behind it.

pub mod sqlite;

use crate::engine::model::{FileAnalysis, ImportKind};
use async_trait::async_trait;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database")]
    Database(#[from] sqlx::Error),
    #[error("database: {0}")]
    Sqlite(String),
    #[error("database migration")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("record not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// The organization that owns every record on a single-user installation.
pub const LOCAL_ORGANIZATION: &str = "00000000-0000-0000-0000-000000000000";

/// An organization id: the tenant boundary.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct OrganizationId(pub String);

impl OrganizationId {
    pub fn local() -> OrganizationId {
        OrganizationId(LOCAL_ORGANIZATION.to_string())
    }
}

/// A repository id (a UUID), parsed at the edge.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct RepositoryId(pub String);

impl RepositoryId {
    pub fn new_random() -> RepositoryId {
        RepositoryId(uuid::Uuid::new_v4().to_string())
    }

    /// Accepts only a canonical UUID, so an id is safe as a directory name.
    pub fn parse(text: &str) -> Option<RepositoryId> {
        uuid::Uuid::parse_str(text.trim())
            .ok()
            .map(|u| RepositoryId(u.to_string()))
    }
}

impl std::fmt::Display for RepositoryId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, schemars::JsonSchema)]
pub struct Repository {
    #[schemars(with = "String")]
    pub id: RepositoryId,
    pub name: String,
    pub git_url: String,
    pub default_branch: Option<String>,
    pub status: String,
    pub last_indexed_commit: Option<String>,
    pub last_indexed_at: Option<String>,
    pub created_at: String,
}

impl Repository {
    /// Whether a user's selector (other than an id) names this repository: its name or URL.
    pub fn is_named(&self, selector: &str) -> bool {
        self.name == selector || self.git_url == selector
    }
}

#[derive(Debug, Clone)]
pub struct NewRepository {
    pub name: String,
    pub git_url: String,
    pub default_branch: Option<String>,
}

/// A file of the indexed commit.
#[derive(Debug, Clone)]
pub struct FileRecord {
    pub path: String,
    /// The git blob id, hex.
    pub content_hash: String,
    pub language: Option<String>,
    pub size_bytes: u64,
    /// Why the file has no searchable text (`binary`, `too_large`), if it has none.
    pub skipped: Option<&'static str>,
}

/// An import of a file with the repository files it resolved to (none: external).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedImport {
    pub spec: String,
    pub kind: ImportKind,
    pub line: u32,
    pub targets: Vec<String>,
}

/// One file's new records.
#[derive(Debug, Clone)]
pub struct FileUpdate {
    pub file: FileRecord,
    pub analysis: FileAnalysis,
    pub imports: Vec<ResolvedImport>,
}

/// A stored import with the file it is in, for re-resolution.
#[derive(Debug, Clone)]
pub struct StoredImport {
    pub path: String,
    pub spec: String,
    pub kind: ImportKind,
    pub line: u32,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, schemars::JsonSchema)]
pub struct SymbolHit {
    pub repository_id: String,
    pub name: String,
    pub kind: String,
    pub path: String,
    pub line_start: u32,
    pub line_end: u32,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, schemars::JsonSchema)]
pub struct ReferenceHit {
    pub repository_id: String,
    pub path: String,
    pub line: u32,
    pub column: u32,
    pub kind: String,
}

/// How a symbol search matches names. This is the one statement of the rules; REST
/// (`POST /api/v1/symbols/search`), the MCP tool `search_symbols` and
/// `kotadb search --symbols` all follow it, on every backend.
///
/// - A pattern with `*` (any run of characters, also none) or `?` (exactly one character)
///   is a **glob** over the whole name: `get*` finds `getUser`, `*Error` finds
///   `ParseError`, `?et` finds `get` and `set`. Every other character stands for itself
///   (`[`, `%`, `_` too).
/// - Any other pattern finds the names that **contain** it: `parse` finds `parse`,
///   `parse_args` and `try_parse`.
/// - Letters match ASCII case-insensitively in both forms (`PARSE` finds `parse`).
///
/// Ranking, best first: the exact name in the same case; the exact name in another case;
/// names that start with the pattern (a glob: names it matches in the same case); the
/// rest. Within a rank, shorter names first, then by name, path and line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SymbolPattern {
    Substring(String),
    Glob(String),
}

impl SymbolPattern {
    /// The longest pattern accepted: longer than any real symbol name, far below what
    /// makes a database's pattern matcher give up.
    pub const MAX_BYTES: usize = 512;

    /// Reads a pattern as the user typed it; `Err` says why it is refused.
    pub fn parse(text: &str) -> Result<SymbolPattern, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("pattern is empty".into());
        }
        if text.len() > Self::MAX_BYTES {
            return Err(format!("pattern is longer than {} bytes", Self::MAX_BYTES));
        }
        if text.chars().any(char::is_control) {
            return Err("pattern contains control characters".into());
        }
        if text.contains(['*', '?']) {
            Ok(SymbolPattern::Glob(text.to_string()))
        } else {
            Ok(SymbolPattern::Substring(text.to_string()))
        }
    }

    /// The pattern as the user typed it.
    pub fn text(&self) -> &str {
        match self {
            SymbolPattern::Substring(text) | SymbolPattern::Glob(text) => text,
        }
    }

    /// The SQL `LIKE` pattern (escape character `\`) that matches what this pattern
    /// matches, case aside: both backends compare it case-insensitively.
    pub fn like(&self) -> String {
        match self {
            SymbolPattern::Substring(text) => format!("%{}%", like_escape(text)),
            SymbolPattern::Glob(glob) => {
                let mut out = String::with_capacity(glob.len() + 4);
                for c in glob.chars() {
                    match c {
                        '*' => out.push('%'),
                        '?' => out.push('_'),
                        '%' | '_' | '\\' => {
                            out.push('\\');
                            out.push(c);
                        }
                        c => out.push(c),
                    }
                }
                out
            }
        }
    }

    /// The `LIKE` pattern of the "starts with" rank (case-insensitive): a substring
    /// pattern followed by anything. None for a glob, whose second rank is a
    /// case-sensitive match (see [`SymbolPattern::case_sensitive_glob`]).
    pub fn prefix_like(&self) -> Option<String> {
        match self {
            SymbolPattern::Substring(text) => Some(format!("{}%", like_escape(text))),
            SymbolPattern::Glob(_) => None,
        }
    }
}

/// Escapes `LIKE`'s wildcards and its escape character `\`.
pub fn like_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[derive(Debug, Clone)]
pub struct SymbolQuery {
    pub pattern: SymbolPattern,
    pub kind: Option<String>,
    pub repository: Option<RepositoryId>,
    pub limit: u32,
}

/// Which way to follow import edges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeDirection {
    /// What a file imports.
    Dependencies,
    /// What imports a file.
    Dependents,
}

/// What an indexing job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobType {
    /// Index the repository's default branch (incrementally when an index exists).
    FullIndex,
    /// Bring the index up to a pushed commit.
    IncrementalUpdate,
}

impl JobType {
    pub fn name(self) -> &'static str {
        match self {
            JobType::FullIndex => "full_index",
            JobType::IncrementalUpdate => "incremental_update",
        }
    }
}

/// A row of `indexing_jobs`, as `GET /api/v1/jobs/{id}` shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, schemars::JsonSchema)]
pub struct JobRecord {
    pub id: String,
    pub repository_id: String,
    pub job_type: String,
    /// queued | running | succeeded | failed
    pub status: String,
    pub revision: Option<String>,
    pub attempts: u32,
    pub error: Option<String>,
    pub queued_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
}

/// How a claimed job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    Succeeded,
    /// Back to the queue, runnable after the delay.
    Retry {
        error: String,
        after: std::time::Duration,
    },
    /// Failed for good.
    Failed {
        error: String,
    },
    /// Given back at shutdown without counting the attempt.
    Released,
}

/// Queue figures for `/health`.
#[derive(Debug, Clone, Copy, Serialize, Default, PartialEq, Eq, schemars::JsonSchema)]
pub struct QueueDepth {
    pub queued: u64,
    pub running: u64,
    /// Jobs failed for good in the last hour.
    pub failed_recent: u64,
}

/// A pricing tier, which sets the hourly request limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    Free,
    Solo,
    Team,
}

impl Tier {
    pub fn name(self) -> &'static str {
        match self {
            Tier::Free => "free",
            Tier::Solo => "solo",
            Tier::Team => "team",
        }
    }

    pub fn parse(text: &str) -> Option<Tier> {
        match text {
            "free" => Some(Tier::Free),
            "solo" => Some(Tier::Solo),
            "team" => Some(Tier::Team),
            _ => None,
        }
    }
}

/// A stored API key: everything but the secret, of which only a hash is kept.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ApiKeyRecord {
    pub key_id: String,
    pub organization_id: String,
    pub name: String,
    pub tier: Tier,
    #[serde(skip)]
    pub key_hash: String,
    pub is_admin: bool,
    pub usage_count: u64,
    pub last_used_at: Option<String>,
    pub expires_at: Option<String>,
    pub revoked_at: Option<String>,
    pub created_at: String,
}

/// Resolves a stored import again against the new set of files.
pub type Reresolve<'a> = &'a (dyn Fn(&StoredImport) -> Vec<String> + Send + Sync);

/// The records of one indexing run, streamed in while files are still being parsed so
/// the database work overlaps the parsing, and made visible at once by `commit`.
#[async_trait]
pub trait RepositoryUpdate: Send {
    /// Removes files (and their symbols, references, imports) no longer in the commit.
    async fn delete_files(&mut self, paths: &[String]) -> StoreResult<()>;
    /// Adds or replaces files with their new records.
    async fn upsert_files(&mut self, files: &[FileUpdate]) -> StoreResult<()>;
    /// Resolves every import of the repository again (after files appeared or disappeared).
    async fn reresolve_imports(&mut self, resolve: Reresolve<'_>) -> StoreResult<()>;
    /// Records the indexed commit and makes everything visible atomically.
    async fn commit(self: Box<Self>, commit: &str) -> StoreResult<()>;
}

#[async_trait]
pub trait Store: Send + Sync {
    /// Which database this is (`sqlite`, `postgres`), for `/health`.
    fn backend(&self) -> &'static str;

    async fn create_repository(
        &self,
        org: &OrganizationId,
        new: NewRepository,
    ) -> StoreResult<Repository>;
    async fn repository(
        &self,
        org: &OrganizationId,
        id: &RepositoryId,
    ) -> StoreResult<Option<Repository>>;
    /// A repository whatever its org: for workers running jobs, never for requests.
    async fn repository_unscoped(&self, id: &RepositoryId) -> StoreResult<Option<Repository>>;
    /// The most recently (re)indexed files of a repository, newest first.
    async fn recent_files(
        &self,
        id: &RepositoryId,
        limit: u32,
    ) -> StoreResult<Vec<(FileRecord, String)>>;
    async fn repository_by_url(
        &self,
        org: &OrganizationId,
        git_url: &str,
    ) -> StoreResult<Option<Repository>>;
    async fn repositories(&self, org: &OrganizationId) -> StoreResult<Vec<Repository>>;
    /// Deletes a repository and every record of it; false when it was not the org's.
    async fn delete_repository(&self, org: &OrganizationId, id: &RepositoryId)
        -> StoreResult<bool>;
    async fn set_repository_status(&self, id: &RepositoryId, status: &str) -> StoreResult<()>;

    /// Starts the atomic update of one indexing run: readers see the records of the
    /// previous commit until [`RepositoryUpdate::commit`], and nothing if it is dropped.
    async fn begin_update(&self, id: &RepositoryId) -> StoreResult<Box<dyn RepositoryUpdate>>;
    /// Every indexed file of the repository, sorted by path.
    async fn files(&self, id: &RepositoryId) -> StoreResult<Vec<FileRecord>>;

    async fn search_symbols(
        &self,
        org: &OrganizationId,
        query: &SymbolQuery,
    ) -> StoreResult<Vec<SymbolHit>>;
    async fn find_references(
        &self,
        org: &OrganizationId,
        name: &str,
        repository: Option<&RepositoryId>,
        limit: u32,
    ) -> StoreResult<Vec<ReferenceHit>>;
    /// Queues a job; returns it as stored.
    async fn enqueue_job(
        &self,
        id: &RepositoryId,
        job_type: JobType,
        revision: Option<&str>,
    ) -> StoreResult<JobRecord>;
    /// A job of one of the org's repositories.
    async fn job(&self, org: &OrganizationId, job_id: &str) -> StoreResult<Option<JobRecord>>;
    /// Claims the oldest runnable job: queued and due, or running with an expired lease (its
    /// worker died). Marks it running and counts the attempt in the same statement. Never
    /// claims a job of a repository that has a job running under a live lease.
    async fn claim_job(
        &self,
        worker: &str,
        lease: std::time::Duration,
    ) -> StoreResult<Option<JobRecord>>;
    async fn heartbeat_job(&self, job_id: &str, lease: std::time::Duration) -> StoreResult<()>;
    async fn finish_job(&self, job_id: &str, outcome: &JobOutcome) -> StoreResult<()>;
    async fn queue_depth(&self) -> StoreResult<QueueDepth>;

    async fn create_key(&self, org: &OrganizationId, key: &ApiKeyRecord) -> StoreResult<()>;
    async fn key(&self, key_id: &str) -> StoreResult<Option<ApiKeyRecord>>;
    async fn keys(&self, org: &OrganizationId) -> StoreResult<Vec<ApiKeyRecord>>;
    /// Revokes a key of the org; false when there is no such key.
    async fn revoke_key(&self, org: &OrganizationId, key_id: &str) -> StoreResult<bool>;
    async fn count_keys(&self) -> StoreResult<u64>;
    /// Adds batched usage: (key id, requests, last used time).
    async fn record_key_usage(&self, usage: &[(String, u64)]) -> StoreResult<()>;
    /// The org's most recent jobs, newest first.
    async fn recent_jobs(&self, org: &OrganizationId, limit: u32) -> StoreResult<Vec<JobRecord>>;
    /// Every organization.
    async fn organizations(&self) -> StoreResult<Vec<OrganizationId>>;
    /// The organization with this name, created if missing.
    async fn ensure_organization(&self, name: &str) -> StoreResult<OrganizationId>;
    /// Closes the connections (at shutdown, after the last write).
    async fn close(&self);
    /// A cheap query, to measure database latency for `/health`.
    async fn ping(&self) -> StoreResult<()>;

    /// The symbols defined in one file.
    async fn symbols_in_file(&self, id: &RepositoryId, path: &str) -> StoreResult<Vec<SymbolHit>>;
    /// One hop of the import graph from each of `paths`.
    async fn edges(
        &self,
        id: &RepositoryId,
        paths: &[String],
        direction: EdgeDirection,
    ) -> StoreResult<Vec<(String, String)>>;
}
