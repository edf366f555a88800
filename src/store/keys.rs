//! Organizations, their members (Supabase users) and their API keys.

use super::{OrganizationId, StoreResult, Timestamp};
use async_trait::async_trait;
use serde::Serialize;

/// A pricing tier, which sets the hourly request limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
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

/// What a key may do: every key reads; registering, re-indexing and deleting need write.
/// Stored as seed 003's JSON, `{"read": true, "write": false}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Permissions {
    #[serde(default = "yes")]
    pub read: bool,
    #[serde(default)]
    pub write: bool,
}

fn yes() -> bool {
    true
}

impl Permissions {
    pub const READ_WRITE: Permissions = Permissions {
        read: true,
        write: true,
    };
    pub const READ_ONLY: Permissions = Permissions {
        read: true,
        write: false,
    };

    /// Reads the stored JSON; anything unreadable grants nothing.
    pub fn from_json(text: &str) -> Permissions {
        serde_json::from_str(text).unwrap_or(Permissions {
            read: false,
            write: false,
        })
    }

    pub fn to_json(self) -> String {
        format!(r#"{{"read": {}, "write": {}}}"#, self.read, self.write)
    }
}

/// A stored API key: everything but the secret, of which only a hash is kept.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ApiKeyRecord {
    pub key_id: String,
    pub organization_id: String,
    /// The Supabase user (`auth.users` id) the key was made for, if any.
    pub user_id: Option<String>,
    pub name: String,
    pub tier: Tier,
    /// SHA-256 (hex) of the secret for keys the service makes; a bcrypt hash for keys
    /// made in SQL with seed 000's `crypt(…, gen_salt('bf'))`.
    #[serde(skip)]
    pub key_hash: String,
    pub permissions: Permissions,
    /// Requests per hour; `None`: the tier's limit.
    pub rate_limit: Option<u64>,
    /// Requests per calendar month (UTC); `None`: no quota.
    pub monthly_quota: Option<u64>,
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
    /// A key made in SQL (seed 000), by the SHA-256 (hex) of the whole plaintext key: one
    /// indexed lookup, after which only that row's bcrypt hash is checked.
    async fn key_by_lookup_hash(&self, lookup_hash: &str) -> StoreResult<Option<ApiKeyRecord>>;
    /// Makes a Supabase user (an `auth.users` id) a member of the organization.
    async fn add_member(&self, org: &OrganizationId, user_id: &str) -> StoreResult<()>;
    /// The organizations a Supabase user belongs to, oldest membership first.
    async fn user_organizations(&self, user_id: &str) -> StoreResult<Vec<OrganizationId>>;
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
