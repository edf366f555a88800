//! What the upkeep (the SchedulerActor's round, `crate::upkeep`) needs from the
//! database: one-instance-at-a-time, usage roll-ups, retention, the queue's vitals and
//! the alerts that are open.
//!
//! Every method takes `now` from the caller instead of reading a clock, so tests drive
//! time; rows are compared against it (a row written by the database's clock a moment
//! ago is older than a `now` taken after it).

use super::{OrganizationId, StoreResult, Timestamp};
use async_trait::async_trait;
use std::time::Duration;

/// Proof that this instance runs the upkeep now (Postgres: a session advisory lock on
/// a connection held by the guard; SQLite: nothing, one process owns the file). Give it
/// back with [`UpkeepLock::release`]; dropped without that, the Postgres connection is
/// closed, which ends the session and so the lock, rather than going back to the pool
/// still holding it.
pub struct UpkeepLock(Option<Box<dyn UpkeepLockInner>>);

/// A backend's lock guard.
#[async_trait]
pub trait UpkeepLockInner: Send {
    async fn release(self: Box<Self>);
}

impl UpkeepLock {
    pub fn new(inner: Box<dyn UpkeepLockInner>) -> UpkeepLock {
        UpkeepLock(Some(inner))
    }

    /// A lock that holds nothing (one process owns the database).
    pub fn exclusive_by_construction() -> UpkeepLock {
        UpkeepLock(None)
    }

    pub async fn release(mut self) {
        if let Some(inner) = self.0.take() {
            inner.release().await;
        }
    }
}

/// The name of the roll-up's watermark in `upkeep_state`.
pub const USAGE_ROLLED_UP_TO: &str = "usage_rolled_up_to";

/// Hours before the watermark that every roll-up recomputes, for usage records whose
/// batch was written after their hour was first rolled up. Retention never deletes raw
/// records inside this margin, so a recomputed hour never loses rows.
pub const REROLL_HOURS: i64 = 2;

/// What one roll-up did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RollUp {
    /// Summary rows written (inserted or replaced).
    pub rows: u64,
    /// The end of the last complete hour now rolled up (None: no usage yet).
    pub rolled_up_to: Option<Timestamp>,
}

/// One summary row of `usage_hourly`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageHour {
    pub hour_start: Timestamp,
    /// `key:<key_id>` (as in `rate_limits`), `user:<auth user id>` or `anonymous`.
    pub subject: String,
    pub endpoint: String,
    pub requests: u64,
    pub client_errors: u64,
    pub server_errors: u64,
    pub total_response_ms: u64,
    pub max_response_ms: u32,
}

/// Rows older than these instants go (see [`UpkeepStore::delete_expired`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Usage records created before this, once rolled up.
    pub usage_before: Timestamp,
    /// Events of jobs that finished before this.
    pub job_events_before: Timestamp,
    /// Settled webhook deliveries received before this.
    pub deliveries_before: Timestamp,
}

/// Rows deleted by one retention pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Deleted {
    pub usage: u64,
    pub job_events: u64,
    pub deliveries: u64,
}

/// The queue's vitals for the alert checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Vitals {
    /// Jobs waiting (queued, runnable or not).
    pub queued: u64,
    /// Jobs that finished within the window, and how many of them failed.
    pub finished_recent: u64,
    pub failed_recent: u64,
    /// Running jobs started before `now - stuck_after`.
    pub stuck: u64,
}

#[async_trait]
pub trait UpkeepStore: Send + Sync {
    /// The upkeep's lock if no other instance holds it (None: another one runs it now).
    async fn try_upkeep_lock(&self) -> StoreResult<Option<UpkeepLock>>;

    /// Rolls `usage_metrics` up into `usage_hourly` for every complete hour before `now`
    /// since the watermark less [`REROLL_HOURS`] (all hours, the first time), replacing
    /// those hours' rows, and moves the watermark to the start of `now`'s hour.
    /// Idempotent: rolling an hour again gives the same totals.
    async fn roll_up_usage(&self, now: Timestamp) -> StoreResult<RollUp>;

    /// The summary rows of an organization with `from <= hour_start < to`, ordered by
    /// hour, subject, endpoint.
    async fn usage_hours(
        &self,
        org: &OrganizationId,
        from: Timestamp,
        to: Timestamp,
    ) -> StoreResult<Vec<UsageHour>>;

    /// Deletes usage records older than the cutoff that are rolled up and outside the
    /// re-roll margin, events of jobs finished before theirs, and webhook deliveries
    /// settled (processed or failed) and received before theirs. Queued and running jobs
    /// keep their events; deliveries still waiting keep theirs.
    async fn delete_expired(&self, retention: &Retention) -> StoreResult<Deleted>;

    /// The queue's vitals at `now`: jobs finished within `window`, running jobs started
    /// more than `stuck_after` ago.
    async fn vitals(
        &self,
        now: Timestamp,
        window: Duration,
        stuck_after: Duration,
    ) -> StoreResult<Vitals>;

    /// Records an alert as open; false when it already was (post nothing then).
    async fn open_alert(&self, name: &str, detail: &str, now: Timestamp) -> StoreResult<bool>;
    /// Records an alert as recovered; false when it was not open.
    async fn close_alert(&self, name: &str) -> StoreResult<bool>;
    /// The open alerts' names.
    async fn open_alerts(&self) -> StoreResult<Vec<String>>;
}

/// The start of `now`'s UTC hour.
pub fn hour_floor(now: Timestamp) -> Timestamp {
    let t = now.as_offset_date_time();
    let secs = t.unix_timestamp();
    let floored = secs - secs.rem_euclid(3600);
    ::time::OffsetDateTime::from_unix_timestamp(floored)
        .map(Timestamp::from)
        .unwrap_or(now)
}

/// `t` moved by `seconds` (negative: earlier).
pub fn shifted(t: Timestamp, seconds: i64) -> Timestamp {
    Timestamp::from(t.as_offset_date_time() + ::time::Duration::seconds(seconds))
}

/// `now` less `period`.
pub fn before(now: Timestamp, period: Duration) -> Timestamp {
    shifted(
        now,
        -(i64::try_from(period.as_secs()).unwrap_or(i64::MAX / 2)),
    )
}
