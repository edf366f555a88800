//! API keys: `kota_{tier}_{key_id}_{secret}`. The secret is 256 random bits; only its
//! SHA-256 is stored (a fast hash is right for random secrets: there is nothing to guess).

use crate::store::{ApiKeyRecord, OrganizationId, Store, StoreResult, Tier};
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

    /// A cache key for the whole presented key: never the key id alone, so a wrong
    /// secret with a known id never hits a cached success.
    pub fn fingerprint(&self) -> String {
        hash_secret(&format!(
            "{}_{}_{}",
            self.tier.name(),
            self.key_id,
            self.secret
        ))
    }
}

fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A newly created key: the full text is shown once, then only its hash exists.
pub struct CreatedKey {
    pub text: String,
    pub record: ApiKeyRecord,
}

/// Creates and stores a key.
pub async fn create(
    store: &dyn Store,
    org: &OrganizationId,
    tier: Tier,
    name: &str,
    is_admin: bool,
) -> StoreResult<CreatedKey> {
    let key_id = uuid::Uuid::new_v4().simple().to_string();
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret = hex::encode(bytes);
    let record = ApiKeyRecord {
        key_id: key_id.clone(),
        organization_id: org.0.clone(),
        name: name.to_string(),
        tier,
        key_hash: hash_secret(&secret),
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
