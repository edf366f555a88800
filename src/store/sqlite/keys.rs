//! `KeyStore` on SQLite: organizations and API keys.

use super::*;

/// `SELECT <key columns> FROM api_keys <rest>`.
macro_rules! select_keys {
    ($rest:literal) => {
        concat!(
            "SELECT id, organization_id, user_id, name, tier, key_hash, permissions, rate_limit, monthly_quota, \
             is_admin, usage_count, last_used_at, expires_at, revoked_at, created_at FROM api_keys ",
            $rest
        )
    };
}

fn key_from_row(row: &sqlx::sqlite::SqliteRow) -> Option<ApiKeyRecord> {
    Some(ApiKeyRecord {
        key_id: row.get("id"),
        organization_id: row.get("organization_id"),
        user_id: row.get("user_id"),
        name: row.get("name"),
        tier: Tier::parse(row.get("tier"))?,
        key_hash: row.get("key_hash"),
        permissions: Permissions::from_json(row.get("permissions")),
        rate_limit: row
            .get::<Option<i64>, _>("rate_limit")
            .map(|n| n.max(0) as u64),
        monthly_quota: row
            .get::<Option<i64>, _>("monthly_quota")
            .map(|n| n.max(0) as u64),
        is_admin: row.get("is_admin"),
        usage_count: row.get::<i64, _>("usage_count") as u64,
        last_used_at: row.get("last_used_at"),
        expires_at: row.get("expires_at"),
        revoked_at: row.get("revoked_at"),
        created_at: row.get("created_at"),
    })
}

#[async_trait]
impl KeyStore for SqliteStore {
    async fn create_key(&self, org: &OrganizationId, key: &ApiKeyRecord) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO api_keys (id, organization_id, user_id, name, tier, key_hash, permissions, rate_limit, \
             monthly_quota, is_admin, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&key.key_id)
        .bind(&org.0)
        .bind(&key.user_id)
        .bind(&key.name)
        .bind(key.tier.name())
        .bind(&key.key_hash)
        .bind(key.permissions.to_json())
        .bind(key.rate_limit.map(|n| n as i64))
        .bind(key.monthly_quota.map(|n| n as i64))
        .bind(key.is_admin)
        .bind(key.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn key_by_lookup_hash(&self, lookup_hash: &str) -> StoreResult<Option<ApiKeyRecord>> {
        let row = sqlx::query(select_keys!("WHERE lookup_hash = ?"))
            .bind(lookup_hash)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().and_then(key_from_row))
    }

    async fn add_member(&self, org: &OrganizationId, user_id: &str) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO organization_members (organization_id, user_id) VALUES (?, ?) \
             ON CONFLICT DO NOTHING",
        )
        .bind(&org.0)
        .bind(user_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn user_organizations(&self, user_id: &str) -> StoreResult<Vec<OrganizationId>> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT organization_id FROM organization_members WHERE user_id = ? \
             ORDER BY created_at, organization_id",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(ids.into_iter().map(OrganizationId).collect())
    }

    async fn key(&self, key_id: &str) -> StoreResult<Option<ApiKeyRecord>> {
        let row = sqlx::query(select_keys!("WHERE id = ?"))
            .bind(key_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().and_then(key_from_row))
    }

    async fn keys(&self, org: &OrganizationId) -> StoreResult<Vec<ApiKeyRecord>> {
        let rows = sqlx::query(select_keys!(
            "WHERE organization_id = ? ORDER BY created_at, id"
        ))
        .bind(&org.0)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().filter_map(key_from_row).collect())
    }

    async fn revoke_key(&self, org: &OrganizationId, key_id: &str) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE api_keys SET revoked_at = coalesce(revoked_at, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) \
             WHERE id = ? AND organization_id = ?",
        )
        .bind(key_id)
        .bind(&org.0)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn count_keys(&self) -> StoreResult<u64> {
        let count: i64 = sqlx::query_scalar("SELECT count(*) FROM api_keys")
            .fetch_one(&self.pool)
            .await?;
        Ok(count as u64)
    }

    async fn record_key_usage(&self, usage: &[(String, u64)]) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        for (key_id, count) in usage {
            sqlx::query(
                "UPDATE api_keys SET usage_count = usage_count + ?, last_used_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?",
            )
            .bind(*count as i64)
            .bind(key_id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn organizations(&self) -> StoreResult<Vec<OrganizationId>> {
        let ids: Vec<String> =
            sqlx::query_scalar("SELECT id FROM organizations ORDER BY created_at, id")
                .fetch_all(&self.pool)
                .await?;
        Ok(ids.into_iter().map(OrganizationId).collect())
    }

    async fn ensure_organization(&self, name: &str) -> StoreResult<OrganizationId> {
        sqlx::query(
            "INSERT INTO organizations (id, name) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(name)
        .execute(&self.pool)
        .await?;
        let id: String = sqlx::query_scalar("SELECT id FROM organizations WHERE name = ?")
            .bind(name)
            .fetch_one(&self.pool)
            .await?;
        Ok(OrganizationId(id))
    }
}

/// `strftime` text of the start of the current window, on the database's clock.
fn window_start_sql(kind: WindowKind) -> &'static str {
    match kind {
        WindowKind::Hour => "strftime('%Y-%m-%dT%H:00:00.000Z', 'now')",
        WindowKind::Month => "strftime('%Y-%m-01T00:00:00.000Z', 'now')",
    }
}

#[async_trait]
impl LimitStore for SqliteStore {
    async fn lease_window(&self, request: &LeaseRequest) -> StoreResult<LeaseGrant> {
        // One statement: the update's expressions all read the row as it was, so
        // `last_granted` is exactly what this lease added to `leased`.
        let start = window_start_sql(request.kind);
        let sql = format!(
            "INSERT INTO rate_limits (subject, window_kind, window_start, organization_id, leased, last_granted) \
             VALUES (?1, ?2, {start}, ?3, min(?4, ?5), min(?4, ?5)) \
             ON CONFLICT (subject, window_kind, window_start) DO UPDATE SET \
               last_granted = min(?4, max(?5 - rate_limits.leased, 0)), \
               leased = rate_limits.leased + min(?4, max(?5 - rate_limits.leased, 0)), \
               updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') \
             RETURNING leased, last_granted, CAST(strftime('%s', window_start) AS INTEGER) AS start, \
               CAST(strftime('%s', 'now') AS INTEGER) AS now"
        );
        // The only text spliced in is a constant of `window_start_sql`.
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&request.subject)
            .bind(request.kind.name())
            .bind(&request.organization.0)
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
            "UPDATE rate_limits SET leased = max(leased - ?, 0) \
             WHERE subject = ? AND window_kind = ? AND window_start = {start}"
        )))
        .bind(unspent.min(i64::MAX as u64) as i64)
        .bind(subject)
        .bind(kind.name())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn record_usage(&self, events: &[UsageEvent]) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        for chunk in events.chunks(ROWS_PER_INSERT / 2) {
            let mut insert = QueryBuilder::<Sqlite>::new(
                "INSERT INTO usage_metrics (api_key_id, user_id, organization_id, endpoint, method, \
                 status_code, response_time_ms, created_at) ",
            );
            insert.push_values(chunk, |mut row, event| {
                row.push_bind(&event.key_id)
                    .push_bind(&event.user_id)
                    .push_bind(&event.organization.0)
                    .push_bind(&event.endpoint)
                    .push_bind(&event.method)
                    .push_bind(i64::from(event.status))
                    .push_bind(i64::from(event.response_ms))
                    .push_bind(event.at);
            });
            insert.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn usage_count(&self, org: &OrganizationId) -> StoreResult<u64> {
        let count: i64 =
            sqlx::query_scalar("SELECT count(*) FROM usage_metrics WHERE organization_id = ?")
                .bind(&org.0)
                .fetch_one(&self.pool)
                .await?;
        Ok(count.max(0) as u64)
    }
}
