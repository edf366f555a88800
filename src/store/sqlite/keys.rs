//! `KeyStore` on SQLite: organizations and API keys.

use super::*;

/// `SELECT <key columns> FROM api_keys <rest>`.
macro_rules! select_keys {
    ($rest:literal) => {
        concat!(
            "SELECT id, organization_id, name, tier, key_hash, is_admin, usage_count, last_used_at, expires_at, \
             revoked_at, created_at FROM api_keys ",
            $rest
        )
    };
}

fn key_from_row(row: &sqlx::sqlite::SqliteRow) -> Option<ApiKeyRecord> {
    Some(ApiKeyRecord {
        key_id: row.get("id"),
        organization_id: row.get("organization_id"),
        name: row.get("name"),
        tier: Tier::parse(row.get("tier"))?,
        key_hash: row.get("key_hash"),
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
            "INSERT INTO api_keys (id, organization_id, name, tier, key_hash, is_admin, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&key.key_id)
        .bind(&org.0)
        .bind(&key.name)
        .bind(key.tier.name())
        .bind(&key.key_hash)
        .bind(key.is_admin)
        .bind(key.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
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
