//! How the tools reach a client: stdio, and Streamable HTTP through rmcp behind
//! [`McpHttp`], a small layer that makes rmcp answer the clients it would otherwise turn
//! away (an `Accept` naming only JSON) and answer unparsable bodies in JSON-RPC.

use super::KotaMcp;
use crate::service::Service;
use axum::body::Body;
use axum::body::Bytes;
use http::{header, HeaderValue, Request, Response, StatusCode};
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::ServiceExt;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// Which `Host` and `Origin` values the HTTP transport accepts. rmcp refuses any other
/// (403) before a tool runs, so a web page cannot drive a server on this machine through
/// DNS rebinding.
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

/// Origins accepted when none are configured: pages served from this machine only.
pub const DEFAULT_ALLOWED_ORIGINS: &[&str] =
    &["http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*"];
/// Hosts always accepted, whatever else is configured, so local clients need no setup.
pub const LOOPBACK_HOSTS: &[&str] = &["localhost", "127.0.0.1", "::1"];

/// Largest POST body accepted (rmcp's own default).
const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

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
