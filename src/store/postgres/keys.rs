//! `KeyStore` on Postgres: organizations and API keys. A key's `key_id` is the
//! `api_keys.key_id` column (the `id` uuid is the row's own).

use super::*;
use std::collections::BTreeMap;

/// `SELECT <key columns> FROM api_keys <rest>`.
macro_rules! select_keys {
    ($rest:literal) => {
        concat!(
            "SELECT key_id, organization_id::text AS organization_id, user_id::text AS user_id, name, tier, \
             key_hash, permissions::text AS permissions, rate_limit::bigint AS rate_limit, monthly_quota, \
             is_admin, usage_count, last_used_at, expires_at, revoked_at, created_at FROM api_keys ",
            $rest
        )
    };
}

fn key_from_row(row: &PgRow) -> Option<ApiKeyRecord> {
    Some(ApiKeyRecord {
        key_id: row.get("key_id"),
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
        usage_count: row.get::<i64, _>("usage_count").max(0) as u64,
        last_used_at: row.get("last_used_at"),
        expires_at: row.get("expires_at"),
        revoked_at: row.get("revoked_at"),
        created_at: row.get("created_at"),
    })
}

/// The LISTEN/NOTIFY channel on which revoked key ids are announced.
pub(super) const REVOCATION_CHANNEL: &str = "kotadb_key_revoked";

#[async_trait]
impl KeyStore for PostgresStore {
    async fn create_key(&self, org: &OrganizationId, key: &ApiKeyRecord) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO api_keys (key_id, organization_id, user_id, name, tier, key_hash, permissions, \
             rate_limit, monthly_quota, is_admin, expires_at) \
             VALUES ($1, $2::uuid, $3::uuid, $4, $5, $6, $7::jsonb, $8::integer, $9, $10, $11)",
        )
        .bind(&key.key_id)
        .bind(&org.0)
        .bind(key.user_id.as_deref().and_then(uuid))
        .bind(&key.name)
        .bind(key.tier.name())
        .bind(&key.key_hash)
        .bind(key.permissions.to_json())
        .bind(key.rate_limit.map(|n| n.min(i32::MAX as u64) as i64))
        .bind(key.monthly_quota.map(|n| n.min(i64::MAX as u64) as i64))
        .bind(key.is_admin)
        .bind(key.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn key_by_lookup_hash(&self, lookup_hash: &str) -> StoreResult<Option<ApiKeyRecord>> {
        if !storable(lookup_hash) {
            return Ok(None);
        }
        let row = sqlx::query(select_keys!("WHERE lookup_hash = $1"))
            .bind(lookup_hash)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().and_then(key_from_row))
    }

    async fn add_member(&self, org: &OrganizationId, user_id: &str) -> StoreResult<()> {
        let (Some(org), Some(user)) = (uuid(&org.0), uuid(user_id)) else {
            return Err(StoreError::Conflict(format!(
                "{user_id:?} is not a Supabase user id (a UUID)"
            )));
        };
        let added = sqlx::query(
            "INSERT INTO organization_members (organization_id, user_id) VALUES ($1::uuid, $2::uuid) \
             ON CONFLICT DO NOTHING",
        )
        .bind(org)
        .bind(&user)
        .execute(&self.pool)
        .await;
        match added {
            Ok(_) => Ok(()),
            Err(sqlx::Error::Database(e)) if e.is_foreign_key_violation() => Err(
                StoreError::Conflict(format!("no Supabase user {user} in auth.users")),
            ),
            Err(other) => Err(other.into()),
        }
    }

    async fn user_organizations(&self, user_id: &str) -> StoreResult<Vec<OrganizationId>> {
        let Some(user) = uuid(user_id) else {
            return Ok(Vec::new());
        };
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT organization_id::text FROM organization_members WHERE user_id = $1::uuid \
             ORDER BY created_at, organization_id",
        )
        .bind(user)
        .fetch_all(&self.pool)
        .await?;
        Ok(ids.into_iter().map(OrganizationId).collect())
    }

    async fn key(&self, key_id: &str) -> StoreResult<Option<ApiKeyRecord>> {
        if !storable(key_id) {
            return Ok(None);
        }
        let row = sqlx::query(select_keys!("WHERE key_id = $1"))
            .bind(key_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().and_then(key_from_row))
    }

    async fn keys(&self, org: &OrganizationId) -> StoreResult<Vec<ApiKeyRecord>> {
        let Some(org) = uuid(&org.0) else {
            return Ok(Vec::new());
        };
        let rows = sqlx::query(select_keys!(
            "WHERE organization_id = $1::uuid ORDER BY created_at, key_id COLLATE \"C\""
        ))
        .bind(org)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().filter_map(key_from_row).collect())
    }

    async fn revoke_key(&self, org: &OrganizationId, key_id: &str) -> StoreResult<bool> {
        let Some(org) = uuid(&org.0).filter(|_| storable(key_id)) else {
            return Ok(false);
        };
        // The revocation and its announcement commit together: every instance listening
        // (`key_revocations`) drops the key from its cache as soon as it is revoked.
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()), updated_at = now() \
             WHERE key_id = $1 AND organization_id = $2::uuid",
        )
        .bind(key_id)
        .bind(org)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() > 0 {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(REVOCATION_CHANNEL)
                .bind(key_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    async fn count_keys(&self) -> StoreResult<u64> {
        let count: i64 = sqlx::query_scalar("SELECT count(*) FROM api_keys")
            .fetch_one(&self.pool)
            .await?;
        Ok(count.max(0) as u64)
    }

    async fn record_key_usage(&self, usage: &[(String, u64)]) -> StoreResult<()> {
        // One statement for the whole batch; a key twice in it counts both times.
        let mut totals: BTreeMap<&str, i64> = BTreeMap::new();
        for (key_id, count) in usage.iter().filter(|(key_id, _)| storable(key_id)) {
            let total = totals.entry(key_id.as_str()).or_default();
            *total = total.saturating_add(i64::try_from(*count).unwrap_or(i64::MAX));
        }
        if totals.is_empty() {
            return Ok(());
        }
        let (ids, counts): (Vec<&str>, Vec<i64>) = totals.into_iter().unzip();
        sqlx::query(
            "UPDATE api_keys k SET usage_count = k.usage_count + u.requests, last_used_at = now() \
             FROM unnest($1::text[], $2::bigint[]) AS u(key_id, requests) WHERE k.key_id = u.key_id",
        )
        .bind(ids)
        .bind(counts)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn organizations(&self) -> StoreResult<Vec<OrganizationId>> {
        let ids: Vec<String> =
            sqlx::query_scalar("SELECT id::text FROM organizations ORDER BY created_at, id")
                .fetch_all(&self.pool)
                .await?;
        Ok(ids.into_iter().map(OrganizationId).collect())
    }

    async fn ensure_organization(&self, name: &str) -> StoreResult<OrganizationId> {
        if !storable(name) {
            return Err(StoreError::Conflict(
                "an organization name cannot contain NUL".into(),
            ));
        }
        // Two statements: the second one's snapshot sees a row a concurrent caller inserted.
        sqlx::query("INSERT INTO organizations (name) VALUES ($1) ON CONFLICT (name) DO NOTHING")
            .bind(name)
            .execute(&self.pool)
            .await?;
        let id: String = sqlx::query_scalar("SELECT id::text FROM organizations WHERE name = $1")
            .bind(name)
            .fetch_one(&self.pool)
            .await?;
        Ok(OrganizationId(id))
    }
}
