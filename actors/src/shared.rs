//! State shared between the handle and the actors, and who may write each part.
//!
//! Architecture invariant: `readers` is written only by the RepoSupervisor; `supervisor`
//! and `poller` only by the actors they name, as they start.

use std::sync::{Arc, RwLock};

use dashmap::DashMap;
use ractor::ActorRef;

use crate::core::Core;
use crate::messages::{PollerMsg, SupervisorMsg};
use crate::ports::{RepoKey, RepoWork, Upkeep};
use crate::published::ReaderEntry;

/// Everything the handle, the supervisor and the poller share.
pub(crate) struct Shared<W: RepoWork> {
    pub core: Arc<Core>,
    pub work: Arc<W>,
    pub readers: DashMap<RepoKey, ReaderEntry<W>>,
    pub supervisor: RwLock<Option<ActorRef<SupervisorMsg<W>>>>,
    pub poller: RwLock<Option<ActorRef<PollerMsg>>>,
    /// The upkeep the SchedulerActor runs (None: no scheduler in this tree).
    pub upkeep: Option<Arc<dyn Upkeep>>,
}

impl<W: RepoWork> Shared<W> {
    pub fn supervisor(&self) -> Option<ActorRef<SupervisorMsg<W>>> {
        self.supervisor.read().expect("supervisor lock").clone()
    }

    pub fn poller(&self) -> Option<ActorRef<PollerMsg>> {
        self.poller.read().expect("poller lock").clone()
    }
}
