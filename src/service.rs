//! The operations every surface offers (REST, MCP over HTTP and stdio), written once.
//!
//! Architecture invariant: every operation takes the caller's organization and checks
//! that a repository or job belongs to it before touching it; another tenant's id is
//! indistinguishable from an unknown one (404).

use crate::answers::{
    self, BadRequest, CodeSearchBody, CodeSearchResponse, DependenciesBody, ReferencesBody,
    SymbolSearchBody,
};
use crate::engine::git::Source;
use crate::engine::search::{CompiledSearch, SearchError};
use crate::engine::snapshot::Snapshot;
use crate::store::{
    JobRecord, JobType, NewRepository, OrganizationId, Repository, RepositoryId, Store, StoreError,
};
use crate::work::EngineWork;
use hmac::{Hmac, Mac};
use kotadb_actors::{ActorError, Actors, RepoKey};
use serde::Serialize;
use sha2::Sha256;
use std::sync::Arc;
use std::time::Instant;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error(transparent)]
    BadRequest(#[from] BadRequest),
    #[error("{0}")]
    Conflict(String),
    #[error("service busy: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Search(#[from] SearchError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<ActorError> for ServiceError {
    fn from(error: ActorError) -> Self {
        ServiceError::Unavailable(error.to_string())
    }
}

pub type ServiceResult<T> = Result<T, ServiceError>;

/// Settings the operations need.
#[derive(Debug, Clone)]
pub struct ServiceSettings {
    /// Remote repositories must be under this base (`KOTA_GIT_BASE_URL`).
    pub git_base: crate::engine::url_policy::GitBase,
    /// Base of the URLs handed out (webhook URLs), e.g. `http://127.0.0.1:8080`.
    pub public_url: String,
    /// Server key from which each repository's webhook secret is derived.
    pub webhook_key: Vec<u8>,
}

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

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct FileView {
    pub repository_id: String,
    pub path: String,
    pub language: Option<String>,
    pub start_line: u64,
    pub end_line: u64,
    pub total_lines: u64,
    pub truncated: bool,
    pub content: String,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct RecentFile {
    pub path: String,
    pub language: Option<String>,
    pub size_bytes: u64,
    pub indexed_at: crate::store::Timestamp,
}

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

/// Counters of snapshot lookups, for `/metrics`.
#[derive(Debug, Default)]
pub struct LookupStats {
    pub count: std::sync::atomic::AtomicU64,
    pub nanos: std::sync::atomic::AtomicU64,
}

/// The operations, shared by all surfaces. Cheap to share (`Arc<Service>`).
pub struct Service {
    pub store: Arc<dyn Store>,
    /// Decompressed index blocks shared by all searches.
    pub text_cache: Arc<crate::engine::segment::TextCache>,
    /// Time spent getting snapshots from the repository actors (the "actor hop").
    pub lookups: LookupStats,
    pub actors: Actors<EngineWork>,
    pub settings: ServiceSettings,
    pub data: crate::layout::DataDir,
    pub started: Instant,
}

/// Largest file `get_file` returns whole; larger files are cut to a line range.
const MAX_FILE_BYTES_SHOWN: usize = 256 * 1024;

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

    /// The webhook secret of a repository: HMAC(server key, repository id), so it can be
    /// recomputed to verify signatures and rotated by rotating the server key.
    pub fn webhook_secret(&self, id: &RepositoryId) -> String {
        let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(&self.settings.webhook_key) {
            Ok(mac) => mac,
            Err(_) => return String::new(), // HMAC accepts keys of any length
        };
        mac.update(id.0.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// The org's repository `id` (from a request) or 404.
    pub async fn owned(&self, org: &OrganizationId, id: &str) -> ServiceResult<Repository> {
        let id = RepositoryId::parse(id).ok_or(ServiceError::NotFound("repository"))?;
        self.store
            .repository(org, &id)
            .await?
            .ok_or(ServiceError::NotFound("repository"))
    }

    /// Resolves a repository selector (id, or name / git URL among the org's).
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
        self.actors.wake_poller();
        Ok(CreatedRepository {
            repository: self.view(&repository),
            webhook_secret: self.webhook_secret(&repository.id),
            job_id: job.id,
        })
    }

    pub async fn repositories(&self, org: &OrganizationId) -> ServiceResult<Vec<RepositoryView>> {
        Ok(self
            .store
            .repositories(org)
            .await?
            .iter()
            .map(|r| self.view(r))
            .collect())
    }

    pub async fn repository(
        &self,
        org: &OrganizationId,
        id: &str,
    ) -> ServiceResult<RepositoryView> {
        Ok(self.view(&self.owned(org, id).await?))
    }

    pub async fn delete_repository(&self, org: &OrganizationId, id: &str) -> ServiceResult<()> {
        let repository = self.owned(org, id).await?;
        if !self.store.delete_repository(org, &repository.id).await? {
            return Err(ServiceError::NotFound("repository"));
        }
        self.actors.evict(&RepoKey(repository.id.0.clone()));
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
        self.actors.wake_poller();
        Ok(job)
    }

    pub async fn job(&self, org: &OrganizationId, id: &str) -> ServiceResult<JobRecord> {
        let id = uuid::Uuid::parse_str(id.trim()).map_err(|_| ServiceError::NotFound("job"))?;
        self.store
            .job(org, &id.to_string())
            .await?
            .ok_or(ServiceError::NotFound("job"))
    }

    /// The current snapshot of a repository: from its actor, never waiting behind indexing.
    async fn snapshot(&self, id: &RepositoryId) -> ServiceResult<Option<Arc<Snapshot>>> {
        let started = Instant::now();
        let snapshot = self.actors.snapshot(&RepoKey(id.0.clone())).await;
        self.lookups
            .count
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.lookups.nanos.fetch_add(
            started.elapsed().as_nanos() as u64,
            std::sync::atomic::Ordering::Relaxed,
        );
        Ok(snapshot?)
    }

    pub async fn search_code(
        &self,
        org: &OrganizationId,
        body: &CodeSearchBody,
    ) -> ServiceResult<CodeSearchResponse> {
        let compiled = CompiledSearch::new(&body.to_request())?;
        let repositories = match body.repository.as_deref().filter(|r| !r.is_empty()) {
            Some(selector) => vec![self.select(org, selector).await?],
            None => self.store.repositories(org).await?,
        };
        let mut snapshots = Vec::with_capacity(repositories.len());
        for repository in &repositories {
            snapshots.push((repository.id.clone(), self.snapshot(&repository.id).await?));
        }
        // Search is CPU work on the rayon pool: keep it off the async workers.
        let text_cache = Arc::clone(&self.text_cache);
        let response = tokio::task::spawn_blocking(move || {
            answers::search_code(&compiled, &snapshots, Some(&text_cache))
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
        let scope = match body.repository.as_deref().filter(|r| !r.is_empty()) {
            Some(selector) => Some(self.select(org, selector).await?.id),
            None => None,
        };
        let query = body.to_query(scope)?;
        Ok(answers::SymbolSearchResponse {
            results: self.store.search_symbols(org, &query).await?,
        })
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
        let scope = match body.repository.as_deref().filter(|r| !r.is_empty()) {
            Some(selector) => Some(self.select(org, selector).await?.id),
            None => None,
        };
        let results = self
            .store
            .find_references(org, &body.symbol, scope.as_ref(), limit)
            .await?;
        Ok(answers::ReferencesResponse { results })
    }

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
        Ok(answers::search_dependencies(
            self.store.as_ref(),
            &repository.id,
            path,
            body.direction,
            body.depth,
        )
        .await?)
    }

    /// A file's text at the indexed commit, optionally a line range (1-based, inclusive).
    pub async fn get_file(
        &self,
        org: &OrganizationId,
        repository: &str,
        path: &str,
        start_line: Option<u64>,
        end_line: Option<u64>,
    ) -> ServiceResult<FileView> {
        let repository = self.select(org, repository).await?;
        let snapshot = self
            .snapshot(&repository.id)
            .await?
            .ok_or(ServiceError::NotFound("indexed repository"))?;
        let path = path
            .trim_start_matches("./")
            .trim_start_matches('/')
            .to_string();
        let crate::engine::snapshot::FileText { text, language } = snapshot
            .file_text(&path)
            .map_err(|e| ServiceError::Internal(e.to_string()))?
            .ok_or(ServiceError::NotFound("file"))?;
        let language = language.map(|l| l.name().to_string());
        let lines: Vec<&[u8]> = text.split_inclusive(|&b| b == b'\n').collect();
        let total = lines.len() as u64;
        let start = start_line.unwrap_or(1).max(1);
        if let Some(end) = end_line.filter(|&end| end < start) {
            return Err(BadRequest(format!("end_line {end} is before start_line {start}")).into());
        }
        if start > total.max(1) {
            return Err(BadRequest(format!(
                "start_line {start} is past the end of {path}, which has {total} lines"
            ))
            .into());
        }
        // A range reaching past the end answers the lines that exist.
        let end = end_line.unwrap_or(total).min(total);
        let mut content = String::new();
        let mut truncated = false;
        let mut shown_end = start.saturating_sub(1);
        for (i, line) in lines
            .iter()
            .enumerate()
            .skip(start as usize - 1)
            .take(end.saturating_sub(start - 1) as usize)
        {
            if content.len() + line.len() > MAX_FILE_BYTES_SHOWN {
                truncated = true;
                break;
            }
            content.push_str(&String::from_utf8_lossy(line));
            shown_end = i as u64 + 1;
        }
        Ok(FileView {
            repository_id: repository.id.0,
            path,
            language,
            start_line: start,
            end_line: shown_end,
            total_lines: total,
            truncated: truncated || shown_end < end,
            content,
        })
    }

    pub async fn recent_files(
        &self,
        org: &OrganizationId,
        repository: &str,
        limit: u32,
    ) -> ServiceResult<Vec<RecentFile>> {
        let repository = self.select(org, repository).await?;
        let limit = answers::record_limit(Some(limit))?;
        Ok(self
            .store
            .recent_files(&repository.id, limit)
            .await?
            .into_iter()
            .map(|(file, indexed_at)| RecentFile {
                path: file.path,
                language: file.language,
                size_bytes: file.size_bytes,
                indexed_at,
            })
            .collect())
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
