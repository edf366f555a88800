#!/usr/bin/env bash
# Every test, as CI runs them (README "Tests"): the whole workspace on the embedded
# default, then the root package's unit and integration tests again with the service on
# Postgres (KOTADB_TEST_BACKEND=postgres: each test gets its own database on a throwaway
# PostgreSQL 15 cluster that the tests start; see src/testing/postgres.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace
KOTADB_TEST_BACKEND=postgres cargo test -p kotadb --tests
