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
