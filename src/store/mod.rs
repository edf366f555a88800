//! Where canonical records live: one interface per concern, an embedded SQLite
//! implementation and (in SaaS mode) a Postgres one (`postgres`).
//!
//! - [`RepositoryStore`] (`repositories`): registered repositories.
//! - [`IndexStore`] (`records`): files, symbols, references and dependencies of indexed
//!   commits, and the symbol-matching rules ([`SymbolPattern`]).
//! - [`JobStore`] (`jobs`): the indexing job queue, with fenced claims.
//! - [`KeyStore`] (`keys`): organizations, their members and API keys.
//! - [`LimitStore`] (`limits`): shared rate windows and usage records.
//! - [`WebhookStore`] (`webhooks`): GitHub webhook deliveries and the jobs they queue.
//! - [`UpkeepStore`] (`upkeep`): the scheduler's one-at-a-time lock, usage roll-ups,
//!   retention, the queue's vitals and open alerts.
//! - [`Store`]: all seven, plus what every backend has (`backend`, `ping`, `close`).
//! - `conformance` (tests): the behaviour every backend must show, written once over the
//!   traits and run by each backend's own tests.
//!
//! Architecture invariant: every read and write a request causes is scoped to an
//! organization; a repository id from a request is never trusted on its own. Callers hold
//! an `Arc<dyn Store>` and never learn which database is behind it.

#[cfg(test)]
pub(crate) mod conformance;
pub mod jobs;
pub mod keys;
pub mod limits;
pub mod postgres;
pub mod records;
pub mod repositories;
pub mod sqlite;
pub mod time;
pub mod upkeep;
pub mod webhooks;

pub use jobs::{
    event, ClaimToken, JobClaim, JobEvent, JobOutcome, JobRecord, JobStatus, JobStore, JobType,
    QueueDepth, Rescued,
};
pub use keys::{ApiKeyRecord, KeyStore, Permissions, Tier};
pub use limits::{LeaseGrant, LeaseRequest, LimitStore, UsageEvent, WindowKind};
pub use records::{
    like_escape, EdgeDirection, FileRecord, FileUpdate, IndexStore, ReferenceHit, RepositoryUpdate,
    Reresolve, ResolvedImport, StoredImport, SymbolHit, SymbolPattern, SymbolQuery,
};
pub use repositories::{NewRepository, Repository, RepositoryStatus, RepositoryStore};
pub use time::Timestamp;
pub use upkeep::{Deleted, Retention, RollUp, UpkeepLock, UpkeepStore, UsageHour, Vitals};
pub use webhooks::{DeliveryAction, DeliveryOutcome, DeliveryRecord, WebhookStore, WebhookTarget};

use async_trait::async_trait;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database")]
    Database(#[from] sqlx::Error),
    #[error("database: {0}")]
    Sqlite(String),
    /// The database could not be reached: names the host, never the credentials.
    #[error("cannot connect to the database at {host}: {reason}")]
    Unreachable { host: String, reason: String },
    #[error("database migration")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("record not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
    /// A job's heartbeat or outcome came from a claim that is no longer the job's.
    #[error("the job's lease was lost to another claim")]
    LeaseLost,
}

pub type StoreResult<T> = Result<T, StoreError>;

tokio::task_local! {
    static ACTING_USER: String;
}

/// Runs `work` (one request) on behalf of a Supabase user (an `auth.users` id), when
/// there is one: the Postgres store then reads the caller's repositories — the gate of
/// every repository-scoped operation (`service::tenancy`) — as that user, under
/// row-level security (`SET LOCAL ROLE authenticated` with the user's claims), on top of
/// its own organization filter. Set only by the authentication middleware; read only by
/// the Postgres store. A membership removed in the database then takes effect at once,
/// not when the cached credential expires.
pub async fn acting_as<F: std::future::Future>(user: Option<String>, work: F) -> F::Output {
    match user {
        Some(user) => ACTING_USER.scope(user, work).await,
        None => work.await,
    }
}

/// The Supabase user the current request acts for, if any (see [`acting_as`]).
pub fn acting_user() -> Option<String> {
    ACTING_USER.try_with(Clone::clone).ok()
}

/// The organization that owns every record on a single-user installation.
pub const LOCAL_ORGANIZATION: &str = "00000000-0000-0000-0000-000000000000";

/// An organization id: the tenant boundary.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct OrganizationId(pub String);

impl OrganizationId {
    pub fn local() -> OrganizationId {
        OrganizationId(LOCAL_ORGANIZATION.to_string())
    }
}

/// A repository id (a UUID), parsed at the edge.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct RepositoryId(pub String);

impl RepositoryId {
    pub fn new_random() -> RepositoryId {
        RepositoryId(uuid::Uuid::new_v4().to_string())
    }

    /// Accepts only a canonical UUID, so an id is safe as a directory name.
    pub fn parse(text: &str) -> Option<RepositoryId> {
        uuid::Uuid::parse_str(text.trim())
            .ok()
            .map(|u| RepositoryId(u.to_string()))
    }
}

impl std::fmt::Display for RepositoryId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Every store concern, plus what each backend has. Bring the concern traits into scope
/// (`use crate::store::prelude::*`) to call their methods on a `dyn Store`.
#[async_trait]
pub trait Store:
    RepositoryStore
    + IndexStore
    + JobStore
    + KeyStore
    + LimitStore
    + WebhookStore
    + UpkeepStore
    + Send
    + Sync
{
    /// Which database this is (`sqlite`, `postgres`), for `/health`.
    fn backend(&self) -> &'static str;
    /// A cheap query, to measure database latency for `/health`.
    async fn ping(&self) -> StoreResult<()>;
    /// Closes the connections (at shutdown, after the last write).
    async fn close(&self);
    /// Key ids revoked by any process, as they happen, where the database can announce
    /// them (Postgres LISTEN/NOTIFY); `None` where it cannot (then caches expire them).
    fn key_revocations(&self) -> Option<tokio::sync::broadcast::Receiver<String>> {
        None
    }
    /// A message whenever any process queued a job or ended a running one, where the
    /// database can announce it (Postgres LISTEN/NOTIFY; also one after the listener
    /// reconnects, as notifications may have been missed); `None` where it cannot. Pollers
    /// still poll: a transaction-mode pooler never delivers notifications.
    fn job_notifications(&self) -> Option<tokio::sync::broadcast::Receiver<()>> {
        None
    }
}

/// The store traits, to call their methods on an `Arc<dyn Store>`.
pub mod prelude {
    pub use super::{
        IndexStore, JobStore, KeyStore, LimitStore, RepositoryStore, Store, UpkeepStore,
        WebhookStore,
    };
}
