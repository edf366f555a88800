//! The operations every surface offers (REST, MCP over HTTP and stdio, the CLI), written
//! once, each in the module of its concern:
//!
//! - `tenancy`: the only repository selector (id, name or URL → one of the org's).
//! - `repositories`: register, list, get, delete, re-index; jobs.
//! - `search`: code search, symbol search, references.
//! - `graph`: dependencies and change impact.
//! - `files`: one file's text, recently indexed files.
//! - `keys`: the organization's API keys.
//! - `health`: what `/health` and `/metrics` report.
//! - `consistency`: database answers wait for the snapshots to show the same commit.
//! - `webhooks`: GitHub deliveries (verified by signature, not by key) and secret rotation.
//!
//! Architecture invariant: every operation takes the caller's organization and checks
//! that a repository or job belongs to it before touching it; another tenant's id is
//! indistinguishable from an unknown one (404). Surfaces translate their input into a
//! call here and the result (or [`ServiceError`]) into their output, nothing more.

mod consistency;
mod files;
mod graph;
mod health;
mod keys;
mod repositories;
mod search;
mod tenancy;
mod webhooks;

pub use files::{FileView, RecentFile};
pub use graph::ChangeImpact;
pub use health::{HealthReport, ParkedRepository, DATABASE_PROBE_EVERY};
pub use keys::{CreateKeyBody, CreatedKeyView, KeyList, KeyView};
pub use repositories::{default_name, CreatedRepository, RepositoryView};
pub use webhooks::{
    RotatedSecret, WebhookDelivery, WebhookError, WebhookReply, MAX_WEBHOOK_BODY_BYTES,
    WEBHOOK_SECRET_GRACE,
};

use crate::answers::{self, BadRequest};
use crate::engine::search::SearchError;
use crate::engine::segment::TextCache;
use crate::engine::snapshot::Snapshot;
use crate::layout::DataDir;
use crate::settings::Secret;
use crate::store::prelude::*;
use crate::store::{OrganizationId, Repository, RepositoryId, StoreError};
use crate::work::EngineWork;
use kotadb_actors::{ActorError, Actors, RepoKey};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error(transparent)]
    BadRequest(#[from] BadRequest),
    #[error("{0}")]
    Conflict(String),
    #[error("service busy: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Search(#[from] SearchError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<ActorError> for ServiceError {
    fn from(error: ActorError) -> Self {
        ServiceError::Unavailable(error.to_string())
    }
}

pub type ServiceResult<T> = Result<T, ServiceError>;

/// Settings the operations need.
#[derive(Debug, Clone)]
pub struct ServiceSettings {
    /// Remote repositories must be under this base (`KOTA_GIT_BASE_URL`).
    pub git_base: crate::engine::url_policy::GitBase,
    /// Base of the URLs handed out (webhook URLs), e.g. `http://127.0.0.1:8080`.
    pub public_url: String,
    /// Server key from which each repository's webhook secret is derived.
    pub webhook_key: Secret,
}

/// Counters of snapshot lookups, for `/metrics`.
#[derive(Debug, Default)]
pub struct LookupStats {
    pub count: AtomicU64,
    pub nanos: AtomicU64,
}

/// Where repositories' current index snapshots come from, and who runs jobs.
pub enum Workers {
    /// `serve`: the repository actors publish snapshots (reads never wait behind
    /// indexing) and run the queued jobs.
    Actors(Actors<EngineWork>),
    /// The CLI's read commands: the snapshot the last writer saved on disk; no workers
    /// (jobs wait in the queue for a server).
    None,
}

/// The operations, shared by all surfaces. Cheap to share (`Arc<Service>`).
pub struct Service {
    store: Arc<dyn Store>,
    /// Decompressed index blocks shared by all searches (None: no cache).
    text_cache: Option<Arc<TextCache>>,
    /// Time spent getting snapshots from the repository actors (the "actor hop").
    pub lookups: LookupStats,
    workers: Workers,
    settings: ServiceSettings,
    data: DataDir,
    started: Instant,
    /// The last database probe failed (see `health::Service::spawn_database_probe`).
    database_down: std::sync::atomic::AtomicBool,
}

impl Service {
    pub fn new(
        store: Arc<dyn Store>,
        workers: Workers,
        settings: ServiceSettings,
        data: DataDir,
        text_cache: Option<Arc<TextCache>>,
    ) -> Service {
        Service {
            store,
            text_cache,
            lookups: LookupStats::default(),
            workers,
            settings,
            data,
            started: Instant::now(),
            database_down: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The repository actors, in `serve`.
    pub fn actors(&self) -> Option<&Actors<EngineWork>> {
        match &self.workers {
            Workers::Actors(actors) => Some(actors),
            Workers::None => None,
        }
    }

    /// Tells the workers a job is waiting (a no-op without workers).
    fn wake_workers(&self) {
        if let Some(actors) = self.actors() {
            actors.wake_poller();
        }
    }

    /// The current snapshot of a repository: from its actor (never waiting behind
    /// indexing), or as saved on disk.
    async fn snapshot(&self, id: &RepositoryId) -> ServiceResult<Option<Arc<Snapshot>>> {
        let started = Instant::now();
        let snapshot = match &self.workers {
            Workers::Actors(actors) => actors.snapshot(&RepoKey(id.0.clone())).await?,
            Workers::None => {
                let dir = self.data.index(id);
                tokio::task::spawn_blocking(move || Snapshot::load(&dir))
                    .await
                    .map_err(|e| ServiceError::Internal(e.to_string()))?
                    .map_err(|e| ServiceError::Internal(crate::error_chain(&e)))?
                    .map(Arc::new)
            }
        };
        self.lookups.count.fetch_add(1, Ordering::Relaxed);
        self.lookups
            .nanos
            .fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
        Ok(snapshot)
    }
}
