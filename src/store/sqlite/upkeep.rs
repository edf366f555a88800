//! The upkeep on SQLite. One process owns the database file (the data directory's writer
//! lock), so the upkeep lock is always granted. Times are the fixed-format text of
//! `store::time`, so an hour is the first 13 characters and comparisons are textual.

use super::*;
use crate::store::upkeep::*;

/// The hour of a stored time, in the stored format.
const HOUR_OF_CREATED_AT: &str = "substr(created_at, 1, 13) || ':00:00.000Z'";

#[async_trait]
impl UpkeepStore for SqliteStore {
    async fn try_upkeep_lock(&self) -> StoreResult<Option<UpkeepLock>> {
        Ok(Some(UpkeepLock::exclusive_by_construction()))
    }

    async fn roll_up_usage(&self, now: Timestamp) -> StoreResult<RollUp> {
        let end = hour_floor(now);
        let mut tx = self.pool.begin().await?;
        let watermark: Option<Timestamp> =
            sqlx::query_scalar("SELECT at FROM upkeep_state WHERE name = ?")
                .bind(USAGE_ROLLED_UP_TO)
                .fetch_optional(&mut *tx)
                .await?;
        let from = watermark.map(|w| shifted(w, -REROLL_HOURS * 3600));
        let sql = format!(
            "INSERT INTO usage_hourly (hour_start, organization_id, subject, endpoint, requests, \
               client_errors, server_errors, total_response_ms, max_response_ms) \
             SELECT {HOUR_OF_CREATED_AT}, organization_id, \
               coalesce('key:' || api_key_id, 'user:' || user_id, 'anonymous'), endpoint, count(*), \
               sum(status_code >= 400 AND status_code < 500), sum(status_code >= 500), \
               sum(response_time_ms), max(response_time_ms) \
             FROM usage_metrics WHERE (?1 IS NULL OR created_at >= ?1) AND created_at < ?2 \
             GROUP BY 1, 2, 3, 4 \
             ON CONFLICT (hour_start, organization_id, subject, endpoint) DO UPDATE SET \
               requests = excluded.requests, client_errors = excluded.client_errors, \
               server_errors = excluded.server_errors, \
               total_response_ms = excluded.total_response_ms, \
               max_response_ms = excluded.max_response_ms"
        );
        // The only text spliced in is the constant HOUR_OF_CREATED_AT.
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(from)
            .bind(end)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let rolled_up_to = match watermark {
            Some(w) if w >= end => w,
            _ => end,
        };
        sqlx::query(
            "INSERT INTO upkeep_state (name, at) VALUES (?1, ?2) \
             ON CONFLICT (name) DO UPDATE SET at = max(upkeep_state.at, excluded.at)",
        )
        .bind(USAGE_ROLLED_UP_TO)
        .bind(rolled_up_to)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(RollUp {
            rows,
            rolled_up_to: Some(rolled_up_to),
        })
    }

    async fn usage_hours(
        &self,
        org: &OrganizationId,
        from: Timestamp,
        to: Timestamp,
    ) -> StoreResult<Vec<UsageHour>> {
        let rows = sqlx::query(
            "SELECT hour_start, subject, endpoint, requests, client_errors, server_errors, \
               total_response_ms, max_response_ms FROM usage_hourly \
             WHERE organization_id = ? AND hour_start >= ? AND hour_start < ? \
             ORDER BY hour_start, subject, endpoint",
        )
        .bind(&org.0)
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|row| UsageHour {
                hour_start: row.get("hour_start"),
                subject: row.get("subject"),
                endpoint: row.get("endpoint"),
                requests: row.get::<i64, _>("requests").max(0) as u64,
                client_errors: row.get::<i64, _>("client_errors").max(0) as u64,
                server_errors: row.get::<i64, _>("server_errors").max(0) as u64,
                total_response_ms: row.get::<i64, _>("total_response_ms").max(0) as u64,
                max_response_ms: row
                    .get::<i64, _>("max_response_ms")
                    .clamp(0, u32::MAX as i64) as u32,
            })
            .collect())
    }

    async fn delete_expired(&self, retention: &Retention) -> StoreResult<Deleted> {
        let mut tx = self.pool.begin().await?;
        let watermark: Option<Timestamp> =
            sqlx::query_scalar("SELECT at FROM upkeep_state WHERE name = ?")
                .bind(USAGE_ROLLED_UP_TO)
                .fetch_optional(&mut *tx)
                .await?;
        let usage = match watermark {
            Some(w) => {
                let rolled = shifted(w, -REROLL_HOURS * 3600);
                let before = retention.usage_before.min(rolled);
                sqlx::query("DELETE FROM usage_metrics WHERE created_at < ?")
                    .bind(before)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
            }
            None => 0,
        };
        let job_events = sqlx::query(
            "DELETE FROM indexing_job_events WHERE job_id IN (SELECT id FROM indexing_jobs \
             WHERE status IN ('succeeded', 'failed') AND finished_at < ?)",
        )
        .bind(retention.job_events_before)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let deliveries = sqlx::query(
            "DELETE FROM webhook_deliveries WHERE status IN ('processed', 'failed') \
             AND received_at < ?",
        )
        .bind(retention.deliveries_before)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(Deleted {
            usage,
            job_events,
            deliveries,
        })
    }

    async fn vitals(
        &self,
        now: Timestamp,
        window: Duration,
        stuck_after: Duration,
    ) -> StoreResult<Vitals> {
        let row = sqlx::query(
            "SELECT \
               (SELECT count(*) FROM indexing_jobs WHERE status = 'queued') AS queued, \
               (SELECT count(*) FROM indexing_jobs WHERE status IN ('succeeded', 'failed') \
                  AND finished_at >= ?1) AS finished, \
               (SELECT count(*) FROM indexing_jobs WHERE status = 'failed' \
                  AND finished_at >= ?1) AS failed, \
               (SELECT count(*) FROM indexing_jobs WHERE status = 'running' \
                  AND started_at < ?2) AS stuck",
        )
        .bind(before(now, window))
        .bind(before(now, stuck_after))
        .fetch_one(&self.pool)
        .await?;
        Ok(Vitals {
            queued: row.get::<i64, _>("queued").max(0) as u64,
            finished_recent: row.get::<i64, _>("finished").max(0) as u64,
            failed_recent: row.get::<i64, _>("failed").max(0) as u64,
            stuck: row.get::<i64, _>("stuck").max(0) as u64,
        })
    }

    async fn open_alert(&self, name: &str, detail: &str, now: Timestamp) -> StoreResult<bool> {
        let inserted = sqlx::query(
            "INSERT INTO upkeep_alerts (name, detail, opened_at) VALUES (?, ?, ?) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(detail)
        .bind(now)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(inserted == 1)
    }

    async fn close_alert(&self, name: &str) -> StoreResult<bool> {
        let deleted = sqlx::query("DELETE FROM upkeep_alerts WHERE name = ?")
            .bind(name)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(deleted == 1)
    }

    async fn open_alerts(&self) -> StoreResult<Vec<String>> {
        Ok(
            sqlx::query_scalar("SELECT name FROM upkeep_alerts ORDER BY name")
                .fetch_all(&self.pool)
                .await?,
        )
    }
}
