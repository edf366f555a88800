//! `LimitStore` on Postgres: the shared rate windows (`rate_limits`) and usage records.

use super::*;

/// The start of the current window, on the database's clock.
fn window_start_sql(kind: WindowKind) -> &'static str {
    match kind {
        WindowKind::Hour => "date_trunc('hour', now())",
        WindowKind::Month => "date_trunc('month', now())",
    }
}

#[async_trait]
impl LimitStore for PostgresStore {
    async fn lease_window(&self, request: &LeaseRequest) -> StoreResult<LeaseGrant> {
        // One statement, so concurrent leases from every instance serialise on the row:
        // the update's expressions read the row as it was, so `last_granted` is exactly
        // what this lease added, and `leased` never passes the limit.
        let start = window_start_sql(request.kind);
        let organization = uuid::Uuid::parse_str(&request.organization.0)
            .ok()
            .map(|u| u.to_string());
        let sql = format!(
            "INSERT INTO rate_limits AS r (subject, window_kind, window_start, organization_id, leased, last_granted) \
             VALUES ($1, $2, {start}, $3::uuid, LEAST($4, $5), LEAST($4, $5)) \
             ON CONFLICT (subject, window_kind, window_start) DO UPDATE SET \
               last_granted = LEAST($4, GREATEST($5 - r.leased, 0)), \
               leased = r.leased + LEAST($4, GREATEST($5 - r.leased, 0)), \
               updated_at = now() \
             RETURNING leased, last_granted, extract(epoch FROM window_start)::bigint AS start, \
               extract(epoch FROM now())::bigint AS now"
        );
        // The only text spliced in is a constant of `window_start_sql`.
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&request.subject)
            .bind(request.kind.name())
            .bind(organization)
            .bind(request.want.min(i64::MAX as u64) as i64)
            .bind(request.limit.min(i64::MAX as u64) as i64)
            .fetch_one(&self.pool)
            .await?;
        let start: i64 = row.get("start");
        Ok(LeaseGrant {
            granted: row.get::<i64, _>("last_granted").max(0) as u64,
            leased: row.get::<i64, _>("leased").max(0) as u64,
            resets_at: crate::store::limits::window_end(request.kind, start),
            now: row.get("now"),
        })
    }

    async fn return_lease(&self, subject: &str, kind: WindowKind, unspent: u64) -> StoreResult<()> {
        let start = window_start_sql(kind);
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE rate_limits SET leased = GREATEST(leased - $1, 0), updated_at = now() \
             WHERE subject = $2 AND window_kind = $3 AND window_start = {start}"
        )))
        .bind(unspent.min(i64::MAX as u64) as i64)
        .bind(subject)
        .bind(kind.name())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn record_usage(&self, events: &[UsageEvent]) -> StoreResult<()> {
        // One statement per batch over arrays (a batch is at most a few thousand rows):
        // the key's row id comes from its key_id, a user id must be a UUID.
        let mut key_ids = Vec::with_capacity(events.len());
        let mut users = Vec::with_capacity(events.len());
        let mut orgs = Vec::with_capacity(events.len());
        let mut endpoints = Vec::with_capacity(events.len());
        let mut methods = Vec::with_capacity(events.len());
        let mut statuses = Vec::with_capacity(events.len());
        let mut times = Vec::with_capacity(events.len());
        let mut ats = Vec::with_capacity(events.len());
        for event in events {
            let Ok(org) = uuid::Uuid::parse_str(&event.organization.0) else {
                continue;
            };
            let org = org.to_string();
            key_ids.push(event.key_id.clone());
            users.push(
                event
                    .user_id
                    .as_deref()
                    .and_then(|u| uuid::Uuid::parse_str(u).ok())
                    .map(|u| u.to_string()),
            );
            orgs.push(org);
            endpoints.push(event.endpoint.replace('\0', ""));
            methods.push(event.method.clone());
            statuses.push(i32::from(event.status));
            times.push(event.response_ms.min(i32::MAX as u32) as i32);
            ats.push(event.at.to_text());
        }
        sqlx::query(
            "INSERT INTO usage_metrics (api_key_id, user_id, organization_id, endpoint, method, \
               status_code, response_time_ms, created_at) \
             SELECT k.id, u.user_id::uuid, u.organization_id::uuid, u.endpoint, u.method, u.status_code, \
               u.response_time_ms, u.created_at::timestamptz \
             FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[], \
                         $7::int[], $8::text[]) \
                  AS u(key_id, user_id, organization_id, endpoint, method, status_code, \
                       response_time_ms, created_at) \
             LEFT JOIN api_keys k ON k.key_id = u.key_id",
        )
        .bind(key_ids)
        .bind(users)
        .bind(orgs)
        .bind(endpoints)
        .bind(methods)
        .bind(statuses)
        .bind(times)
        .bind(ats)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn usage_count(&self, org: &OrganizationId) -> StoreResult<u64> {
        let Ok(org) = uuid::Uuid::parse_str(&org.0) else {
            return Ok(0);
        };
        let count: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM usage_metrics WHERE organization_id = $1::uuid",
        )
        .bind(org.to_string())
        .fetch_one(&self.pool)
        .await?;
        Ok(count.max(0) as u64)
    }
}
