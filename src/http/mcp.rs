//! The MCP surface: the ten KotaDB tools over Streamable HTTP (stateless, JSON responses,
//! so any instance answers any request) and over stdio (`kotadb mcp --stdio`).
//!
//! Every tool acts as a [`Caller`]: over HTTP the one the authentication middleware put
//! into the request's extensions (rmcp hands the tool the request's `http::request::Parts`),
//! over stdio [`Caller::local`]. Failures are MCP tool errors (`isError: true`) with a
//! clear message; another tenant's id reads as "not found", exactly like an unknown one.
//!
//! In front of rmcp sits a small layer ([`McpHttp`]) that
//! - widens `Accept: application/json` (what the seeds' curl sends) to also name
//!   `text/event-stream`, which rmcp insists on even though it answers JSON here;
//! - turns rmcp's plain-text 415 for an unparsable body into a JSON-RPC error: `-32700`
//!   (parse error) for malformed JSON, `-32600` (invalid request) for batches and for JSON
//!   that is not a JSON-RPC message, both with HTTP 400.
//!
//! `Host` and `Origin` are checked by rmcp itself (DNS-rebinding protection) against
//! [`McpSettings`].

use crate::answers::{
    self, CodeSearchBody, CodeSearchResponse, DependenciesBody, ReferencesBody, SymbolSearchBody,
};
use crate::http::caller::Caller;
use crate::service::{ChangeImpact, FileView, RecentFile, RepositoryView, Service, ServiceError};
use crate::store::JobRecord;
use axum::body::Body;
use axum::body::Bytes;
use http::{header, HeaderValue, Request, Response, StatusCode};
use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::model::Extensions;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{tool, tool_handler, tool_router, ServiceExt};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// Which `Host` and `Origin` values the HTTP transport accepts.
#[derive(Debug, Clone, Default)]
pub struct McpSettings {
    /// Host names (or `host:port`) accepted besides loopback (`localhost`, `127.0.0.1`,
    /// `::1`, any port). Behind a proxy, list the public names. `*` accepts any Host.
    pub allowed_hosts: Vec<String>,
    /// Browser origins accepted (`scheme://host[:port|:*]`). Empty means the local ones
    /// (`http://localhost:*`, `http://127.0.0.1:*`, `http://[::1]:*`). `*` accepts any.
    /// A request without `Origin` (non-browser clients) is always accepted.
    pub allowed_origins: Vec<String>,
}

/// Origins accepted when none are configured.
pub const DEFAULT_ALLOWED_ORIGINS: &[&str] =
    &["http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*"];
/// Hosts always accepted.
pub const LOOPBACK_HOSTS: &[&str] = &["localhost", "127.0.0.1", "::1"];

/// Largest POST body accepted (rmcp's own default).
const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

// ---------------------------------------------------------------------------------------
// Tool arguments: they mirror the REST bodies. Kept lean: the ten definitions are sent to
// every agent on `tools/list`.

#[derive(Debug, Deserialize, JsonSchema)]
pub struct SearchCodeArgs {
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
pub struct SearchSymbolsArgs {
    /// Name or glob (* and ?)
    pub pattern: String,
    /// e.g. function, class, method
    pub kind: Option<String>,
    pub repository: Option<String>,
    pub limit: Option<u32>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct FindReferencesArgs {
    pub symbol: String,
    pub repository: Option<String>,
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DirectionArg {
    Dependencies,
    Dependents,
    Both,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct SearchDependenciesArgs {
    pub repository: String,
    /// File path in the repository
    pub path: String,
    /// Default both
    pub direction: Option<DirectionArg>,
    /// Default 1
    pub depth: Option<u32>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ChangeImpactArgs {
    pub repository: String,
    /// Changed file paths
    pub paths: Vec<String>,
    pub depth: Option<u32>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct GetFileArgs {
    pub repository: String,
    pub path: String,
    pub start_line: Option<u64>,
    pub end_line: Option<u64>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct RecentFilesArgs {
    pub repository: String,
    pub limit: Option<u32>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct RepositoryArg {
    /// Repository id or name
    pub repository: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct JobArg {
    pub job_id: String,
}

// Results that are lists are wrapped in an object: structured content must be an object.

#[derive(Debug, Serialize, JsonSchema)]
pub struct RepositoriesOut {
    pub repositories: Vec<RepositoryView>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct RecentFilesOut {
    pub files: Vec<RecentFile>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct IndexOut {
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

/// The MCP server: one per request over HTTP (stateless), one per process over stdio.
#[derive(Clone)]
pub struct KotaMcp {
    service: Arc<Service>,
    /// Stdio: every call acts as [`Caller::local`].
    local: bool,
}

impl KotaMcp {
    pub fn http(service: Arc<Service>) -> KotaMcp {
        KotaMcp {
            service,
            local: false,
        }
    }

    pub fn stdio(service: Arc<Service>) -> KotaMcp {
        KotaMcp {
            service,
            local: true,
        }
    }

    /// Who is calling: the authenticated caller of the HTTP request, or the local user.
    fn caller(&self, extensions: &Extensions) -> Result<Caller, String> {
        if self.local {
            return Ok(Caller::local());
        }
        extensions
            .get::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<Caller>())
            .cloned()
            .ok_or_else(|| "unauthenticated: send Authorization: Bearer <api key>".to_string())
    }

    /// A repository id from an id or a name / git URL among the caller's repositories.
    async fn repository_id(&self, caller: &Caller, selector: &str) -> Result<String, String> {
        let selector = selector.trim();
        if selector.is_empty() {
            return Err("invalid arguments: repository is empty".into());
        }
        if crate::store::RepositoryId::parse(selector).is_some() {
            return Ok(selector.to_string());
        }
        let all = self
            .service
            .repositories(&caller.org)
            .await
            .map_err(tool_error)?;
        let mut matching = all.into_iter().filter(|r| r.repository.is_named(selector));
        match (matching.next(), matching.next()) {
            (Some(one), None) => Ok(one.repository.id.0),
            (Some(_), Some(_)) => Err(format!(
                "invalid arguments: {selector:?} names several repositories: use an id"
            )),
            _ => Err("not found: repository".into()),
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
        let id = self.repository_id(&caller, &args.repository).await?;
        let job = self
            .service
            .index_repository(&caller.org, &id)
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
static TOOLS: std::sync::LazyLock<rmcp::handler::server::router::tool::ToolRouter<KotaMcp>> =
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

fn lean_schema(
    schema: &serde_json::Map<String, serde_json::Value>,
) -> serde_json::Map<String, serde_json::Value> {
    fn walk(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Object(map) => {
                let integer_format = map.get("format").and_then(|f| f.as_str()).is_some_and(|f| {
                    matches!(
                        f,
                        "uint"
                            | "uint8"
                            | "uint16"
                            | "uint32"
                            | "uint64"
                            | "int32"
                            | "int64"
                            | "double"
                            | "float"
                    )
                });
                if integer_format {
                    map.remove("format");
                    if map.get("minimum").and_then(|m| m.as_f64()) == Some(0.0) {
                        map.remove("minimum");
                    }
                }
                if map.get("default").is_some_and(|d| d.is_null()) {
                    map.remove("default");
                }
                map.values_mut().for_each(walk);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    let mut value = serde_json::Value::Object(schema.clone());
    if let serde_json::Value::Object(map) = &mut value {
        map.remove("$schema");
    }
    walk(&mut value);
    match value {
        serde_json::Value::Object(map) => map,
        _ => schema.clone(),
    }
}

#[tool_handler(
    router = TOOLS,
    name = "kotadb",
    instructions = "KotaDB code intelligence: search code, symbols, references and dependencies of indexed git repositories."
)]
impl rmcp::ServerHandler for KotaMcp {
    /// Every tool call, with a panic anywhere inside it turned into a tool error: rmcp
    /// runs each request in a task of its own, and a panic there would leave the client
    /// waiting for a reply that never comes.
    async fn call_tool(
        &self,
        request: rmcp::model::CallToolRequestParams,
        context: rmcp::service::RequestContext<rmcp::RoleServer>,
    ) -> Result<rmcp::model::CallToolResponse, rmcp::ErrorData> {
        use futures::FutureExt as _;
        let tool = request.name.clone();
        let tcc = rmcp::handler::server::tool::ToolCallContext::new(self, request, context);
        match std::panic::AssertUnwindSafe(TOOLS.call(tcc))
            .catch_unwind()
            .await
        {
            Ok(result) => result,
            Err(panic) => {
                tracing::error!(
                    tool = %tool,
                    panic = %crate::panic_message(panic.as_ref()),
                    "mcp: tool panicked"
                );
                Err(rmcp::ErrorData::internal_error(
                    "internal error; see the server log",
                    None,
                ))
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Transports.

/// `kotadb mcp --stdio`: serves the tools on stdin/stdout as the local user until stdin
/// closes.
pub async fn serve_stdio(service: Arc<Service>) -> anyhow::Result<()> {
    let running = KotaMcp::stdio(service)
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| anyhow::anyhow!("starting the MCP stdio server: {e}"))?;
    running
        .waiting()
        .await
        .map_err(|e| anyhow::anyhow!("MCP stdio server: {e}"))?;
    Ok(())
}

/// The rmcp configuration for `settings`: stateless, JSON responses, Host and Origin
/// validated.
pub fn http_config(settings: &McpSettings) -> StreamableHttpServerConfig {
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_sse_keep_alive(None)
        .with_max_request_body_bytes(MAX_BODY_BYTES);
    let hosts: Vec<String> = settings
        .allowed_hosts
        .iter()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .collect();
    let config = if hosts.iter().any(|h| h == "*") {
        config.disable_allowed_hosts()
    } else {
        config.with_allowed_hosts(LOOPBACK_HOSTS.iter().map(|h| h.to_string()).chain(hosts))
    };
    let origins: Vec<String> = settings
        .allowed_origins
        .iter()
        .map(|o| o.trim().trim_end_matches('/').to_string())
        .filter(|o| !o.is_empty())
        .collect();
    if origins.iter().any(|o| o == "*") {
        config.disable_allowed_origins()
    } else if origins.is_empty() {
        config
            .with_allowed_origins(DEFAULT_ALLOWED_ORIGINS.iter().copied())
            .enforce_origin_validation()
    } else {
        config
            .with_allowed_origins(origins)
            .enforce_origin_validation()
    }
}

/// The `/mcp` endpoint, ready for `Router::nest_service("/mcp", ...)`.
pub fn streamable_service(service: Arc<Service>, settings: &McpSettings) -> McpHttp {
    let inner = StreamableHttpService::new(
        move || Ok(KotaMcp::http(service.clone())),
        Arc::new(NeverSessionManager::default()),
        http_config(settings),
    );
    McpHttp { inner }
}

/// The MCP Streamable HTTP endpoint: rmcp's service behind the Accept / parse-error layer.
#[derive(Clone)]
pub struct McpHttp {
    inner: StreamableHttpService<KotaMcp, NeverSessionManager>,
}

impl tower::Service<Request<Body>> for McpHttp {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let inner = self.inner.clone();
        Box::pin(async move { Ok(handle(inner, request).await) })
    }
}

/// Whether an `Accept` header lets the client take JSON: absent, `application/json`,
/// `application/*` or `*/*` (not weighted 0).
fn accepts(headers: &http::HeaderMap, wanted: &str) -> bool {
    let values: Vec<&str> = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    if values.is_empty() {
        return true;
    }
    let (wanted_type, _) = wanted.split_once('/').unwrap_or((wanted, ""));
    values.iter().flat_map(|v| v.split(',')).any(|entry| {
        let mut parts = entry.split(';');
        let essence = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let zero = parts.any(|p| {
            let p = p.trim();
            p.len() >= 2
                && p[..2].eq_ignore_ascii_case("q=")
                && p[2..]
                    .trim()
                    .parse::<f32>()
                    .map(|q| q == 0.0)
                    .unwrap_or(false)
        });
        !zero && (essence == wanted || essence == "*/*" || essence == format!("{wanted_type}/*"))
    })
}

fn names(headers: &http::HeaderMap, essence: &str) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|entry| {
            entry
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case(essence)
        })
}

/// A JSON-RPC error response (HTTP 400).
fn jsonrpc_error(id: serde_json::Value, code: i64, message: &str) -> Response<Body> {
    let body = serde_json::json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}});
    Response::builder()
        .status(StatusCode::BAD_REQUEST)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap_or_else(|_| Response::new(Body::empty()))
}

async fn handle(
    mut inner: StreamableHttpService<KotaMcp, NeverSessionManager>,
    request: Request<Body>,
) -> Response<Body> {
    use tower::Service as _;
    if request.method() != http::Method::POST {
        let Ok(response) = inner.call(request).await;
        return response.map(Body::new);
    }
    let (mut parts, body) = request.into_parts();
    // rmcp wants both JSON and SSE named; it answers JSON here (json_response, no
    // session), so a client that takes JSON gets what it asked for.
    if accepts(&parts.headers, "application/json")
        && !(names(&parts.headers, "application/json")
            && names(&parts.headers, "text/event-stream"))
    {
        parts.headers.remove(header::ACCEPT);
        parts.headers.insert(
            header::ACCEPT,
            HeaderValue::from_static("application/json, text/event-stream"),
        );
    }
    let bytes = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return Response::builder()
                .status(StatusCode::PAYLOAD_TOO_LARGE)
                .body(Body::from(format!(
                    "Payload Too Large: request body exceeds {MAX_BODY_BYTES} bytes"
                )))
                .unwrap_or_else(|_| Response::new(Body::empty()));
        }
    };
    let request = Request::from_parts(parts, Body::from(bytes.clone()));
    let Ok(response) = inner.call(request).await;
    if response.status() != StatusCode::UNSUPPORTED_MEDIA_TYPE {
        return response.map(Body::new);
    }
    // rmcp answers 415 both for a wrong Content-Type and for a body it cannot read as one
    // JSON-RPC message; only the latter becomes a JSON-RPC error.
    let (head, body) = response.into_parts();
    let text: Bytes = axum::body::to_bytes(Body::new(body), 64 * 1024)
        .await
        .unwrap_or_default();
    if !text.starts_with(b"fail to deserialize") {
        return Response::from_parts(head, Body::from(text));
    }
    parse_error_response(&bytes)
}

/// The JSON-RPC answer to a body rmcp could not read as a single message.
fn parse_error_response(bytes: &[u8]) -> Response<Body> {
    match serde_json::from_slice::<serde_json::Value>(bytes) {
        Err(e) => jsonrpc_error(
            serde_json::Value::Null,
            -32700,
            &format!("Parse error: {e}"),
        ),
        Ok(serde_json::Value::Array(_)) => jsonrpc_error(
            serde_json::Value::Null,
            -32600,
            "Invalid Request: batches are not supported, send one JSON-RPC message per POST",
        ),
        Ok(value) => {
            let id = value
                .get("id")
                .filter(|id| id.is_string() || id.is_number())
                .cloned()
                .unwrap_or(serde_json::Value::Null);
            jsonrpc_error(
                id,
                -32600,
                "Invalid Request: not a JSON-RPC 2.0 request, notification or response",
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(accept: Option<&str>) -> http::HeaderMap {
        let mut map = http::HeaderMap::new();
        if let Some(accept) = accept {
            map.insert(header::ACCEPT, HeaderValue::from_str(accept).unwrap());
        }
        map
    }

    #[test]
    fn accept_json_detection() {
        assert!(accepts(&headers(None), "application/json"));
        assert!(accepts(
            &headers(Some("application/json")),
            "application/json"
        ));
        assert!(accepts(&headers(Some("*/*")), "application/json"));
        assert!(accepts(
            &headers(Some("application/*;q=0.5")),
            "application/json"
        ));
        assert!(!accepts(
            &headers(Some("text/event-stream")),
            "application/json"
        ));
        assert!(!accepts(
            &headers(Some("application/json;q=0")),
            "application/json"
        ));
    }

    #[test]
    fn parse_errors_are_jsonrpc() {
        let r = parse_error_response(b"{not json");
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let r = parse_error_response(b"[{\"jsonrpc\":\"2.0\"}]");
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn config_hosts_and_origins() {
        let config = http_config(&McpSettings::default());
        assert!(config.allowed_hosts.iter().any(|h| h == "127.0.0.1"));
        assert_eq!(config.allowed_origins.len(), DEFAULT_ALLOWED_ORIGINS.len());
        let config = http_config(&McpSettings {
            allowed_hosts: vec!["kotadb.example.com".into()],
            allowed_origins: vec!["https://app.example.com".into()],
        });
        assert!(config
            .allowed_hosts
            .iter()
            .any(|h| h == "kotadb.example.com"));
        assert_eq!(
            config.allowed_origins,
            vec!["https://app.example.com".to_string()]
        );
    }
}
