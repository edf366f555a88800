//! MCP over HTTP as seed 000 sends it: its headers ([`seed_post`]), its tool calls
//! ([`call_tool`]) and its literal curl command ([`seed_curl`]).

use super::http::{http, run_curl, Reply};
use super::Server;

/// The Origin seed 000's MCP curl calls send.
pub const SEED_ORIGIN: &str = "http://localhost:3000";

/// The headers of seed 000's MCP requests (Accept: application/json alone), in order.
fn seed_headers(auth: &str) -> [(&'static str, &str); 5] {
    [
        ("Content-Type", "application/json"),
        ("Authorization", auth),
        ("Origin", SEED_ORIGIN),
        ("MCP-Protocol-Version", "2025-06-18"),
        ("Accept", "application/json"),
    ]
}

/// A POST to /mcp with the seed's exact headers (Accept: application/json alone), sent
/// from Rust.
pub fn seed_post(server: &Server, key: &str, body: &str) -> Reply {
    let auth = format!("Bearer {key}");
    http(
        "POST",
        &server.mcp_url(),
        &seed_headers(&auth),
        Some(body.as_bytes()),
    )
}

/// The seed's own command, run by curl: `curl -X POST URL/mcp -H 'Content-Type:
/// application/json' -H 'Authorization: Bearer KEY' -H 'Origin: http://localhost:3000'
/// -H 'MCP-Protocol-Version: 2025-06-18' -H 'Accept: application/json' -d BODY`. For the
/// tests whose point is that what the seed types works; everything else uses
/// [`seed_post`].
pub fn seed_curl(server: &Server, key: &str, body: &str) -> Reply {
    let url = server.mcp_url();
    let auth = format!("Bearer {key}");
    let headers: Vec<String> = seed_headers(&auth)
        .iter()
        .map(|(name, value)| format!("{name}: {value}"))
        .collect();
    let mut args = vec!["-X", "POST", url.as_str()];
    for header in &headers {
        args.extend(["-H", header.as_str()]);
    }
    args.extend(["-d", body]);
    run_curl(&args)
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
