//! What a repository's watch channel carries: how readers get snapshots without a message.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use tokio::sync::watch;

use crate::ports::RepoWork;

/// The state of one repository's index, as readers see it.
///
/// `Loading` exists so that the supervisor can hand out the receiver before the actor has
/// run `load`: the slow `load` runs in the RepoActor, not in the supervisor's mailbox, so
/// loads of different repositories do not queue behind each other.
pub(crate) enum Published<S> {
    Loading,
    Ready(Option<Arc<S>>),
    LoadFailed(String),
}

impl<S> Clone for Published<S> {
    fn clone(&self) -> Self {
        match self {
            Published::Loading => Published::Loading,
            Published::Ready(snapshot) => Published::Ready(snapshot.clone()),
            Published::LoadFailed(error) => Published::LoadFailed(error.clone()),
        }
    }
}

pub(crate) type SnapshotTx<W> = watch::Sender<Published<<W as RepoWork>::Snapshot>>;
pub(crate) type SnapshotRx<W> = watch::Receiver<Published<<W as RepoWork>::Snapshot>>;

/// What the handle needs for a read without a message: the receiver and the clock to bump.
pub(crate) struct ReaderEntry<W: RepoWork> {
    pub rx: SnapshotRx<W>,
    pub last_used: Arc<AtomicU64>,
}
