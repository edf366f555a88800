"""An independent MCP client for KotaDB's `/mcp` endpoint: the official Python SDK (`mcp` 2.x).

Run by tests/mcp.rs:

    python mcp_client.py URL API_KEY REPOSITORY_ID

Connects with `Authorization: Bearer API_KEY`, negotiates (the SDK's "auto" mode: probes
`server/discover`, falls back to `initialize`), lists the tools, calls `search_code` (with
`query`, and with `term` as the seeds' clients send it), `search_symbols`, `find_references`
and `search_code` against an unknown repository, and prints one JSON summary line on stdout.
It asserts nothing itself: the Rust test does.
"""

import asyncio
import json
import sys

from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client


def summarize(result):
    """The parts of a CallToolResult the test looks at."""
    texts = [c.text for c in result.content if getattr(c, "type", None) == "text"]
    return {
        "is_error": bool(result.is_error),
        "structured": result.structured_content,
        "text": texts,
    }


async def main(url, key, repository):
    headers = {"Authorization": f"Bearer {key}"}
    summary = {}
    async with create_mcp_http_client(headers=headers) as http_client:
        async with Client(streamable_http_client(url, http_client=http_client), mode="auto") as client:
            summary["protocol_version"] = client.protocol_version
            info = client.server_info
            summary["server_name"] = info.name if info is not None else None

            listed = await client.list_tools()
            tools = [t.model_dump(by_alias=True, exclude_none=True, mode="json") for t in listed.tools]
            summary["tools"] = sorted(t["name"] for t in tools)
            summary["tools_bytes"] = len(json.dumps(tools, separators=(",", ":")))
            summary["tools_with_output_schema"] = sorted(t["name"] for t in tools if "outputSchema" in t)

            summary["search_code_query"] = summarize(
                await client.call_tool("search_code", {"query": "Router", "repository": repository})
            )
            summary["search_code_term"] = summarize(await client.call_tool("search_code", {"term": "Router"}))
            summary["search_symbols"] = summarize(
                await client.call_tool("search_symbols", {"pattern": "Router", "repository": repository})
            )
            summary["find_references"] = summarize(
                await client.call_tool("find_references", {"symbol": "helper", "repository": repository})
            )
            summary["list_repositories"] = summarize(await client.call_tool("list_repositories", {}))
            summary["unknown_repository"] = summarize(
                await client.call_tool(
                    "search_code", {"query": "Router", "repository": "00000000-0000-4000-8000-000000000000"}
                )
            )
    print(json.dumps(summary))


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit("usage: mcp_client.py URL API_KEY REPOSITORY_ID")
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3]))
