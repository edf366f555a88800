//! Who is calling and how much they may do: the root package's side of the request
//! path's actors (`kotadb_actors::access`).
//!
//! - [`Credentials`] turns a presented `Authorization: Bearer` credential into an
//!   [`Identity`]: a `kota_…` API key (SHA-256 of its secret, constant-time compare), a
//!   Supabase access token (a JWT, verified locally by [`TokenVerifier`]; its `sub` acts
//!   for the organizations that user belongs to), or a key made in SQL as seed 000 says
//!   (one indexed lookup by the SHA-256 of the whole plaintext, then that one row's
//!   bcrypt). The KeyCacheActor caches the answer, valid or not, for the TTL.
//! - [`Windows`] leases blocks of the shared `rate_limits` windows for the
//!   RateLimiterActor.

use crate::keys::{self, PresentedKey};
use crate::store::{LeaseRequest, OrganizationId, Permissions, Store, Tier, WindowKind};
use crate::tokens::TokenVerifier;
use async_trait::async_trait;
use kotadb_actors::access::{CredentialLookup, LeaseAnswer, LeaseAsk, Window, WindowLeaser};
use std::sync::Arc;

/// The handle the HTTP layer holds.
pub type AccessActors = kotadb_actors::AccessActors<Credentials, Windows>;

/// Who a credential belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// An API key (its `key_id`).
    Key(String),
    /// A Supabase user (an `auth.users` id), from an access token.
    User(String),
}

/// What a valid credential may do, as cached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub principal: Principal,
    /// A key's one organization; a user's organizations, oldest membership first.
    pub organizations: Vec<OrganizationId>,
    pub tier: Tier,
    pub permissions: Permissions,
    pub is_admin: bool,
    /// Requests per hour; `None`: the tier's.
    pub rate_limit: Option<u64>,
    pub monthly_quota: Option<u64>,
    /// Unix seconds: a key's `expires_at`, a token's `exp`.
    pub expires_at: Option<i64>,
    pub revoked: bool,
}

impl Identity {
    /// The name its rate windows are counted under.
    pub fn subject(&self) -> String {
        match &self.principal {
            Principal::Key(id) => format!("key:{id}"),
            Principal::User(id) => format!("user:{id}"),
        }
    }

    pub fn key_id(&self) -> Option<&str> {
        match &self.principal {
            Principal::Key(id) => Some(id),
            Principal::User(_) => None,
        }
    }

    pub fn user_id(&self) -> Option<&str> {
        match &self.principal {
            Principal::Key(_) => None,
            Principal::User(id) => Some(id),
        }
    }

    fn of_key(record: crate::store::ApiKeyRecord) -> Identity {
        Identity {
            principal: Principal::Key(record.key_id),
            organizations: vec![OrganizationId(record.organization_id)],
            tier: record.tier,
            permissions: record.permissions,
            is_admin: record.is_admin,
            rate_limit: record.rate_limit,
            monthly_quota: record.monthly_quota,
            expires_at: record
                .expires_at
                .map(|t| t.as_offset_date_time().unix_timestamp()),
            revoked: record.revoked_at.is_some(),
        }
    }
}

/// The cached answer for a credential: an identity, or why it is refused (an expired or
/// forged token says so, instead of a bare "invalid").
pub type Checked = Arc<Result<Identity, String>>;

/// The credential lookup behind the KeyCacheActor.
pub struct Credentials {
    store: Arc<dyn Store>,
    tokens: TokenVerifier,
}

impl Credentials {
    pub fn new(store: Arc<dyn Store>, tokens: TokenVerifier) -> Credentials {
        Credentials { store, tokens }
    }

    async fn api_key(&self, presented: &PresentedKey) -> Result<Option<Identity>, String> {
        let record = self
            .store
            .key(&presented.key_id)
            .await
            .map_err(|e| e.to_string())?;
        Ok(record
            .filter(|r| {
                r.tier == presented.tier
                    && !keys::is_bcrypt(&r.key_hash)
                    && presented.matches(&r.key_hash)
            })
            .map(Identity::of_key))
    }

    /// A key made in SQL (seed 000): its row by the SHA-256 of the plaintext, then the
    /// bcrypt of that row alone.
    async fn sql_key(&self, plaintext: &str) -> Result<Option<Identity>, String> {
        let record = self
            .store
            .key_by_lookup_hash(&keys::lookup_hash(plaintext))
            .await
            .map_err(|e| e.to_string())?;
        match record {
            Some(r) if keys::is_bcrypt(&r.key_hash) => {
                Ok(if keys::verify_bcrypt(plaintext, &r.key_hash).await {
                    Some(Identity::of_key(r))
                } else {
                    None
                })
            }
            _ => Ok(None),
        }
    }

    async fn access_token(&self, token: &str) -> Result<Result<Identity, String>, String> {
        let verified = match self.tokens.verify(token).await {
            Ok(verified) => verified,
            Err(crate::tokens::TokenError::JwksUnavailable(cause)) => {
                return Err(format!("the Supabase JWKS is unavailable: {cause}"))
            }
            Err(refused) => return Ok(Err(format!("access token refused: {refused}"))),
        };
        let user = verified.user_id.to_string();
        let organizations = self
            .store
            .user_organizations(&user)
            .await
            .map_err(|e| e.to_string())?;
        // A user's limits are those of the best active key of their organizations.
        let mut tier = Tier::Free;
        for org in &organizations {
            for key in self.store.keys(org).await.map_err(|e| e.to_string())? {
                if key.revoked_at.is_none() && key.tier > tier {
                    tier = key.tier;
                }
            }
        }
        Ok(Ok(Identity {
            principal: Principal::User(user),
            organizations,
            tier,
            permissions: Permissions::READ_WRITE,
            is_admin: false,
            rate_limit: None,
            monthly_quota: None,
            expires_at: Some(verified.expires_at),
            revoked: false,
        }))
    }
}

#[async_trait]
impl CredentialLookup for Credentials {
    type Identity = Checked;

    async fn lookup(&self, credential: &str) -> Result<Option<Checked>, String> {
        if let Some(presented) = PresentedKey::parse(credential) {
            if let Some(identity) = self.api_key(&presented).await? {
                return Ok(Some(Arc::new(Ok(identity))));
            }
        } else if self.tokens.is_enabled() && TokenVerifier::looks_like_jwt(credential) {
            return Ok(Some(Arc::new(self.access_token(credential).await?)));
        }
        if credential.is_empty() || credential.len() > 1024 {
            return Ok(None);
        }
        Ok(self.sql_key(credential).await?.map(|i| Arc::new(Ok(i))))
    }

    fn key_id(identity: &Checked) -> Option<&str> {
        identity.as_ref().as_ref().ok().and_then(Identity::key_id)
    }
}

/// The `rate_limits` table, for the RateLimiterActor.
pub struct Windows {
    store: Arc<dyn Store>,
}

impl Windows {
    pub fn new(store: Arc<dyn Store>) -> Windows {
        Windows { store }
    }
}

fn kind(window: Window) -> WindowKind {
    match window {
        Window::Hour => WindowKind::Hour,
        Window::Month => WindowKind::Month,
    }
}

#[async_trait]
impl WindowLeaser for Windows {
    async fn lease(&self, ask: LeaseAsk) -> Result<LeaseAnswer, String> {
        let grant = self
            .store
            .lease_window(&LeaseRequest {
                subject: ask.subject,
                organization: OrganizationId(ask.organization),
                kind: kind(ask.window),
                limit: ask.limit,
                want: ask.want,
            })
            .await
            .map_err(|e| e.to_string())?;
        Ok(LeaseAnswer {
            granted: grant.granted,
            leased: grant.leased,
            resets_at: grant.resets_at,
            now: grant.now,
        })
    }

    async fn give_back(&self, subject: &str, window: Window, unspent: u64) -> Result<(), String> {
        self.store
            .return_lease(subject, kind(window), unspent)
            .await
            .map_err(|e| e.to_string())
    }
}
