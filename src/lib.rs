//! KotaDB: code intelligence for AI coding agents.
//!
//! # Layout
//! - [`engine`]: what the work is — git ingestion, parsing (symbols, references,
//!   imports), the trigram index and search. Pure and synchronous.
//! - [`store`]: where canonical records live — one `Store` interface, SQLite embedded
//!   (and Postgres in SaaS mode).
//! - [`indexer`]: one indexing run of one repository: git → engine → store + index.
//! - [`tokens`]: Supabase access tokens (JWTs), verified locally (HS256 secret, JWKS).
//! - [`cli`]: the `kotadb` command line.
//! - `actors/` (crate `kotadb-actors`): who does the work and in what order.

pub mod access;
pub mod answers;
pub mod cli;
pub mod engine;
pub mod http;
pub mod indexer;
pub mod keys;
pub mod layout;
pub mod service;
pub mod settings;
pub mod store;
#[doc(hidden)]
pub mod testing;
pub mod tokens;
pub mod upkeep;
pub mod work;

/// Lowers the calling thread's scheduling priority to nice 10 (Linux: `nice` is per
/// thread), for index builds: their threads yield the CPU to searches. Irreversible for an
/// unprivileged thread, so only for threads that do nothing else afterwards.
pub fn lower_thread_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority with who = 0 changes only the calling thread's nice value.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, 10);
    }
}

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

/// The message of a caught panic (`panic!` payloads are a `&str` or a `String`).
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic with a non-text payload".to_string())
}
