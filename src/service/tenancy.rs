//! Tenancy: the only place a repository selector from a request (an id, a name or a git
//! URL) becomes one of the caller organization's repositories.
//!
//! Architecture invariant: another tenant's id is indistinguishable from an unknown one
//! (404), and a name that several repositories share is refused (use an id), never
//! resolved to one of them silently.

use super::*;

impl Service {
    /// The org's repository `id` (from a request) or 404.
    pub async fn owned(&self, org: &OrganizationId, id: &str) -> ServiceResult<Repository> {
        let id = RepositoryId::parse(id).ok_or(ServiceError::NotFound("repository"))?;
        self.store
            .repository(org, &id)
            .await?
            .ok_or(ServiceError::NotFound("repository"))
    }

    /// Resolves a repository selector: an id, or a name / git URL among the org's.
    pub async fn select(&self, org: &OrganizationId, selector: &str) -> ServiceResult<Repository> {
        if let Some(id) = RepositoryId::parse(selector) {
            return self
                .store
                .repository(org, &id)
                .await?
                .ok_or(ServiceError::NotFound("repository"));
        }
        let all = self.store.repositories(org).await?;
        let mut matching = all.into_iter().filter(|r| r.is_named(selector));
        match (matching.next(), matching.next()) {
            (Some(one), None) => Ok(one),
            (Some(_), Some(_)) => Err(BadRequest(format!(
                "{selector:?} names several repositories: use an id"
            ))
            .into()),
            _ => Err(ServiceError::NotFound("repository")),
        }
    }

    /// The repository a request names, if it names one (an empty selector names none).
    pub async fn scope(
        &self,
        org: &OrganizationId,
        selector: Option<&str>,
    ) -> ServiceResult<Option<Repository>> {
        match selector.map(str::trim).filter(|s| !s.is_empty()) {
            Some(selector) => Ok(Some(self.select(org, selector).await?)),
            None => Ok(None),
        }
    }

    /// The repository a request names, or all of the org's when it names none.
    pub async fn in_scope(
        &self,
        org: &OrganizationId,
        selector: Option<&str>,
    ) -> ServiceResult<Vec<Repository>> {
        match self.scope(org, selector).await? {
            Some(one) => Ok(vec![one]),
            None => Ok(self.store.repositories(org).await?),
        }
    }
}
