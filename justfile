# KotaDB tasks. `just --list` shows them.

# Every test (the command CI runs after installing what a fresh machine lacks).
test:
    scripts/test.sh

# Formatting, lints and tests: what to run before a commit.
ci-fast:
    cargo fmt --all -- --check
    cargo clippy --all-targets -- -D warnings
    scripts/test.sh

# Engine benchmark on a standard corpus (usr-include, python-stdlib, cargo-registry), beside rg.
bench corpus="usr-include":
    cargo build --release
    scripts/bench-engine.sh {{corpus}}

# Index a local repository into ./data and search it.
index path=".":
    cargo run --release -- index {{path}}

# Drop and re-create a LOCAL database, apply supabase/migrations and the seed (no Docker needed).
supabase-reset url="":
    @scripts/supabase-reset.sh {{url}}

# A new, empty, timestamped migration in migrations/postgres and supabase/migrations (identical).
supabase-generate name:
    scripts/supabase-generate.sh {{name}}

# Apply supabase/migrations to a database with the Supabase CLI, both migration ledgers in step
# (`@`: just must not echo the URL, it holds the password).
supabase-apply url:
    @SUPABASE_DB_URL='{{url}}' scripts/supabase-apply-remote.sh

# Check DATABASE_URL (env or .env) and say whether it is the transaction pooler.
check-db:
    scripts/check_pooler_connection.sh

# Deploy to Fly.io: staging or production (gates, confirmation, health, smoke).
deploy env *flags:
    scripts/deploy-fly.sh {{env}} {{flags}}
