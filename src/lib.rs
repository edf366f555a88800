//! KotaDB: code intelligence for AI coding agents.
//!
//! # Layout
//! - [`engine`]: what the work is — git ingestion, parsing (symbols, references,
//!   imports), the trigram index and search. Pure and synchronous.
//! - [`store`]: where canonical records live — one `Store` interface, SQLite embedded
//!   (and Postgres in SaaS mode).
//! - [`indexer`]: one indexing run of one repository: git → engine → store + index.
//! - [`cli`]: the `kotadb` command line.
//! - `actors/` (crate `kotadb-actors`): who does the work and in what order.

pub mod answers;
pub mod cli;
pub mod config;
pub mod engine;
pub mod http;
pub mod indexer;
pub mod keys;
pub mod service;
pub mod store;
pub mod work;

/// An error and its causes on one line (`a: b: c`), for logs and job records: what
/// `anyhow`'s `{:#}` prints, for errors that are not `anyhow`.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
