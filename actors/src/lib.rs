//! KotaDB's supervision tree, on [ractor] 0.16, over small ports.
//!
//! ```text
//! RootSupervisor            restarts its children with backoff
//! ├── RepoSupervisor        registry repo → RepoActor, restart policy, parking, idle sweep
//! │   └── RepoActor × N     one per repository: load, run its jobs in order, publish snapshots
//! ├── JobPollerActor        claims jobs (≤ max_concurrent_jobs running), dispatches them
//! └── SchedulerActor        upkeep rounds over the [`Upkeep`] port (when given one)
//! ```
//!
//! # Layout
//! Modules from the bottom up; each depends only on those above it in this list.
//! - [`ports`]: the traits the root package implements ([`RepoWork`], [`JobQueue`],
//!   [`Upkeep`]).
//! - `config`, `error`, [`policy`]: settings, errors, the restart policy as pure
//!   functions (retry backoff, crash window, parking).
//! - `settle`: the only writer of job outcomes.
//! - `core`: state every actor shares, and `RunningJob`, the guard of a claimed job.
//! - `published`: the watch channel contents readers use.
//! - `messages`: every actor's messages.
//! - `shared`: the generic shared state and who writes what.
//! - `repo_actor`, `repo_supervisor`, `poller`, `scheduler`, `root`: the actors, named
//!   for their job;
//!   `root` declares its children as specs.
//! - [`Actors`] (`handle`): the cloneable handle the HTTP layer holds.
//!
//! # Behaviour
//! - **Readers never wait behind writers.** Each RepoActor publishes its snapshot in a
//!   `tokio::sync::watch` channel; [`Actors::snapshot`] reads the cached receiver, so a read
//!   is a map lookup, even while that repository indexes, crashes, or is parked.
//! - **Jobs of one repository run in order** (one mailbox); different repositories in parallel.
//! - **Crash isolation.** A panic in [`RepoWork::index`] unwinds out of the RepoActor's
//!   handler; ractor reports `ActorFailed` to the RepoSupervisor, which fails the job with
//!   the panic message (retried after `min(base·2ⁿ, cap)` until `max_attempts`), respawns
//!   the actor lazily on the next job, and parks the repository after `park_after` crashes
//!   within `park_window`. Nothing else is touched.
//! - **Timeouts and lost leases.** A job running longer than `job_timeout`, or whose
//!   heartbeat learns that its lease was lost to a newer claim, has its build cancelled
//!   ([`Cancel`]) and waited for; a timed-out job is then failed ("timed out after …")
//!   under the retry policy, a lost one is left to its new owner. Heartbeats renew the
//!   lease every `lease/3`.
//!
//! Architecture invariant: mailboxes are unbounded (ractor), so traffic into them is
//! bounded by design: reads bypass mailboxes (watch channels); a repository's actor is
//! spawned through one supervisor call per distinct repository that misses; jobs in
//! flight are capped by `max_concurrent_jobs`; poller wakes coalesce to at most one
//! pending `Wake`.
//!
//! Architecture invariant: only a repository's RepoActor calls `index` for it and
//! publishes its snapshot; only the RepoSupervisor spawns or stops RepoActors.
//!
//! Architecture invariant: the crate depends on nothing else of KotaDB; it sees the world
//! through [`RepoWork`], [`JobQueue`] and [`Upkeep`] only.
//!
//! Needs panic unwinding: with `panic = "abort"` a panicking indexer takes the process down.

pub mod access;
mod config;
mod core;
mod error;
mod handle;
mod messages;
pub mod policy;
mod poller;
pub mod ports;
mod published;
mod repo_actor;
mod repo_supervisor;
mod root;
mod scheduler;
mod settle;
pub use settle::{DurationHistogram, JobStats};
mod shared;

pub use access::AccessActors;
pub use config::{ActorsConfig, UpkeepSchedule};
pub use error::ActorError;
pub use handle::Actors;
pub use ports::{
    Cancel, Chores, Job, JobQueue, Outcome, QueueError, RepoKey, RepoWork, Round, Upkeep,
};
