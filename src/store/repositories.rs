//! Registered repositories: who owns them, where they come from, how far they are indexed.

use super::{OrganizationId, RepositoryId, StoreResult, Timestamp};
use async_trait::async_trait;
use serde::Serialize;

/// Where a repository stands. It is `pending` from registration until its first index
/// is committed, then `ready` (later jobs keep the last committed index serving).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RepositoryStatus {
    Pending,
    Ready,
}

impl RepositoryStatus {
    pub fn name(self) -> &'static str {
        match self {
            RepositoryStatus::Pending => "pending",
            RepositoryStatus::Ready => "ready",
        }
    }

    pub fn parse(text: &str) -> Option<RepositoryStatus> {
        match text {
            "pending" => Some(RepositoryStatus::Pending),
            "ready" => Some(RepositoryStatus::Ready),
            _ => None,
        }
    }
}

impl std::fmt::Display for RepositoryStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, schemars::JsonSchema)]
pub struct Repository {
    #[schemars(with = "String")]
    pub id: RepositoryId,
    pub name: String,
    pub git_url: String,
    pub default_branch: Option<String>,
    pub status: RepositoryStatus,
    pub last_indexed_commit: Option<String>,
    pub last_indexed_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

impl Repository {
    /// Whether a user's selector (other than an id) names this repository: its name or URL.
    pub fn is_named(&self, selector: &str) -> bool {
        self.name == selector || self.git_url == selector
    }
}

#[derive(Debug, Clone)]
pub struct NewRepository {
    pub name: String,
    pub git_url: String,
    pub default_branch: Option<String>,
}

/// Registered repositories, always within one organization except where a worker acts
/// for a job it claimed.
#[async_trait]
pub trait RepositoryStore: Send + Sync {
    /// Registers a repository; `Conflict` when the organization has this URL already.
    async fn create_repository(
        &self,
        org: &OrganizationId,
        new: NewRepository,
    ) -> StoreResult<Repository>;
    async fn repository(
        &self,
        org: &OrganizationId,
        id: &RepositoryId,
    ) -> StoreResult<Option<Repository>>;
    /// A repository whatever its org: for workers running jobs, never for requests.
    async fn repository_unscoped(&self, id: &RepositoryId) -> StoreResult<Option<Repository>>;
    async fn repository_by_url(
        &self,
        org: &OrganizationId,
        git_url: &str,
    ) -> StoreResult<Option<Repository>>;
    /// The organization's repositories, by name.
    async fn repositories(&self, org: &OrganizationId) -> StoreResult<Vec<Repository>>;
    /// Deletes a repository and every record of it; false when it was not the org's.
    async fn delete_repository(&self, org: &OrganizationId, id: &RepositoryId)
        -> StoreResult<bool>;
}
