//! One commit on every surface.
//!
//! Code search and `get_file` read a repository's published snapshot; symbols, references,
//! dependencies and the repository row read the database. A re-index commits the database
//! first and publishes the snapshot a moment later (the manifest's rename and a watch
//! channel send), so a database read in between would answer from a commit that code
//! search does not show yet. A database answer is therefore kept only when the commits
//! the published snapshots show, read *before* it, equal the commits the database holds,
//! read *after* it — a seqlock whose version is the commit id. Otherwise it is read again
//! after a short pause. The retries are bounded: a repository whose saved index and
//! database disagree for longer (a crash between the two, repaired by its next index run)
//! costs at most 126 ms (see [`ATTEMPTS`]) and is then answered from the database.

use super::*;
use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

/// Reads before giving up on agreement; the pauses between them double from
/// [`FIRST_PAUSE`], so a request waits at most 2 + 4 + … + 64 = 126 ms for the snapshots
/// (a publication normally follows its commit within a millisecond).
const ATTEMPTS: u32 = 7;
const FIRST_PAUSE: Duration = Duration::from_millis(2);

/// The indexed commit of each repository in scope (None: not indexed).
type Commits = BTreeMap<RepositoryId, Option<String>>;

impl Service {
    /// Runs `read` (a database read about `scope`, or about all of the org's repositories
    /// when None) so that it answers from the commits the published snapshots show.
    pub(super) async fn at_published_commits<T, F, Fut>(
        &self,
        org: &OrganizationId,
        scope: Option<&RepositoryId>,
        mut read: F,
    ) -> ServiceResult<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = ServiceResult<T>>,
    {
        // The repositories to watch are listed once: one registered meanwhile is not read
        // by `read` either, and `agree` ignores a stored commit nothing showed.
        let ids: Vec<RepositoryId> = match scope {
            Some(id) => vec![id.clone()],
            None => self
                .store
                .repositories(org)
                .await?
                .into_iter()
                .map(|r| r.id)
                .collect(),
        };
        let mut pause = FIRST_PAUSE;
        let mut attempt = 1;
        loop {
            let shown = self.shown_commits(&ids).await;
            let value = read().await?;
            let stored = self.stored_commits(org, scope).await?;
            if agree(&shown, &stored) || attempt >= ATTEMPTS {
                return Ok(value);
            }
            tokio::time::sleep(pause).await;
            pause *= 2;
            attempt += 1;
        }
    }

    async fn stored_commits(
        &self,
        org: &OrganizationId,
        scope: Option<&RepositoryId>,
    ) -> ServiceResult<Commits> {
        let repositories = match scope {
            Some(id) => self.store.repository(org, id).await?.into_iter().collect(),
            None => self.store.repositories(org).await?,
        };
        Ok(repositories
            .into_iter()
            .map(|r| (r.id, r.last_indexed_commit))
            .collect())
    }

    /// What the snapshots show. A repository whose snapshot cannot be had right now
    /// (parked, its actor restarting) is left out: nothing reads it either.
    async fn shown_commits(&self, ids: &[RepositoryId]) -> Commits {
        let mut shown = Commits::new();
        for id in ids {
            if let Ok(snapshot) = self.snapshot(id).await {
                shown.insert(id.clone(), snapshot.map(|s| s.commit.clone()));
            }
        }
        shown
    }
}

/// Every repository the snapshots show is at the database's commit.
fn agree(shown: &Commits, stored: &Commits) -> bool {
    shown
        .iter()
        .all(|(id, commit)| stored.get(id).is_none_or(|stored| stored == commit))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commits(pairs: &[(&str, Option<&str>)]) -> Commits {
        pairs
            .iter()
            .map(|(id, c)| (RepositoryId(id.to_string()), c.map(str::to_string)))
            .collect()
    }

    #[test]
    fn snapshots_agree_only_when_each_shows_the_stored_commit() {
        let stored = commits(&[("a", Some("2")), ("b", None)]);
        assert!(agree(&commits(&[("a", Some("2")), ("b", None)]), &stored));
        assert!(!agree(&commits(&[("a", Some("1")), ("b", None)]), &stored));
        assert!(!agree(&commits(&[("b", Some("1"))]), &stored));
        // A repository left out (its snapshot unavailable) or gone since does not block.
        assert!(agree(&commits(&[("a", Some("2"))]), &stored));
        assert!(agree(&commits(&[("c", Some("9"))]), &stored));
    }
}
