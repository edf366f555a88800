//! The HTTP surface: REST under `/api/v1`, MCP at `/mcp`, GitHub webhooks at
//! `/webhooks/github/{repository_id}` (signed, no key), `/health`, `/metrics` and
//! `/openapi.json`.
//!
//! Architecture invariant: handlers hold no locks and no shared mutable state; they call
//! `Service` operations, which read snapshots published by the repository actors and
//! send messages to them. Overload is answered, not queued without bound: past
//! `max_concurrent_requests` a request gets 503 at once (load shedding), and every
//! request has a deadline.

pub mod auth;
pub mod caller;
pub mod error;
pub mod health;
pub mod mcp;
pub mod metrics;
pub mod openapi;
pub mod request_id;
pub mod rest;
pub mod webhooks;

use crate::service::Service;
use axum::error_handling::HandleErrorLayer;
use axum::extract::DefaultBodyLimit;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{middleware, Json, Router};
use error::ApiError;
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceBuilder;

/// Limits of the HTTP layer.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub max_body_bytes: usize,
    pub request_timeout: Duration,
    pub max_concurrent_requests: usize,
    pub mcp: mcp::McpSettings,
}

/// What every handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub service: Arc<Service>,
    pub auth: Arc<auth::Auth>,
    pub metrics: Arc<metrics::Metrics>,
}

async fn overloaded(error: tower::BoxError) -> ApiError {
    if error.is::<tower::load_shed::error::Overloaded>() {
        ApiError::unavailable("server busy: too many requests in flight, retry shortly", 1)
    } else if error.is::<tower::timeout::error::Elapsed>() {
        ApiError::unavailable("request timed out", 1)
    } else {
        tracing::error!(%error, "middleware error");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; see the server log",
        )
    }
}

async fn openapi_json() -> impl IntoResponse {
    Json(openapi::document())
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such endpoint; see /openapi.json")
}

/// axum answers a known path asked with another method with a bare, empty 405; give it
/// the JSON error shape every other error has, keeping its `Allow` header.
async fn json_method_not_allowed(response: Response) -> Response {
    if response.status() != StatusCode::METHOD_NOT_ALLOWED
        || response.headers().contains_key(header::CONTENT_TYPE)
    {
        return response;
    }
    let allow = response.headers().get(header::ALLOW).cloned();
    let mut json = ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this path does not take that method; see /openapi.json",
    )
    .into_response();
    if let Some(allow) = allow {
        json.headers_mut().insert(header::ALLOW, allow);
    }
    json
}

/// A panic inside a request becomes a logged JSON 500, never a dropped connection.
fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!(panic = %crate::panic_message(panic.as_ref()), "request handler panicked");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "internal error; see the server log",
    )
    .into_response()
}

/// The whole application.
pub fn router(state: AppState, settings: &HttpSettings) -> Router {
    let mut api = Router::new();
    for route in openapi::routes().into_iter().filter(|r| r.authenticated) {
        api = (route.mount)(api);
    }
    let authenticate = middleware::from_fn_with_state(state.clone(), auth::require_key);
    let api = api.route_layer(authenticate.clone());
    let mcp = Router::new()
        .nest_service(
            "/mcp",
            mcp::streamable_service(Arc::clone(&state.service), &settings.mcp),
        )
        .layer(authenticate);
    // Signed by GitHub, not by a key; its own body cap (GitHub sends up to 25 MB), read
    // by the handler itself, so the API's default cap below does not apply to it.
    let webhooks = Router::new().route(
        "/webhooks/github/{repository_id}",
        axum::routing::post(webhooks::github),
    );
    let public = Router::new()
        .merge(webhooks)
        .route("/health", get(health::health))
        .route("/metrics", get(health::metrics))
        .route("/openapi.json", get(openapi_json));
    let metrics = Arc::clone(&state.metrics);
    public
        .merge(api)
        .merge(mcp)
        .fallback(not_found)
        .with_state(state)
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            panic_response,
        ))
        .layer(middleware::map_response(json_method_not_allowed))
        .layer(middleware::from_fn_with_state(metrics, metrics::record))
        .layer(middleware::from_fn(request_id::request_span))
        .layer(DefaultBodyLimit::max(settings.max_body_bytes))
        .layer(
            ServiceBuilder::new()
                .layer(HandleErrorLayer::new(overloaded))
                .load_shed()
                .concurrency_limit(settings.max_concurrent_requests)
                .timeout(settings.request_timeout),
        )
}
