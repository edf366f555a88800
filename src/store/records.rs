//! The records derived from indexing (`indexed_files`, `symbols`, `references`,
//! `dependencies`): written by one indexing run at a time, read by every search.

use super::{OrganizationId, RepositoryId, StoreResult, Timestamp};
use crate::engine::model::{FileAnalysis, ImportKind};
use async_trait::async_trait;
use serde::Serialize;

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
    /// case-sensitive match of the glob itself, in each backend's own case-sensitive operator.
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

/// The derived records of indexed repositories.
#[async_trait]
pub trait IndexStore: Send + Sync {
    /// Starts the atomic update of one indexing run: readers see the records of the
    /// previous commit until [`RepositoryUpdate::commit`], and nothing if it is dropped.
    async fn begin_update(&self, id: &RepositoryId) -> StoreResult<Box<dyn RepositoryUpdate>>;
    /// Every indexed file of the repository, sorted by path.
    async fn files(&self, id: &RepositoryId) -> StoreResult<Vec<FileRecord>>;
    /// The most recently (re)indexed files of a repository, newest first, with the time
    /// each was indexed.
    async fn recent_files(
        &self,
        id: &RepositoryId,
        limit: u32,
    ) -> StoreResult<Vec<(FileRecord, Timestamp)>>;
    /// Symbols of the org's repositories matching `query` (rules: [`SymbolPattern`]).
    async fn search_symbols(
        &self,
        org: &OrganizationId,
        query: &SymbolQuery,
    ) -> StoreResult<Vec<SymbolHit>>;
    /// Uses of `name` in the org's repositories.
    async fn find_references(
        &self,
        org: &OrganizationId,
        name: &str,
        repository: Option<&RepositoryId>,
        limit: u32,
    ) -> StoreResult<Vec<ReferenceHit>>;
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
