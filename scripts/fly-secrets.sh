#!/usr/bin/env bash
# fly-secrets.sh staging|production set [--stage] [--dry-run] | list | unset NAME...
# Manages the Fly.io secrets of kotadb-api-staging / kotadb-api (README "SaaS mode"):
#   DATABASE_URL           required  postgres:// URL (the direct or session-pooler URL keeps
#                                    LISTEN/NOTIFY; see check_pooler_connection.sh)
#   SUPABASE_URL           required  https://<ref>.supabase.co
#   SUPABASE_ANON_KEY      required
#   SUPABASE_SERVICE_KEY   required
#   KOTADB_WEBHOOK_KEY     required  >= 32 characters, the same on every instance
#   KOTADB_PUBLIC_URL      required  e.g. https://kotadb-api.fly.dev
#   SUPABASE_JWT_SECRET    optional  >= 32 characters (legacy HS256 tokens)
#   KOTA_ALERT_WEBHOOK_URL optional  Slack-compatible alert webhook
# `set` takes each value from the environment variable of the same name, else asks for it
# without echo (an optional one may be left empty: it is then not changed), checks what
# `serve`'s startup validation checks, then writes an auditable script into a private
# temporary directory: the values go to a 0600 file piped to `flyctl secrets import`
# (so they appear in no command line and no log), the script itself names only the app and
# the secret names. It is printed, run after confirmation (--yes skips it), and deleted.
# --stage sets the secrets without restarting the machines (next deploy picks them up);
# --dry-run prints the script and deletes it. No value is ever printed.
set -euo pipefail
usage() { sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; }
root="$(cd "$(dirname "$0")/.." && pwd)"

required=(DATABASE_URL SUPABASE_URL SUPABASE_ANON_KEY SUPABASE_SERVICE_KEY KOTADB_WEBHOOK_KEY KOTADB_PUBLIC_URL)
optional=(SUPABASE_JWT_SECRET KOTA_ALERT_WEBHOOK_URL)

env_name=""; action=""; stage=0; dry=0; yes=0; names=()
while [ $# -gt 0 ]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    staging | production) [ -z "$env_name" ] && env_name=$1 || names+=("$1"); shift ;;
    set | list | unset) [ -z "$action" ] && action=$1 || names+=("$1"); shift ;;
    --stage) stage=1; shift ;;
    --dry-run) dry=1; shift ;;
    --yes | -y) yes=1; shift ;;
    -*) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
    *) names+=("$1"); shift ;;
  esac
done
[ -n "$env_name" ] && [ -n "$action" ] || { usage >&2; exit 2; }
config="$root/fly.toml"; [ "$env_name" = staging ] && config="$root/fly.staging.toml"
app="$(sed -nE 's/^app *= *"([^"]+)".*/\1/p' "$config" | head -1)"

need_flyctl() { command -v flyctl >/dev/null || { echo "flyctl is missing: https://fly.io/docs/flyctl/install/" >&2; exit 1; }; }

case "$action" in
  list) need_flyctl; exec flyctl secrets list --app "$app" ;;
  unset)
    [ ${#names[@]} -gt 0 ] || { echo "unset needs secret names" >&2; exit 2; }
    need_flyctl; exec flyctl secrets unset --app "$app" "${names[@]}" ;;
esac

# set
problems=()
declare -A value
for name in "${required[@]}" "${optional[@]}"; do
  v="${!name:-}"
  if [ -z "$v" ] && [ -t 0 ]; then
    kind=required; case " ${optional[*]} " in *" $name "*) kind="optional, empty to keep" ;; esac
    read -r -s -p "$name ($kind) for $app: " v; echo >&2
  fi
  value[$name]="$v"
done
for name in "${required[@]}"; do
  [ -n "${value[$name]}" ] || problems+=("$name is missing")
done
case "${value[SUPABASE_URL]}" in http://* | https://* | "") ;; *) problems+=("SUPABASE_URL must be an http(s) URL") ;; esac
case "${value[DATABASE_URL]}" in postgres://* | postgresql://* | "") ;; *) problems+=("DATABASE_URL must be a postgres:// URL") ;; esac
case "${value[KOTADB_PUBLIC_URL]}" in http://* | https://* | "") ;; *) problems+=("KOTADB_PUBLIC_URL must be an http(s) URL") ;; esac
[ -z "${value[KOTADB_WEBHOOK_KEY]}" ] || [ ${#value[KOTADB_WEBHOOK_KEY]} -ge 32 ] || problems+=("KOTADB_WEBHOOK_KEY must have at least 32 characters")
[ -z "${value[SUPABASE_JWT_SECRET]}" ] || [ ${#value[SUPABASE_JWT_SECRET]} -ge 32 ] || problems+=("SUPABASE_JWT_SECRET must have at least 32 characters")
if [ ${#problems[@]} -gt 0 ]; then
  printf 'refusing to set secrets of %s:\n' "$app" >&2
  printf '  - %s\n' "${problems[@]}" >&2
  exit 2
fi

dir="$(mktemp -d "${TMPDIR:-/tmp}/kotadb-fly-secrets.XXXXXX")"
chmod 700 "$dir"
trap 'rm -rf "$dir"' EXIT
umask 077
set_names=()
: >"$dir/secrets.env"
for name in "${required[@]}" "${optional[@]}"; do
  [ -n "${value[$name]}" ] || continue
  case "${value[$name]}" in *$'\n'*) echo "$name contains a newline" >&2; exit 2 ;; esac
  printf '%s=%s\n' "$name" "${value[$name]}" >>"$dir/secrets.env"
  set_names+=("$name")
done
stage_flag=""; [ "$stage" = 1 ] && stage_flag=" --stage"
cat >"$dir/apply.sh" <<SCRIPT
#!/usr/bin/env bash
# Sets ${set_names[*]} on $app (values read from the 0600 file beside this script).
set -euo pipefail
flyctl secrets import --app $app$stage_flag < "\$(dirname "\$0")/secrets.env"
SCRIPT
echo "--- $dir/apply.sh"
cat "$dir/apply.sh"
echo "---"
if [ "$dry" = 1 ]; then echo "dry run: nothing set"; exit 0; fi
need_flyctl
if [ "$yes" = 0 ]; then
  [ -t 0 ] || { echo "run from a terminal to confirm, or pass --yes" >&2; exit 2; }
  read -r -p "Run it against $app? [y/N] " answer
  [ "$answer" = y ] || [ "$answer" = Y ] || { echo "nothing set" >&2; exit 1; }
fi
bash "$dir/apply.sh"
echo "set on $app: ${set_names[*]}"
