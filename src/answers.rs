//! The answers KotaDB gives, independent of the surface that asks: REST, MCP and the CLI
//! all serialise these types, so `kotadb search --json` prints exactly the REST body.

use crate::engine::search::{CompiledSearch, SearchError, SearchRequest, DEFAULT_LIMIT};
use crate::engine::snapshot::Snapshot;
use crate::store::{RepositoryId, SymbolHit};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Instant;

/// `POST /api/v1/search/code` body.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeSearchBody {
    #[serde(alias = "term")]
    pub query: String,
    #[serde(default)]
    pub repository: Option<String>,
    #[serde(default)]
    pub regex: bool,
    #[serde(default = "default_true")]
    pub case_sensitive: bool,
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default = "default_limit")]
    pub limit: usize,
}

fn default_true() -> bool {
    true
}

fn default_limit() -> usize {
    DEFAULT_LIMIT
}

impl CodeSearchBody {
    pub fn to_request(&self) -> SearchRequest {
        SearchRequest {
            query: self.query.clone(),
            regex: self.regex,
            case_sensitive: self.case_sensitive,
            path: self.path.clone(),
            language: self.language.clone(),
            limit: self.limit,
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, schemars::JsonSchema)]
pub struct CodeResult {
    pub repository_id: String,
    pub path: String,
    pub line: u64,
    pub column: u64,
    pub text: String,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct CodeSearchResponse {
    pub results: Vec<CodeResult>,
    /// Every matching line, also those past `limit`.
    pub total: u64,
    pub truncated: bool,
    pub took_ms: f64,
    /// Why an empty answer is empty, when it is not simply "no match".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notice: Option<String>,
}

/// Searches the given snapshots (in order) and merges their results under one limit.
pub fn search_code(
    compiled: &CompiledSearch,
    snapshots: &[(RepositoryId, Option<Arc<Snapshot>>)],
    cache: Option<&crate::engine::segment::TextCache>,
) -> Result<CodeSearchResponse, SearchError> {
    let started = Instant::now();
    let mut results = Vec::new();
    let mut total = 0u64;
    let mut pending = Vec::new();
    for (id, snapshot) in snapshots {
        let Some(snapshot) = snapshot else {
            pending.push(id.0.clone());
            continue;
        };
        let found = compiled.run(snapshot, cache)?;
        total += found.total;
        let room = compiled.limit.saturating_sub(results.len());
        results.extend(found.matches.into_iter().take(room).map(|m| CodeResult {
            repository_id: id.0.clone(),
            path: m.path,
            line: m.line,
            column: m.column,
            text: m.text,
        }));
    }
    let notice = if !results.is_empty() {
        None
    } else if snapshots.is_empty() {
        Some("no repository is registered yet: index one first".to_string())
    } else if pending.len() == snapshots.len() {
        Some("no repository has finished indexing yet".to_string())
    } else if !pending.is_empty() {
        Some(format!(
            "no match; {} repositories are not indexed yet",
            pending.len()
        ))
    } else {
        None
    };
    Ok(CodeSearchResponse {
        truncated: total > results.len() as u64,
        results,
        total,
        took_ms: (started.elapsed().as_secs_f64() * 1e6).round() / 1e3,
        notice,
    })
}

/// `POST /api/v1/symbols/search` body.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SymbolSearchBody {
    #[serde(alias = "query")]
    pub pattern: String,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub repository: Option<String>,
    #[serde(default)]
    pub limit: Option<u32>,
}

/// A request that is well-formed JSON but asks for something invalid (400).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadRequest(pub String);

/// The most symbol or reference results one request may ask for.
pub const MAX_RECORD_LIMIT: u32 = 10_000;
pub const DEFAULT_RECORD_LIMIT: u32 = 50;

/// Checks a record limit: absent means the default, 0 or too large is refused.
pub fn record_limit(limit: Option<u32>) -> Result<u32, BadRequest> {
    match limit {
        None => Ok(DEFAULT_RECORD_LIMIT),
        Some(n) if (1..=MAX_RECORD_LIMIT).contains(&n) => Ok(n),
        Some(n) => Err(BadRequest(format!(
            "limit must be between 1 and {MAX_RECORD_LIMIT}, not {n}"
        ))),
    }
}

impl SymbolSearchBody {
    /// The store query for this body, within `repository` when one was named.
    pub fn to_query(
        &self,
        repository: Option<RepositoryId>,
    ) -> Result<crate::store::SymbolQuery, BadRequest> {
        Ok(crate::store::SymbolQuery {
            pattern: crate::store::SymbolPattern::parse(&self.pattern).map_err(BadRequest)?,
            kind: self.kind.clone().filter(|k| !k.is_empty()),
            repository,
            limit: record_limit(self.limit)?,
        })
    }
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct SymbolSearchResponse {
    pub results: Vec<SymbolHit>,
}

/// `POST /api/v1/references` body.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReferencesBody {
    #[serde(alias = "name")]
    pub symbol: String,
    #[serde(default)]
    pub repository: Option<String>,
    #[serde(default)]
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ReferencesResponse {
    pub results: Vec<crate::store::ReferenceHit>,
}

/// Which way `search_dependencies` walks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Dependencies,
    Dependents,
    Both,
}

/// `POST /api/v1/dependencies` body.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DependenciesBody {
    pub repository: String,
    #[serde(alias = "file_path")]
    pub path: String,
    #[serde(default = "default_direction")]
    pub direction: Direction,
    #[serde(default = "default_depth")]
    pub depth: u32,
}

fn default_direction() -> Direction {
    Direction::Both
}

fn default_depth() -> u32 {
    1
}

/// The deepest dependency walk a caller may ask for.
pub const MAX_DEPTH: u32 = 10;

#[derive(Debug, Clone, Serialize, PartialEq, Eq, schemars::JsonSchema)]
pub struct DependencyResult {
    pub path: String,
    pub depth: u32,
    /// `dependency` (the file imports it, maybe indirectly) or `dependent` (it imports the file).
    pub direction: &'static str,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct DependenciesResponse {
    pub results: Vec<DependencyResult>,
}

/// Walks the import graph of one repository from `path`.
pub async fn search_dependencies(
    store: &dyn crate::store::Store,
    repository: &RepositoryId,
    path: &str,
    direction: Direction,
    depth: u32,
) -> Result<DependenciesResponse, crate::store::StoreError> {
    use crate::store::EdgeDirection;
    let depth = depth.clamp(1, MAX_DEPTH);
    let mut results = Vec::new();
    let wanted: &[(EdgeDirection, &'static str)] = match direction {
        Direction::Dependencies => &[(EdgeDirection::Dependencies, "dependency")],
        Direction::Dependents => &[(EdgeDirection::Dependents, "dependent")],
        Direction::Both => &[
            (EdgeDirection::Dependencies, "dependency"),
            (EdgeDirection::Dependents, "dependent"),
        ],
    };
    for &(edge_direction, label) in wanted {
        let mut walk = crate::engine::deps::Walk::new(path, depth);
        while let Some(frontier) = walk.frontier() {
            let edges = store.edges(repository, frontier, edge_direction).await?;
            walk.advance(edges.into_iter().map(|(_, to)| to));
        }
        let reached = walk.finish();
        results.extend(reached.into_iter().map(|(path, depth)| DependencyResult {
            path,
            depth,
            direction: label,
        }));
    }
    Ok(DependenciesResponse { results })
}

/// `GET /api/v1/jobs/{id}`: the job's fields, then its story (`indexing_job_events`,
/// oldest first: queued, claimed, retry, rescued, succeeded or failed, with messages).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct JobDetail {
    #[serde(flatten)]
    pub job: crate::store::JobRecord,
    pub events: Vec<crate::store::JobEvent>,
}
