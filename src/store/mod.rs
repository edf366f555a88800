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
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration: {0}")]
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

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Repository {
    pub id: RepositoryId,
    pub name: String,
    pub git_url: String,
    pub default_branch: Option<String>,
    pub status: String,
    pub last_indexed_commit: Option<String>,
    pub last_indexed_at: Option<String>,
    pub created_at: String,
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

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SymbolHit {
    pub repository_id: String,
    pub name: String,
    pub kind: String,
    pub path: String,
    pub line_start: u32,
    pub line_end: u32,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ReferenceHit {
    pub repository_id: String,
    pub path: String,
    pub line: u32,
    pub column: u32,
    pub kind: String,
}

#[derive(Debug, Clone)]
pub struct SymbolQuery {
    pub pattern: String,
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
    /// One hop of the import graph from each of `paths`.
    async fn edges(
        &self,
        id: &RepositoryId,
        paths: &[String],
        direction: EdgeDirection,
    ) -> StoreResult<Vec<(String, String)>>;
}
