//! Code search, symbol search and references: one path for REST, MCP and the CLI.

use super::*;
use crate::answers::{CodeSearchBody, CodeSearchResponse, ReferencesBody, SymbolSearchBody};
use crate::engine::search::CompiledSearch;

impl Service {
    pub async fn search_code(
        &self,
        org: &OrganizationId,
        body: &CodeSearchBody,
    ) -> ServiceResult<CodeSearchResponse> {
        let compiled = CompiledSearch::new(&body.to_request())?;
        let repositories = self.in_scope(org, body.repository.as_deref()).await?;
        let mut snapshots = Vec::with_capacity(repositories.len());
        for repository in &repositories {
            snapshots.push((repository.id.clone(), self.snapshot(&repository.id).await?));
        }
        // Search is CPU work on the rayon pool: keep it off the async workers.
        let text_cache = self.text_cache.clone();
        let response = tokio::task::spawn_blocking(move || {
            answers::search_code(&compiled, &snapshots, text_cache.as_deref())
        })
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))??;
        Ok(response)
    }

    pub async fn search_symbols(
        &self,
        org: &OrganizationId,
        body: &SymbolSearchBody,
    ) -> ServiceResult<answers::SymbolSearchResponse> {
        let scope = self
            .scope(org, body.repository.as_deref())
            .await?
            .map(|r| r.id);
        let query = body.to_query(scope.clone())?;
        let results = self
            .at_published_commits(org, scope.as_ref(), || async {
                Ok(self.store.search_symbols(org, &query).await?)
            })
            .await?;
        Ok(answers::SymbolSearchResponse { results })
    }

    pub async fn find_references(
        &self,
        org: &OrganizationId,
        body: &ReferencesBody,
    ) -> ServiceResult<answers::ReferencesResponse> {
        if body.symbol.trim().is_empty() {
            return Err(BadRequest("symbol is empty".into()).into());
        }
        let limit =
            answers::record_limit(body.limit.or(Some(answers::MAX_RECORD_LIMIT.min(1000))))?;
        let scope = self
            .scope(org, body.repository.as_deref())
            .await?
            .map(|r| r.id);
        let results = self
            .at_published_commits(org, scope.as_ref(), || async {
                Ok(self
                    .store
                    .find_references(org, &body.symbol, scope.as_ref(), limit)
                    .await?)
            })
            .await?;
        Ok(answers::ReferencesResponse { results })
    }
}
