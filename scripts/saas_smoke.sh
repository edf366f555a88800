#!/usr/bin/env bash
# saas_smoke.sh -u URL [--mcp] [-k KEY]
# Smoke test of a running KotaDB (after a deploy, or on a schedule): exits 0 only when every
# check passes, and names the first that failed otherwise.
#   1. GET /health answers 200 with a JSON status of "ok" or "degraded";
#   2. an authenticated call (GET /api/v1/repositories) answers 200 with a repository list;
#   3. with --mcp: seed 000's own curl calls to /mcp (Accept: application/json alone,
#      Origin: http://localhost:3000, MCP-Protocol-Version: 2025-06-18): `initialize`, then
#      `tools/call search_code {"term": ...}`, each a JSON-RPC result without an error.
# The key comes from -k or KOTA_API_KEY. Needs curl and python3 (to read the JSON).
set -euo pipefail
usage="usage: saas_smoke.sh -u URL [--mcp] [-k KEY] [--term TEXT]"
url=""; key="${KOTA_API_KEY:-}"; mcp=0; term="Router"
while [ $# -gt 0 ]; do
  case "$1" in
    -u|--url) url=${2:?$usage}; shift 2 ;;
    -k|--key) key=${2:?$usage}; shift 2 ;;
    --mcp) mcp=1; shift ;;
    --term) term=${2:?$usage}; shift 2 ;;
    -h|--help) echo "$usage"; exit 0 ;;
    *) echo "$usage" >&2; exit 2 ;;
  esac
done
[ -n "$url" ] || { echo "$usage" >&2; exit 2; }
[ -n "$key" ] || { echo "saas_smoke: no key: pass -k KEY or set KOTA_API_KEY" >&2; exit 2; }
url=${url%/}
body=$(mktemp); trap 'rm -f "$body"' EXIT

fail() { echo "FAIL: $*" >&2; [ -s "$body" ] && head -c 600 "$body" >&2 && echo >&2; exit 1; }
ok() { echo "ok: $*"; }
# json FILE EXPR: evaluates the Python expression EXPR on the parsed JSON `j`; prints it.
json() { python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }

# 1. Health.
code=$(curl -sS --max-time 15 -o "$body" -w '%{http_code}' "$url/health") || fail "GET /health: no answer"
[ "$code" = 200 ] || fail "GET /health answered $code"
status=$(json "$body" 'j["status"]' 2>/dev/null) || fail "GET /health: not JSON"
case "$status" in ok|degraded) ;; *) fail "GET /health status is $status" ;; esac
ok "health $status (database $(json "$body" 'j["database"]["status"]'), version $(json "$body" 'j["version"]'))"

# 2. An authenticated call.
code=$(curl -sS --max-time 15 -o "$body" -w '%{http_code}' \
  -H "Authorization: Bearer $key" "$url/api/v1/repositories") || fail "GET /api/v1/repositories: no answer"
[ "$code" = 200 ] || fail "GET /api/v1/repositories answered $code"
count=$(json "$body" 'len(j["repositories"])' 2>/dev/null) || fail "GET /api/v1/repositories: no repository list"
ok "authenticated repository list ($count repositories)"

# 3. MCP, exactly as seed 000 sends it.
if [ "$mcp" = 1 ]; then
  mcp_call() {
    curl -sS --max-time 30 -o "$body" -w '%{http_code}' -X POST "$url/mcp" \
      -H "Content-Type: application/json" \
      -H "Authorization: Bearer $key" \
      -H "Origin: http://localhost:3000" \
      -H "MCP-Protocol-Version: 2025-06-18" \
      -H "Accept: application/json" \
      -d "$1"
  }
  code=$(mcp_call '{"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "saas-smoke", "version": "1.0"}}}') \
    || fail "MCP initialize: no answer"
  [ "$code" = 200 ] || fail "MCP initialize answered $code"
  server=$(json "$body" 'j["result"]["serverInfo"]["name"]' 2>/dev/null) || fail "MCP initialize: no result"
  ok "MCP initialize (server $server)"
  term_json=$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$term")
  code=$(mcp_call "{\"jsonrpc\": \"2.0\", \"id\": 2, \"method\": \"tools/call\", \"params\": {\"name\": \"search_code\", \"arguments\": {\"term\": $term_json}}}") \
    || fail "MCP search_code: no answer"
  [ "$code" = 200 ] || fail "MCP search_code answered $code"
  is_error=$(json "$body" 'j["result"].get("isError", False)' 2>/dev/null) || fail "MCP search_code: no result"
  [ "$is_error" = False ] || fail "MCP search_code returned a tool error"
  ok "MCP search_code $term ($(json "$body" 'j["result"]["structuredContent"]["total"]') matching lines)"
fi
echo "all checks passed"
