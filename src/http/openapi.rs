//! The REST API's routes, declared once: the router is built from this table and so is
//! the OpenAPI description at `/openapi.json`, with schemas derived from the Rust types
//! (schemars). A route cannot exist without being documented, or the reverse.

use super::rest;
use super::AppState;
use crate::answers;
use axum::routing::{get, post};
use axum::Router;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde_json::{json, Map, Value};

type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

fn schema<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<T>()
}

/// One REST route: how it is mounted and how it is described.
pub struct Route {
    pub method: &'static str,
    /// The path in OpenAPI form (`{id}`), which is also axum 0.8's form.
    pub path: &'static str,
    pub summary: &'static str,
    pub request: Option<SchemaFn>,
    pub success: u16,
    pub response: Option<SchemaFn>,
    pub authenticated: bool,
    pub mount: fn(Router<AppState>) -> Router<AppState>,
}

/// Every REST route of the API (`/mcp` is described elsewhere). Routes with
/// `authenticated: false` are mounted by the router itself (`http::router`).
pub fn routes() -> Vec<Route> {
    vec![
        Route {
            method: "post",
            path: "/api/v1/repositories",
            summary: "Register a repository and queue its first index",
            request: Some(schema::<rest::CreateRepositoryBody>),
            success: 201,
            response: Some(schema::<crate::service::CreatedRepository>),
            authenticated: true,
            mount: |r| r.route("/api/v1/repositories", post(rest::create_repository).get(rest::list_repositories)),
        },
        Route {
            method: "get",
            path: "/api/v1/repositories",
            summary: "The caller's repositories",
            request: None,
            success: 200,
            response: Some(schema::<rest::RepositoryList>),
            authenticated: true,
            mount: |r| r, // mounted with POST above
        },
        Route {
            method: "get",
            path: "/api/v1/repositories/{id}",
            summary: "One of the caller's repositories",
            request: None,
            success: 200,
            response: Some(schema::<crate::service::RepositoryView>),
            authenticated: true,
            mount: |r| r.route("/api/v1/repositories/{id}", get(rest::get_repository).delete(rest::delete_repository)),
        },
        Route {
            method: "delete",
            path: "/api/v1/repositories/{id}",
            summary: "Delete a repository and everything indexed from it",
            request: None,
            success: 204,
            response: None,
            authenticated: true,
            mount: |r| r, // mounted with GET above
        },
        Route {
            method: "post",
            path: "/api/v1/repositories/{id}/index",
            summary: "Queue a re-index",
            request: None,
            success: 202,
            response: Some(schema::<rest::JobAccepted>),
            authenticated: true,
            mount: |r| r.route("/api/v1/repositories/{id}/index", post(rest::index_repository)),
        },
        Route {
            method: "post",
            path: "/api/v1/repositories/{id}/webhook-secret",
            summary: "Rotate the repository's webhook secret (shown once in the answer); the previous secret keeps verifying for 24 hours or until the next rotation; needs write permission",
            request: None,
            success: 200,
            response: Some(schema::<crate::service::RotatedSecret>),
            authenticated: true,
            mount: |r| r.route("/api/v1/repositories/{id}/webhook-secret", post(super::webhooks::rotate_secret)),
        },
        Route {
            method: "post",
            path: "/webhooks/github/{repository_id}",
            summary: "GitHub webhook (no key: X-Hub-Signature-256, HMAC-SHA256 of the raw body with the repository's webhook_secret, is checked first; unknown repository and bad or missing signature are the same 401). Needs X-GitHub-Event and X-GitHub-Delivery (400). ping: 200 {\"pong\"}; push to the tracked branch (the registered default_branch, else the payload's repository.default_branch): 202 {\"job_id\", \"revision\", \"coalesced\"} (an incremental_update job, or the repository's queued job moved to the newer commit); a redelivery of an X-GitHub-Delivery: 200 {\"duplicate\": true, \"job_id\"}; other branches, tags, deletions and events: 202 {\"ignored\": reason}. Body up to 25 MB (413).",
            request: None,
            success: 202,
            response: Some(schema::<crate::service::WebhookReply>),
            authenticated: false,
            mount: |r| r, // mounted by the router outside the key middleware
        },
        Route {
            method: "get",
            path: "/api/v1/keys",
            summary: "The organization's API keys (never their secrets); needs write permission",
            request: None,
            success: 200,
            response: Some(schema::<crate::service::KeyList>),
            authenticated: true,
            mount: |r| r.route("/api/v1/keys", get(rest::list_keys).post(rest::create_key)),
        },
        Route {
            method: "post",
            path: "/api/v1/keys",
            summary: "Create a key (shown once in the answer); needs write permission",
            request: Some(schema::<crate::service::CreateKeyBody>),
            success: 201,
            response: Some(schema::<crate::service::CreatedKeyView>),
            authenticated: true,
            mount: |r| r, // mounted with GET above
        },
        Route {
            method: "delete",
            path: "/api/v1/keys/{key_id}",
            summary: "Revoke a key at once on every instance; needs write permission",
            request: None,
            success: 204,
            response: None,
            authenticated: true,
            mount: |r| r.route("/api/v1/keys/{key_id}", axum::routing::delete(rest::revoke_key)),
        },
        Route {
            method: "get",
            path: "/api/v1/jobs/{id}",
            summary: "An indexing job's status, with its events (queued, claimed, retry, rescued, succeeded, failed)",
            request: None,
            success: 200,
            response: Some(schema::<crate::answers::JobDetail>),
            authenticated: true,
            mount: |r| r.route("/api/v1/jobs/{id}", get(rest::get_job)),
        },
        Route {
            method: "post",
            path: "/api/v1/search/code",
            summary: "Code search: every matching line (literal, regex, case-insensitive, path and language filters)",
            request: Some(schema::<answers::CodeSearchBody>),
            success: 200,
            response: Some(schema::<answers::CodeSearchResponse>),
            authenticated: true,
            mount: |r| r.route("/api/v1/search/code", post(rest::search_code)),
        },
        Route {
            method: "post",
            path: "/api/v1/symbols/search",
            summary: "Symbol definitions by name: exact, prefix, then substring",
            request: Some(schema::<answers::SymbolSearchBody>),
            success: 200,
            response: Some(schema::<answers::SymbolSearchResponse>),
            authenticated: true,
            mount: |r| r.route("/api/v1/symbols/search", post(rest::search_symbols)),
        },
        Route {
            method: "post",
            path: "/api/v1/references",
            summary: "Where a name is called, referenced or imported",
            request: Some(schema::<answers::ReferencesBody>),
            success: 200,
            response: Some(schema::<answers::ReferencesResponse>),
            authenticated: true,
            mount: |r| r.route("/api/v1/references", post(rest::references)),
        },
        Route {
            method: "post",
            path: "/api/v1/dependencies",
            summary: "The import graph around a file",
            request: Some(schema::<answers::DependenciesBody>),
            success: 200,
            response: Some(schema::<answers::DependenciesResponse>),
            authenticated: true,
            mount: |r| r.route("/api/v1/dependencies", post(rest::dependencies)),
        },
        Route {
            method: "get",
            path: "/health",
            summary: "Service health; 503 when the database is unreachable",
            request: None,
            success: 200,
            response: Some(schema::<super::health::Health>),
            authenticated: false,
            mount: |r| r.route("/health", get(super::health::health)),
        },
    ]
}

/// The OpenAPI 3.0 description of the REST API.
pub fn document() -> Value {
    let mut generator = schemars::generate::SchemaSettings::openapi3().into_generator();
    let error = json!({
        "description": "error",
        "content": {"application/json": {"schema": {
            "type": "object", "required": ["error"],
            "properties": {"error": {"type": "object", "required": ["code", "message"],
                "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}
        }}}
    });
    let mut paths = Map::new();
    for route in routes() {
        let mut operation = Map::new();
        operation.insert("summary".into(), json!(route.summary));
        operation.insert(
            "operationId".into(),
            json!(format!("{} {}", route.method, route.path)),
        );
        let parameters: Vec<Value> = route
            .path
            .split('/')
            .filter_map(|part| part.strip_prefix('{')?.strip_suffix('}'))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        if !parameters.is_empty() {
            operation.insert("parameters".into(), Value::Array(parameters));
        }
        if let Some(request) = route.request {
            operation.insert(
                "requestBody".into(),
                json!({"required": true, "content": {"application/json": {"schema": request(&mut generator)}}}),
            );
        }
        let mut responses = Map::new();
        let success = match route.response {
            Some(response) => {
                json!({"description": "success", "content": {"application/json": {"schema": response(&mut generator)}}})
            }
            None => json!({"description": "success"}),
        };
        responses.insert(route.success.to_string(), success);
        let mut codes: Vec<u16> = vec![];
        if route.authenticated {
            codes.extend([401, 429]);
        }
        if route.request.is_some() {
            codes.extend([400, 413, 415]);
        }
        let webhook = route.path.starts_with("/webhooks/");
        if webhook {
            codes.extend([400, 401, 413]);
        }
        if (route.path.contains("{id}") || route.request.is_some()) && !webhook {
            codes.push(404);
        }
        if route.path == "/api/v1/repositories" && route.method == "post" {
            codes.push(409);
        }
        codes.push(503);
        for code in codes {
            responses.insert(code.to_string(), error.clone());
        }
        operation.insert("responses".into(), Value::Object(responses));
        if route.authenticated {
            operation.insert("security".into(), json!([{"bearer": []}]));
        }
        let entry = paths
            .entry(route.path.to_string())
            .or_insert_with(|| json!({}));
        if let Value::Object(methods) = entry {
            methods.insert(route.method.to_string(), Value::Object(operation));
        }
    }
    let schemas: Map<String, Value> = generator.take_definitions(true).into_iter().collect();
    json!({
        "openapi": "3.0.3",
        "info": {"title": "KotaDB", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Code intelligence for AI coding agents: code search, symbols, references, dependencies."},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                "description": "kota_{tier}_{key_id}_{secret}"}}
        }
    })
}
