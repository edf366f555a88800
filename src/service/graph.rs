//! The import graph: dependencies of a file and the impact of changing files.

use super::*;
use crate::answers::DependenciesBody;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ChangeImpact {
    pub changed: Vec<String>,
    /// Files that import a changed file, directly or within `depth`.
    pub dependents: Vec<answers::DependencyResult>,
    /// Symbols defined in the changed files.
    pub symbols: Vec<crate::store::SymbolHit>,
    /// Places outside the changed files that reference those symbols.
    pub references: Vec<crate::store::ReferenceHit>,
    pub truncated: bool,
}

impl Service {
    pub async fn dependencies(
        &self,
        org: &OrganizationId,
        body: &DependenciesBody,
    ) -> ServiceResult<answers::DependenciesResponse> {
        if body.depth == 0 || body.depth > answers::MAX_DEPTH {
            return Err(BadRequest(format!(
                "depth must be between 1 and {}",
                answers::MAX_DEPTH
            ))
            .into());
        }
        let repository = self.select(org, &body.repository).await?;
        let path = body.path.trim_start_matches("./").trim_start_matches('/');
        self.at_published_commits(org, Some(&repository.id), || async {
            Ok(answers::search_dependencies(
                self.store.as_ref(),
                &repository.id,
                path,
                body.direction,
                body.depth,
            )
            .await?)
        })
        .await
    }

    /// What a change to `paths` may affect: dependents, the symbols defined there and
    /// the places that use them.
    pub async fn change_impact(
        &self,
        org: &OrganizationId,
        repository: &str,
        paths: &[String],
        depth: u32,
    ) -> ServiceResult<ChangeImpact> {
        if paths.is_empty() || paths.len() > 200 {
            return Err(BadRequest("give between 1 and 200 changed paths".into()).into());
        }
        let repository = self.select(org, repository).await?;
        self.at_published_commits(org, Some(&repository.id), || {
            self.change_impact_in(org, &repository, paths, depth)
        })
        .await
    }

    async fn change_impact_in(
        &self,
        org: &OrganizationId,
        repository: &Repository,
        paths: &[String],
        depth: u32,
    ) -> ServiceResult<ChangeImpact> {
        let depth = depth.clamp(1, answers::MAX_DEPTH);
        let mut dependents = Vec::new();
        for path in paths {
            let found = answers::search_dependencies(
                self.store.as_ref(),
                &repository.id,
                path,
                answers::Direction::Dependents,
                depth,
            )
            .await?;
            for result in found.results {
                if !paths.contains(&result.path)
                    && !dependents
                        .iter()
                        .any(|d: &answers::DependencyResult| d.path == result.path)
                {
                    dependents.push(result);
                }
            }
        }
        let mut symbols = Vec::new();
        let mut references = Vec::new();
        let mut truncated = false;
        for path in paths {
            for symbol in self.store.symbols_in_file(&repository.id, path).await? {
                if symbols.len() >= 200 {
                    truncated = true;
                    break;
                }
                let uses = self
                    .store
                    .find_references(org, &symbol.name, Some(&repository.id), 200)
                    .await?;
                for reference in uses {
                    if references.len() >= 500 {
                        truncated = true;
                        break;
                    }
                    if !paths.contains(&reference.path) {
                        references.push(reference);
                    }
                }
                symbols.push(symbol);
            }
        }
        Ok(ChangeImpact {
            changed: paths.to_vec(),
            dependents,
            symbols,
            references,
            truncated,
        })
    }
}
