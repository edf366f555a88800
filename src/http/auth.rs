//! Authentication and per-key limits for every route but `/health`, `/metrics` and
//! `/openapi.json`.
//!
//! Validated keys are cached (moka, TTL) under the fingerprint of the whole presented
//! key, never the key id alone, so a request with a known id and a wrong secret always
//! reaches the hash check. Keys are revoked from the command line (`kotadb keys revoke`,
//! another process), so a running server refuses a revoked key once its cached check
//! expires, within the TTL (`DEFAULT_KEY_CACHE_TTL`, 30 s); revoking over HTTP, with the
//! cache cleared at once, comes with SaaS mode's KeyCacheActor.
//!
//! Limits: an hourly window per key, sized by tier, counted in process. The window is
//! per instance on the embedded default (one instance owns the database); the shared,
//! cross-instance window in the `rate_limits` table belongs to SaaS mode.

use super::caller::Caller;
use super::error::ApiError;
use super::AppState;
use crate::keys::PresentedKey;
use crate::store::{ApiKeyRecord, OrganizationId};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use dashmap::DashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use crate::settings::TierLimits;

/// Key validation, limits and usage counting.
pub struct Auth {
    store: Arc<dyn crate::store::Store>,
    cache: moka::future::Cache<String, Option<Arc<ApiKeyRecord>>>,
    windows: DashMap<String, (u64, u64)>,
    usage: DashMap<String, u64>,
    limits: TierLimits,
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Auth {
    pub fn new(store: Arc<dyn crate::store::Store>, limits: TierLimits, ttl: Duration) -> Auth {
        Auth {
            store,
            cache: moka::future::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(ttl)
                .build(),
            windows: DashMap::new(),
            usage: DashMap::new(),
            limits,
        }
    }

    /// The caller of a request with this `Authorization` header.
    pub async fn authenticate(&self, headers: &HeaderMap) -> Result<(Caller, u64), ApiError> {
        let value = headers
            .get(header::AUTHORIZATION)
            .ok_or_else(|| ApiError::unauthorized("missing Authorization: Bearer <api key>"))?;
        let text = value
            .to_str()
            .map_err(|_| ApiError::unauthorized("malformed Authorization header"))?;
        let token = text
            .strip_prefix("Bearer ")
            .or_else(|| text.strip_prefix("bearer "))
            .ok_or_else(|| ApiError::unauthorized("use Authorization: Bearer <api key>"))?;
        let presented =
            PresentedKey::parse(token).ok_or_else(|| ApiError::unauthorized("invalid API key"))?;
        let fingerprint = presented.fingerprint();
        let store = Arc::clone(&self.store);
        let lookup = presented.clone();
        let record = self
            .cache
            .try_get_with(fingerprint, async move {
                let record = store.key(&lookup.key_id).await?;
                Ok::<_, crate::store::StoreError>(
                    record
                        .filter(|r| r.tier == lookup.tier && lookup.matches(&r.key_hash))
                        .map(Arc::new),
                )
            })
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "key lookup failed");
                ApiError::unavailable("the database is unavailable", 5)
            })?
            .ok_or_else(|| ApiError::unauthorized("invalid API key"))?;
        if record.revoked_at.is_some() {
            return Err(ApiError::unauthorized("API key revoked"));
        }
        if record
            .expires_at
            .is_some_and(|expires| expires <= crate::store::Timestamp::now())
        {
            return Err(ApiError::unauthorized("API key expired"));
        }
        let limit = self.limits.for_tier(record.tier);
        Ok((
            Caller {
                org: OrganizationId(record.organization_id.clone()),
                key_id: record.key_id.clone(),
                tier: record.tier,
                is_admin: record.is_admin,
            },
            limit,
        ))
    }

    /// Counts a request in the key's hourly window (this process's count; the window
    /// shared across instances comes with SaaS mode). Returns whether the request is
    /// admitted, the requests left in the window after it, and when the window resets
    /// (Unix seconds).
    fn admit(&self, key_id: &str, limit: u64) -> (bool, u64, u64) {
        let now = now_secs();
        let window = now / 3600;
        let reset = (window + 1) * 3600;
        let mut entry = self
            .windows
            .entry(key_id.to_string())
            .or_insert((window, 0));
        if entry.0 != window {
            *entry = (window, 0);
        }
        if entry.1 >= limit {
            return (false, 0, reset);
        }
        entry.1 += 1;
        (true, limit - entry.1, reset)
    }

    /// Writes the counted usage to the database; called periodically.
    pub async fn flush_usage(&self) {
        let usage: Vec<(String, u64)> = self
            .usage
            .iter()
            .map(|e| (e.key().clone(), *e.value()))
            .collect();
        if usage.is_empty() {
            return;
        }
        for (key, count) in &usage {
            self.usage.alter(key, |_, v| v.saturating_sub(*count));
        }
        self.usage.retain(|_, v| *v > 0);
        if let Err(error) = self.store.record_key_usage(&usage).await {
            tracing::warn!(%error, "usage not recorded; will retry");
            for (key, count) in usage {
                *self.usage.entry(key).or_insert(0) += count;
            }
        }
    }
}

/// The middleware: authenticate, apply the hourly limit, stamp the limit headers.
pub async fn require_key(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let (caller, limit) = match state.auth.authenticate(request.headers()).await {
        Ok(found) => found,
        Err(error) => return error.into_response(),
    };
    let (admitted, remaining, reset) = state.auth.admit(&caller.key_id, limit);
    let headers = [
        ("x-ratelimit-limit", limit.to_string()),
        ("x-ratelimit-remaining", remaining.to_string()),
        ("x-ratelimit-reset", reset.to_string()),
    ];
    let mut response = if admitted {
        *state.auth.usage.entry(caller.key_id.clone()).or_insert(0) += 1;
        request.extensions_mut().insert(caller);
        next.run(request).await
    } else {
        state.metrics.rate_limited();
        let wait = reset.saturating_sub(now_secs()).max(1);
        ApiError {
            retry_after: Some(wait),
            ..ApiError::new(
                axum::http::StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "hourly request limit reached",
            )
        }
        .into_response()
    };
    for (name, value) in headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}
