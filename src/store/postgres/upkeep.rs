//! The upkeep on Postgres, shared by every instance: one instance at a time runs a round,
//! under a session advisory lock held by one pooled connection for the round
//! (`pg_try_advisory_lock`); the others skip it. The lock ends with its session, so an
//! instance that dies mid-round frees it at once.

use super::*;
use crate::store::upkeep::*;

/// The key of the upkeep's advisory lock (any constant unique to KotaDB).
pub(super) const UPKEEP_LOCK: i64 = 0x6b6f_7461_7570_6b70; // "kotaupkp"

/// The lock's connection; given back to the pool only once unlocked.
struct PgUpkeepLock(Option<sqlx::pool::PoolConnection<Postgres>>);

#[async_trait]
impl UpkeepLockInner for PgUpkeepLock {
    async fn release(mut self: Box<Self>) {
        if let Some(mut conn) = self.0.take() {
            let unlocked = sqlx::query("SELECT pg_advisory_unlock($1)")
                .bind(UPKEEP_LOCK)
                .execute(&mut *conn)
                .await;
            if unlocked.is_err() {
                // Closing the session frees the lock whatever state it is in.
                drop(conn.detach());
            }
        }
    }
}

impl Drop for PgUpkeepLock {
    fn drop(&mut self) {
        if let Some(conn) = self.0.take() {
            drop(conn.detach());
        }
    }
}

fn count(row: &PgRow, column: &str) -> u64 {
    row.get::<i64, _>(column).max(0) as u64
}

#[async_trait]
impl UpkeepStore for PostgresStore {
    async fn try_upkeep_lock(&self) -> StoreResult<Option<UpkeepLock>> {
        let mut conn = self.pool.acquire().await?;
        let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(UPKEEP_LOCK)
            .fetch_one(&mut *conn)
            .await?;
        Ok(locked.then(|| UpkeepLock::new(Box::new(PgUpkeepLock(Some(conn))))))
    }

    async fn roll_up_usage(&self, now: Timestamp) -> StoreResult<RollUp> {
        let end = hour_floor(now);
        let mut tx = self.pool.begin().await?;
        let watermark: Option<Timestamp> =
            sqlx::query_scalar("SELECT at FROM upkeep_state WHERE name = $1")
                .bind(USAGE_ROLLED_UP_TO)
                .fetch_optional(&mut *tx)
                .await?;
        let from = watermark.map(|w| shifted(w, -REROLL_HOURS * 3600));
        let rows = sqlx::query(
            "INSERT INTO usage_hourly (hour_start, organization_id, subject, endpoint, requests, \
               client_errors, server_errors, total_response_ms, max_response_ms) \
             SELECT date_trunc('hour', m.created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', \
               m.organization_id, \
               coalesce('key:' || k.key_id, 'user:' || m.user_id::text, 'anonymous'), m.endpoint, \
               count(*), count(*) FILTER (WHERE m.status_code >= 400 AND m.status_code < 500), \
               count(*) FILTER (WHERE m.status_code >= 500), sum(m.response_time_ms), \
               max(m.response_time_ms) \
             FROM usage_metrics m LEFT JOIN api_keys k ON k.id = m.api_key_id \
             WHERE ($1::timestamptz IS NULL OR m.created_at >= $1) AND m.created_at < $2 \
             GROUP BY 1, 2, 3, 4 \
             ON CONFLICT (hour_start, organization_id, subject, endpoint) DO UPDATE SET \
               requests = excluded.requests, client_errors = excluded.client_errors, \
               server_errors = excluded.server_errors, \
               total_response_ms = excluded.total_response_ms, \
               max_response_ms = excluded.max_response_ms",
        )
        .bind(from)
        .bind(end)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let rolled_up_to: Timestamp = sqlx::query_scalar(
            "INSERT INTO upkeep_state (name, at) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET at = greatest(upkeep_state.at, excluded.at) \
             RETURNING at",
        )
        .bind(USAGE_ROLLED_UP_TO)
        .bind(end)
        .fetch_one(&mut *tx)
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
        let Ok(org) = uuid::Uuid::parse_str(&org.0) else {
            return Ok(Vec::new());
        };
        let rows = sqlx::query(
            "SELECT hour_start, subject, endpoint, requests, client_errors, server_errors, \
               total_response_ms, max_response_ms FROM usage_hourly \
             WHERE organization_id = $1::uuid AND hour_start >= $2 AND hour_start < $3 \
             ORDER BY hour_start, subject COLLATE \"C\", endpoint COLLATE \"C\"",
        )
        .bind(org.to_string())
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
                requests: count(row, "requests"),
                client_errors: count(row, "client_errors"),
                server_errors: count(row, "server_errors"),
                total_response_ms: count(row, "total_response_ms"),
                max_response_ms: row.get::<i32, _>("max_response_ms").max(0) as u32,
            })
            .collect())
    }

    async fn delete_expired(&self, retention: &Retention) -> StoreResult<Deleted> {
        let mut tx = self.pool.begin().await?;
        let watermark: Option<Timestamp> =
            sqlx::query_scalar("SELECT at FROM upkeep_state WHERE name = $1")
                .bind(USAGE_ROLLED_UP_TO)
                .fetch_optional(&mut *tx)
                .await?;
        let usage = match watermark {
            Some(w) => {
                let before = retention.usage_before.min(shifted(w, -REROLL_HOURS * 3600));
                sqlx::query("DELETE FROM usage_metrics WHERE created_at < $1")
                    .bind(before)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
            }
            None => 0,
        };
        let job_events = sqlx::query(
            "DELETE FROM indexing_job_events e USING indexing_jobs j \
             WHERE j.id = e.job_id AND j.status IN ('succeeded', 'failed') AND j.finished_at < $1",
        )
        .bind(retention.job_events_before)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let deliveries = sqlx::query(
            "DELETE FROM webhook_deliveries WHERE status IN ('processed', 'failed') \
             AND received_at < $1",
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
               count(*) FILTER (WHERE status = 'queued') AS queued, \
               count(*) FILTER (WHERE status IN ('succeeded', 'failed') AND finished_at >= $1) \
                 AS finished, \
               count(*) FILTER (WHERE status = 'failed' AND finished_at >= $1) AS failed, \
               count(*) FILTER (WHERE status = 'running' AND started_at < $2) AS stuck \
             FROM indexing_jobs \
             WHERE status IN ('queued', 'running') OR finished_at >= $1",
        )
        .bind(before(now, window))
        .bind(before(now, stuck_after))
        .fetch_one(&self.pool)
        .await?;
        Ok(Vitals {
            queued: count(&row, "queued"),
            finished_recent: count(&row, "finished"),
            failed_recent: count(&row, "failed"),
            stuck: count(&row, "stuck"),
        })
    }

    async fn open_alert(&self, name: &str, detail: &str, now: Timestamp) -> StoreResult<bool> {
        let inserted = sqlx::query(
            "INSERT INTO upkeep_alerts (name, detail, opened_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(detail.replace('\0', ""))
        .bind(now)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(inserted == 1)
    }

    async fn close_alert(&self, name: &str) -> StoreResult<bool> {
        let deleted = sqlx::query("DELETE FROM upkeep_alerts WHERE name = $1")
            .bind(name)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(deleted == 1)
    }

    async fn open_alerts(&self) -> StoreResult<Vec<String>> {
        Ok(
            sqlx::query_scalar("SELECT name FROM upkeep_alerts ORDER BY name COLLATE \"C\"")
                .fetch_all(&self.pool)
                .await?,
        )
    }
}
