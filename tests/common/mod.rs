//! Helpers shared by KotaDB's integration tests.
//!
//! - [`GitRepo`] (`git.rs`): a throw-away git repository to write files into and commit,
//!   driven by the `git` command line (isolated from the user's and the system's git
//!   config); [`Remotes`]: bare clones of them under a `file://` git base.
//! - `database.rs`: SQL on a test Postgres database ([`database::sql`], [`database::query`],
//!   [`database::with_db`]).
//! - [`Kotadb`] (`kotadb.rs`): runs the real `kotadb` binary against a throw-away data
//!   directory.
//! - [`Server`] (`server.rs`): a running `kotadb serve` on a free loopback port, with
//!   REST helpers answering [`Reply`]s.
//! - [`http()`] (`http.rs`): one HTTP request made from Rust (ureq), whatever its method,
//!   headers or body bytes; every status is an answer. `run_curl` runs the curl command
//!   line instead, only where the point of a test is that a typed command works.
//! - `mcp.rs`: MCP over HTTP as seed 000 sends it ([`seed_post`], [`call_tool`]) and the
//!   seed's literal curl command ([`seed_curl`]).
//! - [`npm_install`] (`npm.rs`): pinned npm packages installed into `target/<folder>`.
//! - [`rest`]: the fixture repository indexed behind a server, and the readers and
//!   assertions of REST answers that the service tests share.
//! - [`rg_lines`] / [`rg_columns`] (`rg.rs`): ask ripgrep which lines of a checkout
//!   match, the reference code search is compared against. ripgrep is required: these
//!   helpers panic when `rg` is missing rather than letting a test pass without its
//!   oracle.
//!
//! Every file under `tests/` that says `mod common;` compiles this module on its own, so
//! not every helper is used by every test binary.
#![allow(dead_code, unused_imports)]

pub mod database;
mod git;
mod http;
mod kotadb;
mod mcp;
mod npm;
pub mod rest;
mod rg;
mod server;

pub use git::{GitRepo, Remotes};
pub use http::{http, try_http, Reply};
pub use kotadb::Kotadb;
pub use mcp::{call_tool, seed_curl, seed_post, tool_error_text, SEED_ORIGIN};
pub use npm::npm_install;
pub use rg::{rg_columns, rg_lines};
pub use server::Server;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Output;

/// Panics with the command, its status and both streams unless it succeeded.
#[track_caller]
pub fn assert_success(what: &str, output: &Output) {
    assert!(
        output.status.success(),
        "{what} failed with {}\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
}

/// A directory for fixtures shared by the tests of one test binary, which live in a
/// `static` and so are never dropped: `<cargo's target tmp dir>/<name>-<pid>`. Leftovers of
/// earlier runs of the same binary (their process gone) are deleted when it is created.
pub fn shared_fixture_dir(name: &str) -> PathBuf {
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let prefix = format!("{name}-");
    if let Ok(entries) = std::fs::read_dir(&root) {
        for entry in entries.flatten() {
            let file_name = entry.file_name().to_string_lossy().into_owned();
            let Some(pid) = file_name
                .strip_prefix(&prefix)
                .and_then(|p| p.parse::<u32>().ok())
            else {
                continue;
            };
            if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
    let dir = root.join(format!("{prefix}{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("creating the shared fixture dir");
    dir
}

/// A readable difference between two sets: up to `shown` of the extra and of the missing
/// members (extra = in `got` only, missing = in `expected` only), or `None` if equal.
pub fn set_difference<T: Ord + std::fmt::Debug>(
    got: &BTreeSet<T>,
    expected: &BTreeSet<T>,
    shown: usize,
) -> Option<String> {
    if got == expected {
        return None;
    }
    let extra: Vec<&T> = got.difference(expected).collect();
    let missing: Vec<&T> = expected.difference(got).collect();
    Some(format!(
        "{} extra (first {shown}): {:?}\n{} missing (first {shown}): {:?}",
        extra.len(),
        &extra[..extra.len().min(shown)],
        missing.len(),
        &missing[..missing.len().min(shown)],
    ))
}
