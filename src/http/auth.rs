//! Authentication, limits and usage for every route but `/health`, `/metrics` and
//! `/openapi.json`.
//!
//! Per request: the credential goes to the KeyCacheActor (an API key, a Supabase access
//! token or a seed-000 SQL key; see `crate::access`), the caller's organization is
//! chosen, the RateLimiterActor counts the request against the burst limit, the hourly
//! window and the monthly quota, the limit headers are stamped, and the request is
//! queued for `usage_metrics` in a background batch. On a warm cache none of this waits
//! on the database.
//!
//! A user of an access token acts for one organization per request: the one they belong
//! to, or, when they belong to several, the one named by `X-Organization-Id`.

use super::caller::Caller;
use super::error::ApiError;
use super::AppState;
use crate::access::{AccessActors, Identity};
use crate::settings::TierLimits;
use crate::store::{OrganizationId, Store, Timestamp, UsageEvent};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use kotadb_actors::access::{Admission, Limited, Limits};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// The header that picks an organization for a user who belongs to several.
pub const ORGANIZATION_HEADER: &str = "x-organization-id";

/// Limits that are not per key: tier defaults and the burst bucket.
#[derive(Debug, Clone, Copy)]
pub struct AuthSettings {
    pub tiers: TierLimits,
    pub burst_per_second: u32,
    pub burst: u32,
}

/// The request path's access control: the actors' handle and the usage recorder.
pub struct Auth {
    actors: AccessActors,
    settings: AuthSettings,
    usage: UsageRecorder,
}

impl Auth {
    pub fn new(actors: AccessActors, settings: AuthSettings, usage: UsageRecorder) -> Auth {
        Auth {
            actors,
            settings,
            usage,
        }
    }

    pub fn actors(&self) -> &AccessActors {
        &self.actors
    }

    /// Drops a revoked key from this instance's cache at once.
    pub async fn forget_key(&self, key_id: &str) {
        self.actors.forget_key(key_id.to_string()).await;
    }

    /// The caller of a request with these headers.
    pub async fn authenticate(&self, headers: &HeaderMap) -> Result<(Caller, Limits), ApiError> {
        let value = headers.get(header::AUTHORIZATION).ok_or_else(|| {
            ApiError::unauthorized("missing Authorization: Bearer <api key or access token>")
        })?;
        let text = value
            .to_str()
            .map_err(|_| ApiError::unauthorized("malformed Authorization header"))?;
        let credential = text
            .strip_prefix("Bearer ")
            .or_else(|| text.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .ok_or_else(|| {
                ApiError::unauthorized("use Authorization: Bearer <api key or access token>")
            })?;
        let checked = self
            .actors
            .resolve(crate::keys::fingerprint(credential), credential.to_string())
            .await
            .map_err(|error| {
                tracing::error!(%error, "credential check failed");
                ApiError::unavailable("the database is unavailable", 5)
            })?
            .ok_or_else(|| ApiError::unauthorized("invalid API key"))?;
        let identity = match checked.as_ref() {
            Ok(identity) => identity,
            Err(why) => return Err(ApiError::unauthorized(why.clone())),
        };
        if identity.revoked {
            return Err(ApiError::unauthorized("API key revoked"));
        }
        if identity
            .expires_at
            .is_some_and(|at| at <= Timestamp::now().as_offset_date_time().unix_timestamp())
        {
            return Err(ApiError::unauthorized(match identity.user_id() {
                Some(_) => "access token expired",
                None => "API key expired",
            }));
        }
        let org = choose_organization(identity, headers)?;
        let per_hour = identity
            .rate_limit
            .unwrap_or_else(|| self.settings.tiers.for_tier(identity.tier));
        let limits = Limits {
            per_hour,
            per_month: identity.monthly_quota,
            burst_per_second: burst_scaled(self.settings.burst_per_second, per_hour / 360),
            burst: burst_scaled(self.settings.burst, per_hour / 100),
        };
        Ok((
            Caller {
                org,
                subject: identity.subject(),
                key_id: identity.key_id().map(str::to_string),
                user_id: identity.user_id().map(str::to_string),
                tier: identity.tier,
                permissions: identity.permissions,
                is_admin: identity.is_admin,
            },
            limits,
        ))
    }
}

/// The burst bucket grows with the hourly limit: at least the configured size, and
/// enough that a client spending its hourly budget in six minutes (refill: a 360th of the
/// hour's limit per second; size: a hundredth) is never refused as a burst. A deployment
/// that raises an hourly limit raises the burst with it.
fn burst_scaled(configured: u32, from_hourly: u64) -> u32 {
    configured.max(u32::try_from(from_hourly).unwrap_or(u32::MAX))
}

fn choose_organization(
    identity: &Identity,
    headers: &HeaderMap,
) -> Result<OrganizationId, ApiError> {
    let chosen = headers
        .get(ORGANIZATION_HEADER)
        .map(|v| v.to_str().map(str::trim))
        .transpose()
        .map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "malformed X-Organization-Id",
            )
        })?;
    match (chosen, identity.organizations.as_slice()) {
        (_, []) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "this user belongs to no organization",
        )),
        (Some(wanted), orgs) => orgs
            .iter()
            .find(|o| o.0.eq_ignore_ascii_case(wanted))
            .cloned()
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::FORBIDDEN,
                    "forbidden",
                    "not a member of that organization",
                )
            }),
        (None, [only]) => Ok(only.clone()),
        (None, _) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "this user belongs to several organizations: name one with X-Organization-Id",
        )),
    }
}

fn limit_headers(response: &mut Response, limit: u64, remaining: u64, reset: i64) {
    for (name, value) in [
        ("x-ratelimit-limit", limit.to_string()),
        ("x-ratelimit-remaining", remaining.to_string()),
        ("x-ratelimit-reset", reset.max(0).to_string()),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, value);
        }
    }
}

/// The middleware: authenticate, count, stamp the limit headers, record usage.
pub async fn require_key(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    if state.service.database_down() {
        // Known down: answer now rather than after the pool's connect timeout.
        return ApiError::unavailable("the database is unreachable; retry shortly", 2)
            .into_response();
    }
    let (caller, limits) = match state.auth.authenticate(request.headers()).await {
        Ok(found) => found,
        Err(error) => return error.into_response(),
    };
    let admission = match state
        .auth
        .actors
        .admit(caller.subject.clone(), caller.org.0.clone(), limits)
        .await
    {
        Ok(admission) => admission,
        Err(error) => {
            tracing::error!(%error, "rate limiter unavailable");
            Admission::Unavailable
        }
    };
    let endpoint = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| request.uri().path().to_string());
    let method = request.method().to_string();
    let event = |status: StatusCode| UsageEvent {
        key_id: caller.key_id.clone(),
        user_id: caller.user_id.clone(),
        organization: caller.org.clone(),
        endpoint: endpoint.clone(),
        method: method.clone(),
        status: status.as_u16(),
        response_ms: started.elapsed().as_millis().min(u32::MAX as u128) as u32,
        at: Timestamp::now(),
    };
    let response = match admission {
        Admission::Admitted {
            limit,
            remaining,
            reset,
        } => {
            request.extensions_mut().insert(caller.clone());
            let mut response =
                crate::store::acting_as(caller.user_id.clone(), next.run(request)).await;
            limit_headers(&mut response, limit, remaining, reset);
            response
        }
        Admission::Refused {
            why,
            limit,
            reset,
            retry_after,
        } => {
            state.metrics.rate_limited();
            let (code, message) = match why {
                Limited::Burst => ("rate_limited", "too many requests at once: slow down"),
                Limited::Hour => ("rate_limited", "hourly request limit reached"),
                Limited::Month => ("quota_exceeded", "monthly request quota reached"),
            };
            let mut response = ApiError {
                retry_after: Some(retry_after),
                ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, code, message)
            }
            .into_response();
            limit_headers(&mut response, limit, 0, reset);
            response
        }
        Admission::Unavailable => ApiError::unavailable(
            "rate limits cannot be checked: the database is unavailable",
            5,
        )
        .into_response(),
    };
    state.auth.usage.record(event(response.status()));
    response
}

/// Usage records on their way to `usage_metrics` (and keys' `usage_count` and
/// `last_used_at`): queued without waiting, written in batches by one task, flushed at
/// shutdown. When the queue is full (the database is far behind) records are dropped
/// and counted, never waited for.
#[derive(Clone)]
pub struct UsageRecorder {
    queue: mpsc::Sender<UsageEvent>,
    dropped: Arc<std::sync::atomic::AtomicU64>,
}

/// The task writing usage batches; `finish` flushes what is queued.
pub struct UsageWriter {
    task: tokio::task::JoinHandle<()>,
}

/// Records per batch and the longest a record waits.
const USAGE_BATCH: usize = 1_000;
const USAGE_PERIOD: Duration = Duration::from_secs(2);
const USAGE_QUEUE: usize = 100_000;

impl UsageRecorder {
    pub fn start(store: Arc<dyn Store>) -> (UsageRecorder, UsageWriter) {
        let (queue, mut receiver) = mpsc::channel::<UsageEvent>(USAGE_QUEUE);
        let task = tokio::spawn(async move {
            let mut batch = Vec::with_capacity(USAGE_BATCH);
            let mut open = true;
            while open {
                let deadline = tokio::time::sleep(USAGE_PERIOD);
                tokio::pin!(deadline);
                while batch.len() < USAGE_BATCH {
                    tokio::select! {
                        event = receiver.recv() => match event {
                            Some(event) => batch.push(event),
                            None => { open = false; break; }
                        },
                        _ = &mut deadline => break,
                    }
                }
                if !batch.is_empty() {
                    write_usage(store.as_ref(), &batch).await;
                    batch.clear();
                }
            }
        });
        (
            UsageRecorder {
                queue,
                dropped: Arc::default(),
            },
            UsageWriter { task },
        )
    }

    pub fn record(&self, event: UsageEvent) {
        if self.queue.try_send(event).is_err() {
            let dropped = self
                .dropped
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if dropped.is_multiple_of(10_000) {
                tracing::warn!(dropped = dropped + 1, "usage queue full: records dropped");
            }
        }
    }
}

impl UsageWriter {
    /// Waits for every queued record to be written (after the last sender is dropped).
    pub async fn finish(self, within: Duration) {
        if tokio::time::timeout(within, self.task).await.is_err() {
            tracing::warn!("usage records not all written before shutdown");
        }
    }
}

async fn write_usage(store: &dyn Store, batch: &[UsageEvent]) {
    let mut per_key: std::collections::BTreeMap<&str, u64> = Default::default();
    for event in batch {
        if let Some(key) = &event.key_id {
            *per_key.entry(key.as_str()).or_default() += 1;
        }
    }
    let per_key: Vec<(String, u64)> = per_key
        .into_iter()
        .map(|(k, n)| (k.to_string(), n))
        .collect();
    let mut metrics_written = false;
    for attempt in 0..3u32 {
        if !metrics_written {
            match store.record_usage(batch).await {
                Ok(()) => metrics_written = true,
                Err(error) => {
                    tracing::warn!(%error, attempt, "usage records not written; retrying");
                    tokio::time::sleep(Duration::from_millis(500 << attempt)).await;
                    continue;
                }
            }
        }
        match store.record_key_usage(&per_key).await {
            Ok(()) => return,
            Err(error) => {
                tracing::warn!(%error, attempt, "key usage counts not written; retrying");
                tokio::time::sleep(Duration::from_millis(500 << attempt)).await;
            }
        }
    }
    tracing::error!(
        records = batch.len(),
        "usage batch dropped after three attempts"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_burst_grows_with_the_hourly_limit() {
        // The team default (25,000/h): a 69/s refill, 250 at once.
        assert_eq!(burst_scaled(50, 25_000 / 360), 69);
        assert_eq!(burst_scaled(200, 25_000 / 100), 250);
        // A small limit keeps the configured burst.
        assert_eq!(burst_scaled(50, 1_000 / 360), 50);
        // A limit raised for a load test raises the burst with it.
        assert_eq!(burst_scaled(50, 10_000_000_000_000 / 360), u32::MAX);
    }
}
