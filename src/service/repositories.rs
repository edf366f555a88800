//! Registering, listing, deleting and re-indexing repositories; their jobs.

use super::*;
use crate::engine::git::Source;
use crate::store::{JobRecord, JobType, NewRepository};
use serde::Serialize;

/// A registered repository as the API shows it.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct RepositoryView {
    #[serde(flatten)]
    pub repository: Repository,
    pub webhook_url: String,
}

/// The reply to registering a repository: the webhook secret is shown here only.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct CreatedRepository {
    #[serde(flatten)]
    pub repository: RepositoryView,
    pub webhook_secret: String,
    pub job_id: String,
}

impl Service {
    fn view(&self, r: &Repository) -> RepositoryView {
        RepositoryView {
            repository: r.clone(),
            webhook_url: format!(
                "{}/webhooks/github/{}",
                self.settings.public_url.trim_end_matches('/'),
                r.id
            ),
        }
    }

    /// The webhook secret of a new repository (secret version 0, see `webhooks`):
    /// HMAC(server key, repository id), so every instance can recompute it to verify
    /// signatures; `POST /api/v1/repositories/{id}/webhook-secret` rotates it.
    pub fn webhook_secret(&self, id: &RepositoryId) -> String {
        self.webhook_secret_at(id, 0)
    }

    pub async fn create_repository(
        &self,
        org: &OrganizationId,
        git_url: &str,
        name: Option<&str>,
        default_branch: Option<&str>,
    ) -> ServiceResult<CreatedRepository> {
        let source = Source::parse(git_url, &self.settings.git_base, false)
            .map_err(|e| BadRequest(e.to_string()))?;
        let url = source.url();
        let name = name
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_string)
            .unwrap_or_else(|| default_name(&url));
        if name.len() > 200 {
            return Err(BadRequest("name is longer than 200 bytes".into()).into());
        }
        if name.chars().any(char::is_control) {
            return Err(BadRequest("name contains control characters".into()).into());
        }
        // `x` and `x.git` name one repository on every git host that serves both.
        let twin = match url.strip_suffix(".git") {
            Some(bare) => bare.to_string(),
            None => format!("{url}.git"),
        };
        if self.store.repository_by_url(org, &twin).await?.is_some() {
            return Err(ServiceError::Conflict(format!(
                "repository {git_url:?} is already registered"
            )));
        }
        let branch = default_branch
            .map(str::trim)
            .filter(|b| !b.is_empty())
            .map(str::to_string);
        let repository = self
            .store
            .create_repository(
                org,
                NewRepository {
                    name,
                    git_url: url,
                    default_branch: branch,
                },
            )
            .await
            .map_err(|e| match e {
                StoreError::Conflict(message) => ServiceError::Conflict(message),
                other => other.into(),
            })?;
        let job = self
            .store
            .enqueue_job(&repository.id, JobType::FullIndex, None)
            .await?;
        self.wake_workers();
        Ok(CreatedRepository {
            repository: self.view(&repository),
            webhook_secret: self.webhook_secret(&repository.id),
            job_id: job.id,
        })
    }

    pub async fn repositories(&self, org: &OrganizationId) -> ServiceResult<Vec<RepositoryView>> {
        let all = self
            .at_published_commits(org, None, || async {
                Ok(self.store.repositories(org).await?)
            })
            .await?;
        Ok(all.iter().map(|r| self.view(r)).collect())
    }

    pub async fn repository(
        &self,
        org: &OrganizationId,
        id: &str,
    ) -> ServiceResult<RepositoryView> {
        // The scope needs only the parsed id; an id that is not the org's has no stored
        // commit to wait for, and `owned` then answers 404.
        let scope = RepositoryId::parse(id).ok_or(ServiceError::NotFound("repository"))?;
        let found = self
            .at_published_commits(org, Some(&scope), || self.owned(org, id))
            .await?;
        Ok(self.view(&found))
    }

    pub async fn delete_repository(&self, org: &OrganizationId, id: &str) -> ServiceResult<()> {
        let repository = self.owned(org, id).await?;
        if !self.store.delete_repository(org, &repository.id).await? {
            return Err(ServiceError::NotFound("repository"));
        }
        if let Some(actors) = self.actors() {
            actors.evict(&RepoKey(repository.id.0.clone()));
        }
        let index = self.data.index(&repository.id);
        let clone = self.data.clone(&repository.id);
        let _ = tokio::task::spawn_blocking(move || {
            let _ = std::fs::remove_dir_all(index);
            let _ = std::fs::remove_dir_all(clone);
        })
        .await;
        Ok(())
    }

    pub async fn index_repository(
        &self,
        org: &OrganizationId,
        id: &str,
    ) -> ServiceResult<JobRecord> {
        let repository = self.owned(org, id).await?;
        let job = self
            .store
            .enqueue_job(&repository.id, JobType::FullIndex, None)
            .await?;
        self.wake_workers();
        Ok(job)
    }

    /// A job with its events (`GET /api/v1/jobs/{id}`).
    pub async fn job_detail(
        &self,
        org: &OrganizationId,
        id: &str,
    ) -> ServiceResult<crate::answers::JobDetail> {
        let job = self.job(org, id).await?;
        let events = self.store.job_events(org, &job.id).await?;
        Ok(crate::answers::JobDetail { job, events })
    }

    pub async fn job(&self, org: &OrganizationId, id: &str) -> ServiceResult<JobRecord> {
        let id = uuid::Uuid::parse_str(id.trim()).map_err(|_| ServiceError::NotFound("job"))?;
        self.store
            .job(org, &id.to_string())
            .await?
            .ok_or(ServiceError::NotFound("job"))
    }
}

/// A repository's display name when none is given: the last segment of its URL or path.
pub fn default_name(url: &str) -> String {
    let trimmed = url.trim_end_matches('/').trim_end_matches(".git");
    trimmed
        .rsplit(['/', ':'])
        .next()
        .filter(|s| !s.is_empty())
        .unwrap_or("repository")
        .to_string()
}
