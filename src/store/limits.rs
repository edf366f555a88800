//! Shared request windows and usage records: what the rate limiter and the usage
//! recorder need from the database.
//!
//! A window (an hour, or a calendar month for quotas) is counted in the `rate_limits`
//! table on the database's clock. Instances never read-then-write it: each leases a
//! block of the window's budget with one atomic upsert and spends it in memory, so the
//! sum of what every instance admits never exceeds the limit, and a request pays no
//! database round trip while its instance holds budget.

use super::{OrganizationId, StoreResult, Timestamp};
use async_trait::async_trait;

/// Which window a lease draws from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WindowKind {
    /// The clock hour (UTC): the hourly request limit.
    Hour,
    /// The calendar month (UTC): the monthly quota.
    Month,
}

impl WindowKind {
    pub fn name(self) -> &'static str {
        match self {
            WindowKind::Hour => "hour",
            WindowKind::Month => "month",
        }
    }
}

/// A request for part of a window's budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseRequest {
    /// Who is counted: `key:<key_id>` or `user:<auth.users id>`.
    pub subject: String,
    pub organization: OrganizationId,
    pub kind: WindowKind,
    /// The window's limit; a lease never takes the window's total past it.
    pub limit: u64,
    /// How many requests the instance would like to hold.
    pub want: u64,
}

/// What the database granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseGrant {
    /// Requests now held by the caller (0 when the window is spent).
    pub granted: u64,
    /// Requests leased in the window by every instance, this grant included.
    pub leased: u64,
    /// When the window ends, Unix seconds (the database's clock).
    pub resets_at: i64,
    /// The database's clock at the lease, Unix seconds.
    pub now: i64,
}

/// One authenticated request, for `usage_metrics`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageEvent {
    pub key_id: Option<String>,
    pub user_id: Option<String>,
    pub organization: OrganizationId,
    pub endpoint: String,
    pub method: String,
    pub status: u16,
    pub response_ms: u32,
    pub at: Timestamp,
}

#[async_trait]
pub trait LimitStore: Send + Sync {
    /// Leases up to `want` of the current window's budget in one atomic statement.
    async fn lease_window(&self, request: &LeaseRequest) -> StoreResult<LeaseGrant>;
    /// Gives back an unspent part of a lease (at shutdown), if its window is still current.
    async fn return_lease(&self, subject: &str, kind: WindowKind, unspent: u64) -> StoreResult<()>;
    /// Appends usage records (a background batch).
    async fn record_usage(&self, events: &[UsageEvent]) -> StoreResult<()>;
    /// How many usage records an organization has (for tests and operators).
    async fn usage_count(&self, org: &OrganizationId) -> StoreResult<u64>;
}

/// When a window that began at `start` (Unix seconds, UTC) ends.
pub fn window_end(kind: WindowKind, start: i64) -> i64 {
    match kind {
        WindowKind::Hour => start + 3600,
        WindowKind::Month => time::OffsetDateTime::from_unix_timestamp(start)
            .ok()
            .and_then(|t| {
                let (year, month) = match t.month() {
                    time::Month::December => (t.year() + 1, time::Month::January),
                    m => (t.year(), m.next()),
                };
                time::Date::from_calendar_date(year, month, 1).ok()
            })
            .map(|d| d.midnight().assume_utc().unix_timestamp())
            .unwrap_or(start + 31 * 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_end_at_the_next_first() {
        // 2026-12-01T00:00:00Z → 2027-01-01T00:00:00Z
        assert_eq!(window_end(WindowKind::Month, 1_796_083_200), 1_798_761_600);
        assert_eq!(window_end(WindowKind::Hour, 3600), 7200);
    }
}
