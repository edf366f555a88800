//! Organizations and their API keys.

use super::{OrganizationId, StoreResult, Timestamp};
use async_trait::async_trait;
use serde::Serialize;

/// A pricing tier, which sets the hourly request limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    Free,
    Solo,
    Team,
}

impl Tier {
    pub fn name(self) -> &'static str {
        match self {
            Tier::Free => "free",
            Tier::Solo => "solo",
            Tier::Team => "team",
        }
    }

    pub fn parse(text: &str) -> Option<Tier> {
        match text {
            "free" => Some(Tier::Free),
            "solo" => Some(Tier::Solo),
            "team" => Some(Tier::Team),
            _ => None,
        }
    }
}

/// A stored API key: everything but the secret, of which only a hash is kept.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ApiKeyRecord {
    pub key_id: String,
    pub organization_id: String,
    pub name: String,
    pub tier: Tier,
    #[serde(skip)]
    pub key_hash: String,
    pub is_admin: bool,
    pub usage_count: u64,
    pub last_used_at: Option<Timestamp>,
    pub expires_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

/// Organizations and API keys.
#[async_trait]
pub trait KeyStore: Send + Sync {
    async fn create_key(&self, org: &OrganizationId, key: &ApiKeyRecord) -> StoreResult<()>;
    /// A key by its `key_id`, whatever its state (the caller checks revocation and expiry).
    async fn key(&self, key_id: &str) -> StoreResult<Option<ApiKeyRecord>>;
    async fn keys(&self, org: &OrganizationId) -> StoreResult<Vec<ApiKeyRecord>>;
    /// Revokes a key of the org; false when the org has no such key.
    async fn revoke_key(&self, org: &OrganizationId, key_id: &str) -> StoreResult<bool>;
    async fn count_keys(&self) -> StoreResult<u64>;
    /// Adds batched usage, `(key id, requests)`: each key's `usage_count` grows by its
    /// requests and its `last_used_at` becomes the time of the flush (the batch is
    /// flushed every few seconds, so that is when the key was last used, to within one
    /// flush period).
    async fn record_key_usage(&self, usage: &[(String, u64)]) -> StoreResult<()>;
    /// Every organization.
    async fn organizations(&self) -> StoreResult<Vec<OrganizationId>>;
    /// The organization with this name, created if missing.
    async fn ensure_organization(&self, name: &str) -> StoreResult<OrganizationId>;
}
