//! The MCP surface: the ten KotaDB tools over Streamable HTTP (stateless, JSON responses,
//! so any instance answers any request) and over stdio (`kotadb mcp --stdio`).
//!
//! Every tool acts as a [`Caller`]: over HTTP the one the authentication middleware put
//! into the request's extensions (rmcp hands the tool the request's `http::request::Parts`),
//! over stdio [`Caller::local`]. Failures are MCP tool errors (`isError: true`) with a
//! clear message; another tenant's id reads as "not found", exactly like an unknown one.
//!
//! - this module: the server type [`KotaMcp`] and its `ServerHandler`, which turns a panic
//!   inside a tool into an error reply;
//! - `tools`: the ten tools, their arguments and results, and how a
//!   [`ServiceError`](crate::service::ServiceError) reads to an agent;
//! - `schema`: the tool schemas made lean, since every agent receives them;
//! - `transport`: stdio, and the HTTP endpoint [`McpHttp`] in front of rmcp, which widens
//!   `Accept: application/json` (what the seeds' curl sends) to also name
//!   `text/event-stream` and turns rmcp's plain-text 415 for an unparsable body into a
//!   JSON-RPC error (`-32700` for malformed JSON, `-32600` for batches and non-JSON-RPC
//!   JSON, both HTTP 400).
//!
//! `Host` and `Origin` are checked by rmcp itself (DNS-rebinding protection) against
//! [`McpSettings`].

mod schema;
mod tools;
mod transport;

pub use transport::{
    http_config, serve_stdio, streamable_service, McpHttp, McpSettings, DEFAULT_ALLOWED_ORIGINS,
    LOOPBACK_HOSTS,
};

use crate::http::caller::Caller;
use crate::service::Service;
use rmcp::model::Extensions;
use rmcp::tool_handler;
use std::sync::Arc;

/// The MCP server: one per request over HTTP (stateless), one per process over stdio.
#[derive(Clone)]
pub struct KotaMcp {
    service: Arc<Service>,
    /// Stdio: every call acts as [`Caller::local`].
    local: bool,
}

impl KotaMcp {
    /// The server for one HTTP request: every tool acts as the [`Caller`] the
    /// authentication middleware attached to that request, and refuses to run without one.
    pub fn http(service: Arc<Service>) -> KotaMcp {
        KotaMcp {
            service,
            local: false,
        }
    }

    /// The server for `kotadb mcp --stdio`: every tool acts as [`Caller::local`], since
    /// only the user who started the process can write to its stdin.
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
}

#[tool_handler(
    router = tools::TOOLS,
    name = "kotadb",
    instructions = "KotaDB code intelligence: search code, symbols, references and dependencies of indexed git repositories."
)]
impl rmcp::ServerHandler for KotaMcp {
    /// Every tool call, with a panic anywhere inside it turned into a JSON-RPC internal
    /// error (details in the log only): rmcp runs each request in a task of its own, and
    /// a panic there would leave the client waiting for a reply that never comes.
    async fn call_tool(
        &self,
        request: rmcp::model::CallToolRequestParams,
        context: rmcp::service::RequestContext<rmcp::RoleServer>,
    ) -> Result<rmcp::model::CallToolResponse, rmcp::ErrorData> {
        use futures::FutureExt as _;
        let tool = request.name.clone();
        // rmcp runs the call in a task of its own: the request's Supabase user (if any)
        // is carried over here, so its reads run under row-level security as on REST.
        let user = self
            .caller(&context.extensions)
            .ok()
            .and_then(|caller| caller.user_id);
        let tcc = rmcp::handler::server::tool::ToolCallContext::new(self, request, context);
        match crate::store::acting_as(
            user,
            std::panic::AssertUnwindSafe(tools::TOOLS.call(tcc)).catch_unwind(),
        )
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
