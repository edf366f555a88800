//! API keys: `kota_{tier}_{key_id}_{secret}`. The secret is 256 random bits; only its
//! SHA-256 is stored (a fast hash is right for random secrets: there is nothing to guess).
//!
//! Keys made in SQL as seed 000 says (`crypt('<plaintext>', gen_salt('bf'))`) hold a
//! bcrypt hash instead, and any plaintext; the Postgres migration records the SHA-256 of
//! that plaintext as the row's `lookup_hash`, so such a key is found by one indexed
//! lookup of [`lookup_hash`] and only that row's bcrypt is checked ([`verify_bcrypt`]).

use crate::store::{ApiKeyRecord, OrganizationId, Permissions, Store, StoreResult, Tier};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A key as presented by a client, split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresentedKey {
    pub tier: Tier,
    pub key_id: String,
    secret: String,
}

impl PresentedKey {
    /// Parses `kota_{tier}_{key_id}_{secret}`; None for anything else.
    pub fn parse(text: &str) -> Option<PresentedKey> {
        let mut parts = text.trim().split('_');
        let (kota, tier, key_id, secret) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        let well_formed = kota == "kota"
            && parts.next().is_none()
            && !key_id.is_empty()
            && key_id.len() <= 64
            && key_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && secret.len() >= 32
            && secret.len() <= 128
            && secret.bytes().all(|b| b.is_ascii_alphanumeric());
        if !well_formed {
            return None;
        }
        Some(PresentedKey {
            tier: Tier::parse(tier)?,
            key_id: key_id.to_string(),
            secret: secret.to_string(),
        })
    }

    /// Whether this key's secret hashes to `stored_hash` (compared in constant time).
    pub fn matches(&self, stored_hash: &str) -> bool {
        let presented = hash_secret(&self.secret);
        presented.as_bytes().ct_eq(stored_hash.as_bytes()).into()
    }
}

fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The `lookup_hash` of a key made in SQL: SHA-256 (hex) of its whole plaintext.
pub fn lookup_hash(plaintext: &str) -> String {
    hash_secret(plaintext)
}

/// The cache key of any presented credential: SHA-256 of all of it.
pub fn fingerprint(credential: &str) -> String {
    hash_secret(credential)
}

/// Whether a stored `key_hash` is a bcrypt hash (a key made in SQL).
pub fn is_bcrypt(key_hash: &str) -> bool {
    key_hash.starts_with("$2")
}

/// Checks a plaintext against a bcrypt hash, off the async workers (bcrypt is slow on
/// purpose). False for anything malformed.
pub async fn verify_bcrypt(plaintext: &str, key_hash: &str) -> bool {
    let (plaintext, key_hash) = (plaintext.to_string(), key_hash.to_string());
    tokio::task::spawn_blocking(move || bcrypt::verify(plaintext, &key_hash).unwrap_or(false))
        .await
        .unwrap_or(false)
}

/// What a new key is for.
#[derive(Debug, Clone)]
pub struct NewKey {
    pub tier: Tier,
    pub name: String,
    pub permissions: Permissions,
    pub is_admin: bool,
    /// A Supabase user (an `auth.users` id) the key is made for; they join the org.
    pub user_id: Option<String>,
}

/// A newly created key: the full text is shown once, then only its hash exists.
pub struct CreatedKey {
    pub text: String,
    pub record: ApiKeyRecord,
}

/// Creates and stores a key (and makes its user, if any, a member of the org).
pub async fn create(
    store: &dyn Store,
    org: &OrganizationId,
    new: NewKey,
) -> StoreResult<CreatedKey> {
    let NewKey {
        tier,
        name,
        permissions,
        is_admin,
        user_id,
    } = new;
    if let Some(user) = &user_id {
        store.add_member(org, user).await?;
    }
    let key_id = uuid::Uuid::new_v4().simple().to_string();
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret = hex::encode(bytes);
    let record = ApiKeyRecord {
        key_id: key_id.clone(),
        organization_id: org.0.clone(),
        user_id,
        name,
        tier,
        key_hash: hash_secret(&secret),
        permissions,
        rate_limit: None,
        monthly_quota: None,
        is_admin,
        usage_count: 0,
        last_used_at: None,
        expires_at: None,
        revoked_at: None,
        created_at: crate::store::Timestamp::now(),
    };
    store.create_key(org, &record).await?;
    Ok(CreatedKey {
        text: format!("kota_{}_{key_id}_{secret}", tier.name()),
        record,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_only_the_documented_format() {
        let secret = "a".repeat(64);
        let key = PresentedKey::parse(&format!("kota_solo_abc123_{secret}")).unwrap();
        assert_eq!(key.tier, Tier::Solo);
        assert_eq!(key.key_id, "abc123");
        for bad in [
            format!("kota_gold_abc_{secret}"),
            format!("kota_solo__{secret}"),
            "kota_solo_abc_short".to_string(),
            format!("kota_solo_abc_{secret}_extra"),
            format!("kotb_solo_abc_{secret}"),
            format!("kota_solo_a/b_{secret}"),
            String::new(),
        ] {
            assert!(
                PresentedKey::parse(&bad).is_none(),
                "{bad} should not parse"
            );
        }
    }

    #[test]
    fn a_key_matches_only_its_own_hash() {
        let secret = "b".repeat(64);
        let key = PresentedKey::parse(&format!("kota_team_k1_{secret}")).unwrap();
        assert!(key.matches(&hash_secret(&secret)));
        assert!(!key.matches(&hash_secret(&"c".repeat(64))));
    }
}
