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
