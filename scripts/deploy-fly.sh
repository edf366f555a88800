#!/usr/bin/env bash
# deploy-fly.sh staging|production [--yes] [--skip-checks] [--no-smoke] [--image IMAGE] [--dry-run]
# Deploys KotaDB to Fly.io, as the seeds do:
#   staging    fly.staging.toml (kotadb-api-staging), --strategy immediate --ha=false
#   production fly.toml (kotadb-api), --strategy rolling --ha=true; asks for confirmation
#              unless --yes (and refuses without a terminal to ask on)
# Steps: 1. the gates: scripts/test.sh and `cargo clippy --all-targets -- -D warnings`
#           (--skip-checks when CI has just run them);
#        2. flyctl deploy (the manifest's release_command runs `kotadb migrate` first);
#           --image IMAGE deploys an earlier image instead of building (rollback: take one
#           from `flyctl releases list --app APP --image`);
#        3. GET /health on the app until it answers 200 (up to 2 minutes);
#        4. scripts/saas_smoke.sh -u URL --mcp with KOTA_API_KEY (--no-smoke skips it).
# The URL is https://APP.fly.dev unless KOTADB_DEPLOY_URL says otherwise. --dry-run prints
# the flyctl command and stops. Needs flyctl (not for --dry-run), cargo, curl.
set -euo pipefail
usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; }
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

env_name=""; yes=0; checks=1; smoke=1; image=""; dry=0
while [ $# -gt 0 ]; do
  case "$1" in
    staging | production) env_name=$1; shift ;;
    --yes | -y) yes=1; shift ;;
    --skip-checks) checks=0; shift ;;
    --no-smoke) smoke=0; shift ;;
    --image) image=${2:?--image needs an image}; shift 2 ;;
    --dry-run) dry=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done
[ -n "$env_name" ] || { usage >&2; exit 2; }

if [ "$env_name" = production ]; then
  config=fly.toml; strategy=rolling; ha=true
else
  config=fly.staging.toml; strategy=immediate; ha=false
fi
# The manifest is the one source of the app's name.
app="$(sed -nE 's/^app *= *"([^"]+)".*/\1/p' "$config" | head -1)"
[ -n "$app" ] || { echo "$config names no app" >&2; exit 1; }
url="${KOTADB_DEPLOY_URL:-https://$app.fly.dev}"
url=${url%/}

deploy=(flyctl deploy --config "$config" --app "$app" --strategy "$strategy" "--ha=$ha" --wait-timeout 600)
[ -n "$image" ] && deploy+=(--image "$image")

if [ "$dry" = 1 ]; then
  echo "would run: ${deploy[*]}"
  echo "then check: $url/health and scripts/saas_smoke.sh -u $url --mcp"
  exit 0
fi

if [ "$env_name" = production ] && [ "$yes" = 0 ]; then
  if [ ! -t 0 ]; then
    echo "production deploy needs confirmation: run from a terminal or pass --yes" >&2
    exit 2
  fi
  read -r -p "Deploy $(git rev-parse --short HEAD 2>/dev/null || echo '?') to PRODUCTION ($app)? Type the app name to confirm: " answer
  [ "$answer" = "$app" ] || { echo "not confirmed; nothing deployed" >&2; exit 1; }
fi

command -v flyctl >/dev/null || { echo "flyctl is missing: https://fly.io/docs/flyctl/install/" >&2; exit 1; }
if [ "$smoke" = 1 ] && [ -z "${KOTA_API_KEY:-}" ]; then
  echo "KOTA_API_KEY is not set: the smoke test needs a key of $app (or pass --no-smoke)" >&2
  exit 2
fi

if [ "$checks" = 1 ]; then
  echo "== gates: tests and clippy"
  scripts/test.sh
  cargo clippy --all-targets -- -D warnings
fi

echo "== deploying to $app: ${deploy[*]}"
"${deploy[@]}"

echo "== health: $url/health"
healthy=0
for _ in $(seq 1 24); do
  if curl -fsS --max-time 10 "$url/health" >/dev/null 2>&1; then healthy=1; break; fi
  sleep 5
done
[ "$healthy" = 1 ] || { echo "FAIL: $url/health did not answer 200 within 2 minutes; see flyctl logs --app $app" >&2; exit 1; }
curl -fsS --max-time 10 "$url/health"; echo

if [ "$smoke" = 1 ]; then
  echo "== smoke"
  scripts/saas_smoke.sh -u "$url" --mcp
fi
echo "deployed to $app"
