//! MCP over HTTP as seed 000 sends it: its headers ([`seed_post`]) and its tool calls
//! ([`call_tool`]).

use super::http::{curl, Reply};
use super::Server;

/// The Origin seed 000's MCP curl calls send.
pub const SEED_ORIGIN: &str = "http://localhost:3000";

/// A POST to /mcp with the seed's exact headers (Accept: application/json alone).
pub fn seed_post(server: &Server, key: &str, body: &str) -> Reply {
    let auth = format!("Bearer {key}");
    curl(
        "POST",
        &server.mcp_url(),
        &[
            ("Content-Type", "application/json"),
            ("Authorization", &auth),
            ("Origin", SEED_ORIGIN),
            ("MCP-Protocol-Version", "2025-06-18"),
            ("Accept", "application/json"),
        ],
        Some(body),
    )
}

/// A `tools/call` over HTTP as the seed sends it; returns the JSON-RPC `result`.
#[track_caller]
pub fn call_tool(
    server: &Server,
    key: &str,
    name: &str,
    arguments: serde_json::Value,
) -> serde_json::Value {
    let body = serde_json::json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": name, "arguments": arguments}});
    let reply = seed_post(server, key, &body.to_string());
    assert_eq!(reply.status, 200, "tools/call {name}: {}", reply.body);
    let value = reply.json();
    value
        .get("result")
        .cloned()
        .unwrap_or_else(|| panic!("tools/call {name} has no result: {value}"))
}

/// The text of a tool result's content (a tool error's message).
pub fn tool_error_text(result: &serde_json::Value) -> String {
    result["content"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["text"].as_str())
        .collect::<Vec<_>>()
        .join(" ")
}
