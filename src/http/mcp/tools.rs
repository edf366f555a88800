//! The ten tools: each maps its arguments onto a [`Service`](crate::service::Service)
//! operation, acting as the caller of the request, and reads a [`ServiceError`] back as a
//! message for the agent.

use super::schema::lean_schema;
use super::KotaMcp;
use crate::answers::{
    self, CodeSearchBody, CodeSearchResponse, DependenciesBody, ReferencesBody, SymbolSearchBody,
};
use crate::service::{ChangeImpact, FileView, RecentFile, RepositoryView, ServiceError};
use crate::store::JobRecord;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::model::Extensions;
use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

// Tool arguments: they mirror the REST bodies. Kept lean: the ten definitions are sent to
// every agent on `tools/list`. The types are private and carry no doc comment of their
// own, since schemars would send it to every agent as the schema's description.

#[derive(Debug, Deserialize, JsonSchema)]
struct SearchCodeArgs {
    /// Text to find (a regex with regex=true)
    pub query: Option<String>,
    /// Alias of query
    pub term: Option<String>,
    /// Repository id or name (default: all)
    pub repository: Option<String>,
    pub regex: Option<bool>,
    /// Default true
    pub case_sensitive: Option<bool>,
    /// Path glob
    pub path: Option<String>,
    pub language: Option<String>,
    /// Default 50
    pub limit: Option<u32>,
}

#[derive(Debug, Deserialize, JsonSchema)]
struct SearchSymbolsArgs {
    /// Name or glob (* and ?)
    pub pattern: String,
    /// e.g. function, class, method
    pub kind: Option<String>,
    pub repository: Option<String>,
    pub limit: Option<u32>,
}

#[derive(Debug, Deserialize, JsonSchema)]
struct FindReferencesArgs {
    pub symbol: String,
    pub repository: Option<String>,
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum DirectionArg {
    Dependencies,
    Dependents,
    Both,
}

#[derive(Debug, Deserialize, JsonSchema)]
struct SearchDependenciesArgs {
    pub repository: String,
    /// File path in the repository
    pub path: String,
    /// Default both
    pub direction: Option<DirectionArg>,
    /// Default 1
    pub depth: Option<u32>,
}

#[derive(Debug, Deserialize, JsonSchema)]
struct ChangeImpactArgs {
    pub repository: String,
    /// Changed file paths
    pub paths: Vec<String>,
    pub depth: Option<u32>,
}

#[derive(Debug, Deserialize, JsonSchema)]
struct GetFileArgs {
    pub repository: String,
    pub path: String,
    pub start_line: Option<u64>,
    pub end_line: Option<u64>,
}

#[derive(Debug, Deserialize, JsonSchema)]
struct RecentFilesArgs {
    pub repository: String,
    pub limit: Option<u32>,
}

#[derive(Debug, Deserialize, JsonSchema)]
struct RepositoryArg {
    /// Repository id or name
    pub repository: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
struct JobArg {
    pub job_id: String,
}

// Results that are lists are wrapped in an object: structured content must be an object.

#[derive(Debug, Serialize, JsonSchema)]
struct RepositoriesOut {
    pub repositories: Vec<RepositoryView>,
}

#[derive(Debug, Serialize, JsonSchema)]
struct RecentFilesOut {
    pub files: Vec<RecentFile>,
}

#[derive(Debug, Serialize, JsonSchema)]
struct IndexOut {
    pub job_id: String,
    pub repository_id: String,
    pub status: crate::store::JobStatus,
}

// A tool returns `Result<Json<T>, String>` spelled out (the #[tool] macro reads the
// output schema from that exact shape): structured content, or a tool error
// (`isError: true`) whose text is the message.

/// The message an agent sees for a failed operation. Internal details stay in the log.
fn tool_error(error: ServiceError) -> String {
    match error {
        ServiceError::NotFound(what) => format!("not found: {what}"),
        ServiceError::BadRequest(e) => format!("invalid arguments: {e}"),
        ServiceError::Conflict(message) => format!("conflict: {message}"),
        ServiceError::Unavailable(message) => format!("service busy, retry shortly: {message}"),
        ServiceError::Search(e) => match e {
            crate::engine::search::SearchError::Index(inner) => {
                tracing::error!(error = %inner, "mcp: search failed");
                "internal error while searching".to_string()
            }
            other => format!("invalid arguments: {other}"),
        },
        ServiceError::Store(e) => {
            tracing::error!(error = %e, "mcp: store error");
            "internal error".to_string()
        }
        ServiceError::Internal(e) => {
            tracing::error!(error = %e, "mcp: internal error");
            "internal error".to_string()
        }
    }
}

fn non_empty(value: Option<String>) -> Option<String> {
    value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

#[tool_router]
impl KotaMcp {
    #[tool(
        description = "Search code: every matching line (literal or regex), like ripgrep.",
        annotations(read_only_hint = true)
    )]
    async fn search_code(
        &self,
        extensions: Extensions,
        Parameters(args): Parameters<SearchCodeArgs>,
    ) -> Result<Json<CodeSearchResponse>, String> {
        let caller = self.caller(&extensions)?;
        let query = match (args.query, args.term) {
            (Some(query), _) if !query.is_empty() => query,
            (_, Some(term)) if !term.is_empty() => term,
            _ => return Err("invalid arguments: query is required".into()),
        };
        let limit = args
            .limit
            .map_or(crate::engine::search::DEFAULT_LIMIT, |l| l as usize);
        let body = CodeSearchBody {
            query,
            repository: non_empty(args.repository),
            regex: args.regex.unwrap_or(false),
            case_sensitive: args.case_sensitive.unwrap_or(true),
            path: non_empty(args.path),
            language: non_empty(args.language),
            limit,
        };
        self.service
            .search_code(&caller.org, &body)
            .await
            .map(Json)
            .map_err(tool_error)
    }

    #[tool(
        description = "Find symbol definitions by name or glob.",
        annotations(read_only_hint = true)
    )]
    async fn search_symbols(
        &self,
        extensions: Extensions,
        Parameters(args): Parameters<SearchSymbolsArgs>,
    ) -> Result<Json<answers::SymbolSearchResponse>, String> {
        let caller = self.caller(&extensions)?;
        let body = SymbolSearchBody {
            pattern: args.pattern,
            kind: non_empty(args.kind),
            repository: non_empty(args.repository),
            limit: args.limit,
        };
        self.service
            .search_symbols(&caller.org, &body)
            .await
            .map(Json)
            .map_err(tool_error)
    }

    #[tool(
        description = "Where a symbol is used (calls, references, imports).",
        annotations(read_only_hint = true)
    )]
    async fn find_references(
        &self,
        extensions: Extensions,
        Parameters(args): Parameters<FindReferencesArgs>,
    ) -> Result<Json<answers::ReferencesResponse>, String> {
        let caller = self.caller(&extensions)?;
        let body = ReferencesBody {
            symbol: args.symbol,
            repository: non_empty(args.repository),
            limit: args.limit,
        };
        self.service
            .find_references(&caller.org, &body)
            .await
            .map(Json)
            .map_err(tool_error)
    }

    #[tool(
        description = "What a file imports and what imports it, up to depth.",
        annotations(read_only_hint = true)
    )]
    async fn search_dependencies(
        &self,
        extensions: Extensions,
        Parameters(args): Parameters<SearchDependenciesArgs>,
    ) -> Result<Json<answers::DependenciesResponse>, String> {
        let caller = self.caller(&extensions)?;
        let direction = match args.direction.unwrap_or(DirectionArg::Both) {
            DirectionArg::Dependencies => answers::Direction::Dependencies,
            DirectionArg::Dependents => answers::Direction::Dependents,
            DirectionArg::Both => answers::Direction::Both,
        };
        let body = DependenciesBody {
            repository: args.repository,
            path: args.path,
            direction,
            depth: args.depth.unwrap_or(1),
        };
        self.service
            .dependencies(&caller.org, &body)
            .await
            .map(Json)
            .map_err(tool_error)
    }

    #[tool(
        description = "What changing these files may affect: dependents, symbols, their uses.",
        annotations(read_only_hint = true)
    )]
    async fn analyze_change_impact(
        &self,
        extensions: Extensions,
        Parameters(args): Parameters<ChangeImpactArgs>,
    ) -> Result<Json<ChangeImpact>, String> {
        let caller = self.caller(&extensions)?;
        let paths: Vec<String> = args
            .paths
            .iter()
            .map(|p| {
                p.trim()
                    .trim_start_matches("./")
                    .trim_start_matches('/')
                    .to_string()
            })
            .collect();
        self.service
            .change_impact(
                &caller.org,
                &args.repository,
                &paths,
                args.depth.unwrap_or(1),
            )
            .await
            .map(Json)
            .map_err(tool_error)
    }

    #[tool(
        description = "A file's text at the indexed commit, optionally a 1-based line range.",
        annotations(read_only_hint = true)
    )]
    async fn get_file(
        &self,
        extensions: Extensions,
        Parameters(args): Parameters<GetFileArgs>,
    ) -> Result<Json<FileView>, String> {
        let caller = self.caller(&extensions)?;
        if let (Some(start), Some(end)) = (args.start_line, args.end_line) {
            if start > end {
                return Err("invalid arguments: start_line is after end_line".into());
            }
        }
        self.service
            .get_file(
                &caller.org,
                &args.repository,
                &args.path,
                args.start_line,
                args.end_line,
            )
            .await
            .map(Json)
            .map_err(tool_error)
    }

    #[tool(
        description = "Recently indexed files of a repository.",
        annotations(read_only_hint = true)
    )]
    async fn list_recent_files(
        &self,
        extensions: Extensions,
        Parameters(args): Parameters<RecentFilesArgs>,
    ) -> Result<Json<RecentFilesOut>, String> {
        let caller = self.caller(&extensions)?;
        let limit = args.limit.unwrap_or(answers::DEFAULT_RECORD_LIMIT);
        self.service
            .recent_files(&caller.org, &args.repository, limit)
            .await
            .map(|files| Json(RecentFilesOut { files }))
            .map_err(tool_error)
    }

    #[tool(
        description = "The registered repositories and their index status.",
        annotations(read_only_hint = true)
    )]
    async fn list_repositories(
        &self,
        extensions: Extensions,
    ) -> Result<Json<RepositoriesOut>, String> {
        let caller = self.caller(&extensions)?;
        self.service
            .repositories(&caller.org)
            .await
            .map(|repositories| Json(RepositoriesOut { repositories }))
            .map_err(tool_error)
    }

    #[tool(description = "Queue a full re-index of a registered repository; returns the job id.")]
    async fn index_repository(
        &self,
        extensions: Extensions,
        Parameters(args): Parameters<RepositoryArg>,
    ) -> Result<Json<IndexOut>, String> {
        let caller = self.caller(&extensions)?;
        if !caller.permissions.write {
            return Err(
                "forbidden: this key is read-only; indexing needs a key with write permission"
                    .into(),
            );
        }
        // Unlike the other tools, this one has always trimmed its selector and named an
        // empty one as such; clients keep seeing that.
        let selector =
            non_empty(Some(args.repository)).ok_or("invalid arguments: repository is empty")?;
        let repository = self
            .service
            .select(&caller.org, &selector)
            .await
            .map_err(tool_error)?;
        let job = self
            .service
            .index_repository(&caller.org, &repository.id.0)
            .await
            .map_err(tool_error)?;
        Ok(Json(IndexOut {
            job_id: job.id,
            repository_id: job.repository_id,
            status: job.status,
        }))
    }

    #[tool(
        description = "Status of an indexing job.",
        annotations(read_only_hint = true)
    )]
    async fn get_index_job_status(
        &self,
        extensions: Extensions,
        Parameters(args): Parameters<JobArg>,
    ) -> Result<Json<JobRecord>, String> {
        let caller = self.caller(&extensions)?;
        self.service
            .job(&caller.org, &args.job_id)
            .await
            .map(Json)
            .map_err(tool_error)
    }
}

/// The tools with their schemas made lean once (no `$schema`, no integer `format` /
/// `minimum: 0`, no `default: null`): every agent receives these definitions.
pub(super) static TOOLS: std::sync::LazyLock<ToolRouter<KotaMcp>> =
    std::sync::LazyLock::new(|| {
        let mut router = KotaMcp::tool_router();
        for route in router.map.values_mut() {
            route.attr.input_schema = Arc::new(lean_schema(&route.attr.input_schema));
            if let Some(output) = &route.attr.output_schema {
                route.attr.output_schema = Some(Arc::new(lean_schema(output)));
            }
        }
        router
    });
