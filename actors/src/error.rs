//! Errors the handle returns to the HTTP layer.

use std::time::Duration;

/// Why a snapshot could not be served.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActorError {
    /// The supervisor (spawn + first load) did not answer in time.
    #[error("timed out after {0:?} waiting for the repository actor")]
    Timeout(Duration),
    /// The repository crashed too often and is parked until `unpark`.
    #[error("{0}")]
    Parked(String),
    /// The supervision tree is stopped or restarting.
    #[error("actor system stopped")]
    Stopped,
    /// The repository's actor could not start (its saved index did not load).
    #[error("repository unavailable: {0}")]
    Unavailable(String),
}
