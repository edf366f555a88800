//! The messages of the tree's actors, in one place below every actor, so that actors
//! depend on the messages of their peers, never on their peers' modules.

use std::time::Duration;

use ractor::RpcReplyPort;

use crate::core::RunningJob;
use crate::error::ActorError;
use crate::ports::{Job, RepoKey, RepoWork};
use crate::published::SnapshotRx;

pub(crate) enum RepoMsg {
    /// Run one job to completion. Sent only by the RepoSupervisor, so at most
    /// `max_concurrent_jobs` of these exist in all RepoActor mailboxes together.
    RunJob(RunningJob),
}

pub(crate) enum SupervisorMsg<W: RepoWork> {
    /// The watch receiver of a repository, spawning its actor if needed (the read slow path).
    Reader(RepoKey, RpcReplyPort<Result<SnapshotRx<W>, ActorError>>),
    /// Hand a claimed job to its repository's actor.
    Dispatch(RunningJob),
    /// The repository was deleted: stop its actor, drop its snapshot, fail its running job.
    Evict(RepoKey),
    /// Let a parked repository run again.
    Unpark(RepoKey),
    /// Shutdown: kill every RepoActor and return the jobs they were running.
    KillAll(RpcReplyPort<Vec<Job>>),
    /// Periodic: stop actors of idle repositories.
    Sweep,
}

pub(crate) enum PollerMsg {
    /// Periodic claim round.
    Tick,
    /// Claim now (after an enqueue, or when a job finishes); coalesced, see `Core::wake`.
    Wake,
    /// Stop claiming, wait up to the grace period, release what still runs; replies with
    /// the released job ids.
    Shutdown(Duration, RpcReplyPort<Vec<String>>),
}

pub(crate) enum SchedulerMsg {
    /// Run an upkeep round now (each round schedules the next).
    Tick,
}

pub(crate) enum RootMsg {
    /// Start the child at this index of the root's child specs again.
    Restart(usize),
}
