//! API keys of the caller's organization: list, create (the key is shown once), revoke.
//! The HTTP layer checks write permission and clears its cache of a revoked key.

use super::*;
use crate::keys::NewKey;
use crate::store::{ApiKeyRecord, Permissions, Tier, Timestamp};
use serde::{Deserialize, Serialize};

/// A key as listed: never its secret or hash.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct KeyView {
    pub key_id: String,
    pub name: String,
    /// `free`, `solo` or `team`.
    pub tier: String,
    pub permissions: PermissionsView,
    pub user_id: Option<String>,
    pub rate_limit: Option<u64>,
    pub monthly_quota: Option<u64>,
    pub usage_count: u64,
    pub last_used_at: Option<String>,
    pub expires_at: Option<String>,
    pub revoked_at: Option<String>,
    pub created_at: String,
}

#[derive(Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PermissionsView {
    pub read: bool,
    pub write: bool,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct KeyList {
    pub keys: Vec<KeyView>,
}

/// `POST /api/v1/keys` body.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKeyBody {
    /// `free`, `solo` or `team`; at most the caller's own tier (default: the caller's).
    pub tier: Option<String>,
    pub name: Option<String>,
    /// A read-only key cannot register, re-index or delete (default false).
    #[serde(default)]
    pub read_only: bool,
}

/// The answer to a create: the key itself, shown this once.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct CreatedKeyView {
    pub key: String,
    #[serde(flatten)]
    pub record: KeyView,
}

fn text(t: Option<Timestamp>) -> Option<String> {
    t.map(Timestamp::to_text)
}

impl From<ApiKeyRecord> for KeyView {
    fn from(k: ApiKeyRecord) -> KeyView {
        KeyView {
            key_id: k.key_id,
            name: k.name,
            tier: k.tier.name().to_string(),
            permissions: PermissionsView {
                read: k.permissions.read,
                write: k.permissions.write,
            },
            user_id: k.user_id,
            rate_limit: k.rate_limit,
            monthly_quota: k.monthly_quota,
            usage_count: k.usage_count,
            last_used_at: text(k.last_used_at),
            expires_at: text(k.expires_at),
            revoked_at: text(k.revoked_at),
            created_at: k.created_at.to_text(),
        }
    }
}

impl Service {
    pub async fn keys(&self, org: &OrganizationId) -> ServiceResult<KeyList> {
        let keys = self.store.keys(org).await?;
        Ok(KeyList {
            keys: keys.into_iter().map(KeyView::from).collect(),
        })
    }

    /// Creates a key in the org, no stronger than the key or user asking (`caller_tier`).
    pub async fn create_key(
        &self,
        org: &OrganizationId,
        caller_tier: Tier,
        body: &CreateKeyBody,
    ) -> ServiceResult<CreatedKeyView> {
        let tier = match body.tier.as_deref() {
            None => caller_tier,
            Some(name) => Tier::parse(name).ok_or_else(|| {
                BadRequest(format!("unknown tier {name:?}: use free, solo or team"))
            })?,
        };
        if tier > caller_tier {
            return Err(BadRequest(format!(
                "a {} caller cannot create a {} key",
                caller_tier.name(),
                tier.name()
            ))
            .into());
        }
        let name = body.name.clone().unwrap_or_default();
        if name.len() > 200 || name.chars().any(char::is_control) {
            return Err(
                BadRequest("name: at most 200 characters, no control characters".into()).into(),
            );
        }
        let created = crate::keys::create(
            self.store.as_ref(),
            org,
            NewKey {
                tier,
                name,
                permissions: if body.read_only {
                    Permissions::READ_ONLY
                } else {
                    Permissions::READ_WRITE
                },
                is_admin: false,
                user_id: None,
            },
        )
        .await?;
        Ok(CreatedKeyView {
            key: created.text,
            record: KeyView::from(created.record),
        })
    }

    /// Revokes one of the org's keys; another org's key id is 404.
    pub async fn revoke_key(&self, org: &OrganizationId, key_id: &str) -> ServiceResult<()> {
        if key_id.len() > 64 || !self.store.revoke_key(org, key_id).await? {
            return Err(ServiceError::NotFound("key"));
        }
        Ok(())
    }
}
