//! Supabase access tokens (JWTs), verified locally: no call to Supabase per request.
//!
//! Two ways a project signs its users' access tokens, and both may be configured at once:
//! - **HS256 with the legacy JWT secret** (`SUPABASE_JWT_SECRET`), used as its raw bytes,
//!   as Supabase Auth does. The secret must be at least 32 bytes; an empty one counts as
//!   unset.
//! - **ES256 or RS256 with the project's signing keys**, published as a JWKS at
//!   `SUPABASE_URL` + [`JWKS_PATH`]. The set is cached for [`JWKS_TTL`] and fetched again
//!   when a token names a key id the cache does not hold (key rotation), but at most once
//!   per [`JWKS_MIN_REFETCH`], so tokens with made-up key ids cannot make us hammer the
//!   endpoint; callers that need a fetch while one is running wait for it and share its
//!   answer. When a fetch fails, keys already known stay usable for [`JWKS_MAX_STALE`] after
//!   their last successful fetch; a key id we do not know is then `JwksUnavailable`.
//!
//! **The token never chooses the algorithm.** HS256 is accepted only when the secret is
//! configured and the header says HS256; ES256 and RS256 only with a published key whose
//! `kid` matches the header's and whose type fits the header's algorithm (EC P-256 for
//! ES256, RSA of at least 2048 bits for RS256), whose own `alg`, `use` and `key_ops`, when
//! present, allow it. Everything else — `alg: none`, HS384, PS256, an HS256 token when no
//! secret is configured (the classic "HMAC signed with the public key"), an RS256 token
//! naming an EC key — is refused before any signature check. Header parameters that point
//! at keys (`jku`, `jwk`, `x5u`, `x5c`) are ignored: keys come only from our own JWKS URL.
//! A `crit` header is refused (we understand no extension).
//!
//! Claims: `exp` is required and checked with [`LEEWAY_SECS`] of leeway (`nbf` too, when
//! present); `aud` must be `authenticated`; `sub` must be a UUID and `role` must be
//! `authenticated` (the anon and service-role keys are JWTs too, and are not users).
//! `iss` is always required; when `SUPABASE_URL` is set it must equal `SUPABASE_URL` +
//! [`ISSUER_PATH`]. With only the secret there is no issuer to compare with, so any `iss`
//! is accepted: the project's secret already binds the token to the project, and setting
//! `SUPABASE_URL` as well pins the issuer.

use crate::settings::Secret;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{
    AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, KeyOperations, PublicKeyUse,
};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use url::Url;
use uuid::Uuid;

/// Where a Supabase project publishes its signing keys, under `SUPABASE_URL`.
pub const JWKS_PATH: &str = "/auth/v1/.well-known/jwks.json";
/// The issuer of a project's access tokens, under `SUPABASE_URL`.
pub const ISSUER_PATH: &str = "/auth/v1";
/// The audience of a signed-in user's access token.
pub const AUDIENCE: &str = "authenticated";
/// The role of a signed-in user (the anon and service-role keys carry other roles).
pub const USER_ROLE: &str = "authenticated";
/// Clock skew tolerated on `exp` and `nbf`.
pub const LEEWAY_SECS: u64 = 10;
/// How long a fetched JWKS is trusted before it is fetched again (Supabase's edge caches
/// it for about as long, so a shorter TTL would not see new keys sooner).
pub const JWKS_TTL: Duration = Duration::from_secs(10 * 60);
/// The least time between two JWKS fetches, whatever the tokens say.
pub const JWKS_MIN_REFETCH: Duration = Duration::from_secs(5);
/// How long known keys stay usable while the JWKS endpoint cannot be reached.
pub const JWKS_MAX_STALE: Duration = Duration::from_secs(60 * 60);
/// The whole JWKS request, connection included.
pub const JWKS_TIMEOUT: Duration = Duration::from_secs(5);

/// Longer "tokens" are refused unread (Supabase's are well under 2 KiB).
const MAX_TOKEN_BYTES: usize = 16 * 1024;
/// A JWKS body larger than this is refused.
const MAX_JWKS_BYTES: usize = 256 * 1024;
/// A shorter HMAC secret could be brute-forced; Supabase's are at least this long.
const MIN_SECRET_BYTES: usize = 32;
/// The smallest RSA modulus we verify with, in bytes (2048 bits).
const MIN_RSA_MODULUS_BYTES: usize = 256;
/// Attacker-chosen text (algorithm names, key ids) is cut to this length in errors.
const MAX_ECHO_CHARS: usize = 64;

/// Which tokens to accept: `SUPABASE_JWT_SECRET` and `SUPABASE_URL`. Neither set means
/// token verification is off ([`TokenVerifier::is_enabled`] is false).
#[derive(Debug, Clone, Default)]
pub struct TokenSettings {
    /// The project's legacy JWT secret: enables HS256.
    pub jwt_secret: Option<Secret>,
    /// The project's URL (`https://<ref>.supabase.co`): enables ES256 and RS256 through
    /// its JWKS, and pins the issuer.
    pub supabase_url: Option<Url>,
}

impl TokenSettings {
    /// The settings `serve` was given (`SUPABASE_JWT_SECRET`, `SUPABASE_URL`); an empty
    /// value counts as unset.
    pub fn from_settings(
        serve: &crate::settings::ServeSettings,
    ) -> Result<TokenSettings, TokenError> {
        let supabase_url =
            match serve.supabase_url.as_deref().map(str::trim) {
                None | Some("") => None,
                Some(text) => Some(Url::parse(text).map_err(|e| {
                    TokenError::Settings(format!("SUPABASE_URL is not a URL ({e})"))
                })?),
            };
        Ok(TokenSettings {
            jwt_secret: serve
                .supabase_jwt_secret
                .clone()
                .filter(|s| !s.expose().is_empty()),
            supabase_url,
        })
    }
}

/// A verified access token of a signed-in Supabase user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessToken {
    /// The user's id (`sub`).
    pub user_id: Uuid,
    /// The user's email, when the user has one (phone-only users do not).
    pub email: Option<String>,
    /// Always [`USER_ROLE`]; kept so callers can pass it on (Postgres `set role`).
    pub role: String,
    /// `exp`, Unix seconds.
    pub expires_at: i64,
}

/// Why a token was refused. Messages never contain the token or a secret; text taken from
/// the token (an algorithm name, a key id) is shortened.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The settings cannot be used (a short secret, a URL that is not http(s)), or token
    /// verification is off and a token was presented anyway.
    #[error("token verification settings: {0}")]
    Settings(String),
    /// Not a JWT, or one whose header or claims are not what a Supabase token holds.
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    /// The header's algorithm is not one we accept with the configured keys, or does not
    /// fit the key the token names.
    #[error("unsupported token algorithm: {0}")]
    UnsupportedAlgorithm(String),
    /// The token names a key id the project does not publish (after a refetch, or within
    /// [`JWKS_MIN_REFETCH`] of the last one).
    #[error("unknown signing key id {0:?}")]
    UnknownKeyId(String),
    /// The signature does not verify with the key the algorithm and key id select.
    #[error("token signature does not verify")]
    BadSignature,
    /// `exp` is past (beyond the leeway).
    #[error("token expired")]
    Expired,
    /// `nbf` is in the future (beyond the leeway).
    #[error("token not valid yet")]
    NotYetValid,
    /// `aud` is missing or is not `authenticated`.
    #[error("token audience is not {AUDIENCE:?}")]
    WrongAudience,
    /// `iss` is missing, or is not this project's when `SUPABASE_URL` is set.
    #[error("token issuer is not this project's")]
    WrongIssuer,
    /// A valid token, but not a signed-in user's: its role is not `authenticated` or its
    /// `sub` is not a UUID.
    #[error("token is not a user's: {0}")]
    NotAUser(String),
    /// The JWKS could not be fetched or read, and the token's key is not one still known.
    #[error("signing keys unavailable")]
    JwksUnavailable(#[source] Arc<JwksError>),
}

/// Why the JWKS could not be had.
#[derive(Debug, thiserror::Error)]
pub enum JwksError {
    #[error("GET {url}")]
    Request {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("GET {url}: HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("GET {url}: body over {MAX_JWKS_BYTES} bytes")]
    TooLarge { url: String },
    #[error("GET {url}: not a JWKS: {reason}")]
    Invalid { url: String, reason: String },
}

/// Verifies access tokens. Cheap to clone (one shared JWKS cache); `Send + Sync`.
#[derive(Clone)]
pub struct TokenVerifier {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenVerifier")
            .field("hs256", &self.inner.secret.is_some())
            .field("issuer", &self.inner.issuer)
            .field(
                "jwks",
                &self.inner.jwks.as_ref().map(|jwks| jwks.url.as_str()),
            )
            .finish()
    }
}

struct Inner {
    secret: Option<DecodingKey>,
    issuer: Option<String>,
    jwks: Option<Jwks>,
    /// Audience, required claims, leeway and issuer; the algorithm is set per token.
    validation: Validation,
}

impl TokenVerifier {
    /// A verifier for these settings. Fetches nothing yet: the JWKS is fetched when the
    /// first ES256/RS256 token arrives.
    pub fn new(settings: TokenSettings) -> Result<TokenVerifier, TokenError> {
        TokenVerifier::with_timing(settings, Timing::DEFAULT)
    }

    fn with_timing(settings: TokenSettings, timing: Timing) -> Result<TokenVerifier, TokenError> {
        let secret = match settings.jwt_secret {
            Some(secret) if secret.expose().is_empty() => None,
            Some(secret) if secret.expose().len() < MIN_SECRET_BYTES => {
                return Err(TokenError::Settings(format!(
                    "SUPABASE_JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes"
                )));
            }
            Some(secret) => Some(DecodingKey::from_secret(secret.expose().as_bytes())),
            None => None,
        };
        let (issuer, jwks) = match settings.supabase_url {
            Some(url) => {
                if !matches!(url.scheme(), "http" | "https")
                    || url.host().is_none()
                    || url.query().is_some()
                    || url.fragment().is_some()
                {
                    return Err(TokenError::Settings(
                        "SUPABASE_URL must be an http(s) URL with a host and no query".to_string(),
                    ));
                }
                let base = url.as_str().trim_end_matches('/');
                let jwks_url = Url::parse(&format!("{base}{JWKS_PATH}")).map_err(|e| {
                    TokenError::Settings(format!("SUPABASE_URL gives no JWKS URL: {e}"))
                })?;
                let client = reqwest::Client::builder()
                    .timeout(JWKS_TIMEOUT)
                    .connect_timeout(JWKS_TIMEOUT)
                    .redirect(reqwest::redirect::Policy::none())
                    .user_agent(concat!("kotadb/", env!("CARGO_PKG_VERSION")))
                    .build()
                    .map_err(|e| {
                        TokenError::Settings(format!(
                            "no HTTP client for the JWKS: {}",
                            crate::error_chain(&e)
                        ))
                    })?;
                (
                    Some(format!("{base}{ISSUER_PATH}")),
                    Some(Jwks::new(jwks_url, client, timing)),
                )
            }
            None => (None, None),
        };
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.validate_aud = true;
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "aud", "sub", "iss"]);
        if let Some(issuer) = &issuer {
            validation.set_issuer(&[issuer]);
        }
        Ok(TokenVerifier {
            inner: Arc::new(Inner {
                secret,
                issuer,
                jwks,
                validation,
            }),
        })
    }

    /// Whether any token can verify: false when neither the secret nor the URL is set.
    pub fn is_enabled(&self) -> bool {
        self.inner.secret.is_some() || self.inner.jwks.is_some()
    }

    /// Whether `text` has the shape of a JWT: three base64url segments (the signature may
    /// be empty, so that `alg: none` tokens reach [`TokenVerifier::verify`] and are refused
    /// there) and a header that is a JSON object with an `alg`. No cryptography: for
    /// telling tokens from API keys.
    pub fn looks_like_jwt(text: &str) -> bool {
        split_token(text).is_ok_and(|(header, _, _)| parse_header(header).is_ok())
    }

    /// Verifies `token` (without the `Bearer ` prefix): algorithm, key, signature, then
    /// claims. May fetch the JWKS (bounded by [`JWKS_TIMEOUT`]).
    pub async fn verify(&self, token: &str) -> Result<AccessToken, TokenError> {
        if !self.is_enabled() {
            return Err(TokenError::Settings(
                "neither SUPABASE_JWT_SECRET nor SUPABASE_URL is set".to_string(),
            ));
        }
        let (header, _, _) = split_token(token)?;
        let header = parse_header(header)?;
        let jwks_key;
        let (algorithm, key) = match header.alg.as_str() {
            "HS256" => match &self.inner.secret {
                Some(secret) => (Algorithm::HS256, secret),
                None => {
                    return Err(TokenError::UnsupportedAlgorithm(
                        "HS256 (no SUPABASE_JWT_SECRET is set)".to_string(),
                    ))
                }
            },
            "ES256" | "RS256" => {
                let Some(jwks) = &self.inner.jwks else {
                    return Err(TokenError::UnsupportedAlgorithm(format!(
                        "{} (no SUPABASE_URL is set)",
                        header.alg
                    )));
                };
                let algorithm = if header.alg == "ES256" {
                    Algorithm::ES256
                } else {
                    Algorithm::RS256
                };
                let kid = header
                    .kid
                    .as_deref()
                    .ok_or(TokenError::Malformed("no key id (kid) in the header"))?;
                jwks_key = jwks.key(kid).await?;
                if jwks_key.algorithm != algorithm {
                    return Err(TokenError::UnsupportedAlgorithm(format!(
                        "{} with a {:?} key",
                        header.alg, jwks_key.algorithm
                    )));
                }
                (algorithm, &jwks_key.key)
            }
            other => return Err(TokenError::UnsupportedAlgorithm(echo(other))),
        };
        let mut validation = self.inner.validation.clone();
        validation.algorithms = vec![algorithm];
        let claims = jsonwebtoken::decode::<Claims>(token, key, &validation)
            .map_err(classify)?
            .claims;
        claims.into_access_token()
    }
}

/// The claims we read; jsonwebtoken checks `exp`, `nbf`, `aud` and `iss`.
#[derive(Deserialize)]
struct Claims {
    sub: Option<String>,
    email: Option<String>,
    role: Option<String>,
    exp: i64,
}

impl Claims {
    fn into_access_token(self) -> Result<AccessToken, TokenError> {
        let role = self.role.unwrap_or_default();
        if role != USER_ROLE {
            return Err(TokenError::NotAUser(format!("role {:?}", echo(&role))));
        }
        let user_id = self
            .sub
            .as_deref()
            .and_then(|sub| Uuid::parse_str(sub).ok())
            .ok_or_else(|| TokenError::NotAUser("sub is not a UUID".to_string()))?;
        Ok(AccessToken {
            user_id,
            email: self.email.filter(|email| !email.is_empty()),
            role,
            expires_at: self.exp,
        })
    }
}

/// The header fields we decide on, read before any key is chosen.
#[derive(Deserialize)]
struct RawHeader {
    alg: String,
    kid: Option<String>,
    crit: Option<serde_json::Value>,
}

fn split_token(token: &str) -> Result<(&str, &str, &str), TokenError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(TokenError::Malformed("longer than any access token"));
    }
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed("not three dot-separated segments"));
    };
    let base64url = |segment: &str| {
        segment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if header.is_empty()
        || payload.is_empty()
        || ![header, payload, signature].into_iter().all(base64url)
    {
        return Err(TokenError::Malformed("segments are not base64url"));
    }
    Ok((header, payload, signature))
}

fn parse_header(segment: &str) -> Result<RawHeader, TokenError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| TokenError::Malformed("header is not base64url"))?;
    let header: RawHeader = serde_json::from_slice(&bytes)
        .map_err(|_| TokenError::Malformed("header is not a JSON object with an alg"))?;
    if header.crit.is_some() {
        return Err(TokenError::Malformed("critical header extensions (crit)"));
    }
    Ok(header)
}

/// Our error for jsonwebtoken's.
fn classify(error: jsonwebtoken::errors::Error) -> TokenError {
    match error.kind() {
        ErrorKind::InvalidSignature => TokenError::BadSignature,
        ErrorKind::ExpiredSignature => TokenError::Expired,
        ErrorKind::ImmatureSignature => TokenError::NotYetValid,
        ErrorKind::InvalidAudience => TokenError::WrongAudience,
        ErrorKind::InvalidIssuer => TokenError::WrongIssuer,
        ErrorKind::MissingRequiredClaim(claim) => match claim.as_str() {
            "aud" => TokenError::WrongAudience,
            "iss" => TokenError::WrongIssuer,
            "sub" => TokenError::NotAUser("no sub".to_string()),
            _ => TokenError::Malformed("no exp"),
        },
        ErrorKind::InvalidAlgorithm | ErrorKind::MissingAlgorithm => {
            TokenError::UnsupportedAlgorithm("not the key's algorithm".to_string())
        }
        // The key cannot verify anything (a JWK that passed our checks but is not a valid
        // point or modulus): no token verifies with it.
        ErrorKind::InvalidEcdsaKey
        | ErrorKind::InvalidRsaKey(_)
        | ErrorKind::InvalidEddsaKey
        | ErrorKind::InvalidKeyFormat => TokenError::BadSignature,
        ErrorKind::InvalidClaimFormat(_) => TokenError::Malformed("a claim has the wrong type"),
        _ => TokenError::Malformed("claims are not the JSON of an access token"),
    }
}

/// Token text shown in an error, cut short.
fn echo(text: &str) -> String {
    text.chars().take(MAX_ECHO_CHARS).collect()
}

#[derive(Debug, Clone, Copy)]
struct Timing {
    ttl: Duration,
    min_refetch: Duration,
    max_stale: Duration,
}

impl Timing {
    const DEFAULT: Timing = Timing {
        ttl: JWKS_TTL,
        min_refetch: JWKS_MIN_REFETCH,
        max_stale: JWKS_MAX_STALE,
    };
}

/// A usable published key.
struct JwksKey {
    algorithm: Algorithm,
    key: DecodingKey,
}

/// The keys of one successful fetch.
#[derive(Default)]
struct KeySet {
    keys: HashMap<String, Arc<JwksKey>>,
    /// None before the first successful fetch.
    fetched_at: Option<Instant>,
}

impl KeySet {
    fn younger_than(&self, age: Duration) -> bool {
        self.fetched_at.is_some_and(|at| at.elapsed() < age)
    }
}

/// The fetches so far, guarded by the lock that makes one fetch at a time.
#[derive(Default)]
struct FetchLog {
    last_started: Option<Instant>,
    last_finished: Option<Instant>,
    /// The last fetch's error, None when it succeeded.
    last_error: Option<Arc<JwksError>>,
}

/// The project's JWKS and its cache.
struct Jwks {
    url: Url,
    client: reqwest::Client,
    timing: Timing,
    /// Read on every token; replaced whole after a successful fetch.
    keys: RwLock<Arc<KeySet>>,
    /// Held for the length of a fetch: callers that need one meanwhile wait, then share it.
    fetches: tokio::sync::Mutex<FetchLog>,
}

impl Jwks {
    fn new(url: Url, client: reqwest::Client, timing: Timing) -> Jwks {
        Jwks {
            url,
            client,
            timing,
            keys: RwLock::new(Arc::new(KeySet::default())),
            fetches: tokio::sync::Mutex::new(FetchLog::default()),
        }
    }

    fn snapshot(&self) -> Arc<KeySet> {
        Arc::clone(
            &self
                .keys
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        )
    }

    /// The published key `kid`, fetching the set when it is stale or lacks `kid`.
    async fn key(&self, kid: &str) -> Result<Arc<JwksKey>, TokenError> {
        let known = self.snapshot();
        if known.younger_than(self.timing.ttl) {
            if let Some(key) = known.keys.get(kid) {
                return Ok(Arc::clone(key));
            }
        }
        let asked_at = Instant::now();
        let mut log = self.fetches.lock().await;
        // A fetch that finished after we asked answers our question too; and whatever the
        // tokens say, one fetch per `min_refetch` is enough.
        let answered = log.last_finished.is_some_and(|at| at >= asked_at);
        let too_soon = log
            .last_started
            .is_some_and(|at| at.elapsed() < self.timing.min_refetch);
        if !answered && !too_soon {
            log.last_started = Some(Instant::now());
            let fetched = self.fetch().await;
            log.last_finished = Some(Instant::now());
            match fetched {
                Ok(set) => {
                    tracing::info!(url = %self.url, keys = set.keys.len(), "fetched the JWKS");
                    *self
                        .keys
                        .write()
                        .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(set);
                    log.last_error = None;
                }
                Err(error) => {
                    tracing::warn!(error = %crate::error_chain(&error), "JWKS fetch failed");
                    log.last_error = Some(Arc::new(error));
                }
            }
        }
        let last_error = log.last_error.clone();
        drop(log);
        let known = self.snapshot();
        if let Some(key) = known.keys.get(kid) {
            if known.younger_than(self.timing.max_stale) {
                return Ok(Arc::clone(key));
            }
        }
        match last_error {
            Some(error) => Err(TokenError::JwksUnavailable(error)),
            None => Err(TokenError::UnknownKeyId(echo(kid))),
        }
    }

    async fn fetch(&self) -> Result<KeySet, JwksError> {
        let url = || self.url.to_string();
        let request = |source: reqwest::Error| JwksError::Request { url: url(), source };
        let mut response = self
            .client
            .get(self.url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(request)?;
        if !response.status().is_success() {
            return Err(JwksError::Status {
                url: url(),
                status: response.status().as_u16(),
            });
        }
        if response
            .content_length()
            .is_some_and(|length| length > MAX_JWKS_BYTES as u64)
        {
            return Err(JwksError::TooLarge { url: url() });
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(request)? {
            if body.len() + chunk.len() > MAX_JWKS_BYTES {
                return Err(JwksError::TooLarge { url: url() });
            }
            body.extend_from_slice(&chunk);
        }
        parse_jwks(&body).map_err(|reason| JwksError::Invalid { url: url(), reason })
    }
}

/// The usable keys of a JWKS body. Keys we cannot or will not use (other types, curves or
/// algorithms, encryption keys, no `kid`) are skipped, not fatal: a set may hold them.
fn parse_jwks(body: &[u8]) -> Result<KeySet, String> {
    #[derive(Deserialize)]
    struct RawSet {
        keys: Vec<serde_json::Value>,
    }
    let set: RawSet = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let mut keys = HashMap::new();
    for value in set.keys {
        let Ok(jwk) = serde_json::from_value::<Jwk>(value) else {
            continue;
        };
        let Some(kid) = jwk.common.key_id.clone() else {
            continue;
        };
        if let Some(key) = usable_key(&jwk) {
            // A kid published twice is ambiguous: the first one wins, as in a lookup.
            keys.entry(kid).or_insert_with(|| Arc::new(key));
        }
    }
    Ok(KeySet {
        keys,
        fetched_at: Some(Instant::now()),
    })
}

/// The key and the one algorithm it verifies, when we accept it for verifying tokens.
fn usable_key(jwk: &Jwk) -> Option<JwksKey> {
    let common = &jwk.common;
    if common
        .public_key_use
        .as_ref()
        .is_some_and(|key_use| *key_use != PublicKeyUse::Signature)
    {
        return None;
    }
    if common
        .key_operations
        .as_ref()
        .is_some_and(|ops| !ops.contains(&KeyOperations::Verify))
    {
        return None;
    }
    let decoded_len = |text: &str| URL_SAFE_NO_PAD.decode(text).map(|b| b.len()).ok();
    let (algorithm, key_algorithm) = match &jwk.algorithm {
        AlgorithmParameters::EllipticCurve(ec) => {
            if ec.curve != EllipticCurve::P256
                || decoded_len(&ec.x) != Some(32)
                || decoded_len(&ec.y) != Some(32)
            {
                return None;
            }
            (Algorithm::ES256, KeyAlgorithm::ES256)
        }
        AlgorithmParameters::RSA(rsa) => {
            let modulus = URL_SAFE_NO_PAD.decode(&rsa.n).ok()?;
            let significant = modulus.iter().skip_while(|b| **b == 0).count();
            if significant < MIN_RSA_MODULUS_BYTES || decoded_len(&rsa.e).is_none_or(|n| n == 0) {
                return None;
            }
            (Algorithm::RS256, KeyAlgorithm::RS256)
        }
        // Symmetric keys are never taken from a JWKS; Ed25519 is not a Supabase algorithm.
        AlgorithmParameters::OctetKey(_) | AlgorithmParameters::OctetKeyPair(_) => return None,
    };
    if common
        .key_algorithm
        .is_some_and(|declared| declared != key_algorithm)
    {
        return None;
    }
    let key = DecodingKey::from_jwk(jwk).ok()?;
    Some(JwksKey { algorithm, key })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::extract::State;
    use axum::routing::get;
    use axum::Json;
    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::{json, Value};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    const SECRET: &str = "super-secret-jwt-token-with-at-least-32-characters-long";
    const USER: &str = "6f1c8a52-3b9e-4d0a-9c57-2f5e8b1d7a40";
    /// Refetches allowed after this long in the JWKS tests (production: 5 s).
    const TEST_MIN_REFETCH: Duration = Duration::from_secs(1);

    fn now() -> i64 {
        jsonwebtoken::get_current_timestamp() as i64
    }

    /// A signed-in user's claims, as Supabase Auth issues them.
    fn claims(issuer: &str) -> Value {
        json!({
            "iss": issuer,
            "sub": USER,
            "aud": "authenticated",
            "exp": now() + 3600,
            "iat": now(),
            "email": "ada@example.com",
            "phone": "",
            "role": "authenticated",
            "aal": "aal1",
            "session_id": "2c3e4f5a-0000-4000-8000-000000000001",
            "is_anonymous": false
        })
    }

    fn with(mut claims: Value, field: &str, value: Value) -> Value {
        claims[field] = value;
        claims
    }

    fn hs256(claims: &Value, secret: &[u8]) -> String {
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            claims,
            &EncodingKey::from_secret(secret),
        )
        .unwrap()
    }

    fn unsigned(header: Value, claims: &Value) -> String {
        let header = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).unwrap());
        let claims = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap());
        format!("{header}.{claims}.")
    }

    fn verifier_for(secret: Option<&str>, url: Option<&str>) -> TokenVerifier {
        TokenVerifier::with_timing(
            TokenSettings {
                jwt_secret: secret.map(Secret::new),
                supabase_url: url.map(|url| Url::parse(url).unwrap()),
            },
            Timing {
                min_refetch: TEST_MIN_REFETCH,
                ..Timing::DEFAULT
            },
        )
        .unwrap()
    }

    /// A key pair made by the openssl CLI (installed for the test suite), with its public
    /// half as a JWK such as Supabase publishes.
    struct TestKey {
        kid: String,
        algorithm: Algorithm,
        private: EncodingKey,
        jwk: Value,
    }

    impl TestKey {
        fn es256(kid: &str) -> TestKey {
            let der = openssl(
                "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
                 | openssl pkcs8 -topk8 -nocrypt -outform DER",
            );
            TestKey::new(kid, Algorithm::ES256, EncodingKey::from_ec_der(&der))
        }

        fn rs256(kid: &str) -> TestKey {
            let der = openssl(
                "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
                 | openssl rsa -traditional -outform DER",
            );
            TestKey::new(kid, Algorithm::RS256, EncodingKey::from_rsa_der(&der))
        }

        fn new(kid: &str, algorithm: Algorithm, private: EncodingKey) -> TestKey {
            let mut jwk = Jwk::from_encoding_key(&private, algorithm).unwrap();
            jwk.common.key_id = Some(kid.to_string());
            jwk.common.public_key_use = Some(PublicKeyUse::Signature);
            jwk.common.key_operations = Some(vec![KeyOperations::Verify]);
            let mut jwk = serde_json::to_value(jwk).unwrap();
            jwk["ext"] = json!(true);
            TestKey {
                kid: kid.to_string(),
                algorithm,
                private,
                jwk,
            }
        }

        fn sign(&self, claims: &Value) -> String {
            self.sign_as(self.algorithm, &self.kid, claims)
        }

        fn sign_as(&self, algorithm: Algorithm, kid: &str, claims: &Value) -> String {
            let mut header = Header::new(algorithm);
            header.kid = Some(kid.to_string());
            jsonwebtoken::encode(&header, claims, &self.private).unwrap()
        }
    }

    fn openssl(pipeline: &str) -> Vec<u8> {
        let output = std::process::Command::new("sh")
            .args(["-c", pipeline])
            .output()
            .expect("openssl runs");
        assert!(output.status.success(), "{pipeline}: {output:?}");
        output.stdout
    }

    /// A project's JWKS endpoint on 127.0.0.1, counting its requests.
    struct JwksServer {
        url: String,
        published: Arc<Mutex<Value>>,
        hits: Arc<AtomicUsize>,
    }

    #[derive(Clone)]
    struct ServerState {
        published: Arc<Mutex<Value>>,
        hits: Arc<AtomicUsize>,
        delay: Duration,
        status: axum::http::StatusCode,
    }

    impl JwksServer {
        async fn start(keys: &[&TestKey]) -> JwksServer {
            JwksServer::start_with(keys, Duration::ZERO, axum::http::StatusCode::OK).await
        }

        async fn start_with(
            keys: &[&TestKey],
            delay: Duration,
            status: axum::http::StatusCode,
        ) -> JwksServer {
            let state = ServerState {
                published: Arc::new(Mutex::new(Value::Null)),
                hits: Arc::new(AtomicUsize::new(0)),
                delay,
                status,
            };
            async fn jwks(
                State(state): State<ServerState>,
            ) -> (axum::http::StatusCode, Json<Value>) {
                state.hits.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(state.delay).await;
                let body = state.published.lock().unwrap().clone();
                (state.status, Json(body))
            }
            let app = axum::Router::new()
                .route(JWKS_PATH, get(jwks))
                .with_state(state.clone());
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("http://{}", listener.local_addr().unwrap());
            tokio::spawn(async move { axum::serve(listener, app).await });
            let server = JwksServer {
                url,
                published: state.published,
                hits: state.hits,
            };
            server.publish(keys);
            server
        }

        fn publish(&self, keys: &[&TestKey]) {
            let keys: Vec<Value> = keys.iter().map(|key| key.jwk.clone()).collect();
            *self.published.lock().unwrap() = json!({ "keys": keys });
        }

        fn hits(&self) -> usize {
            self.hits.load(Ordering::SeqCst)
        }

        fn issuer(&self) -> String {
            format!("{}{ISSUER_PATH}", self.url)
        }
    }

    #[tokio::test]
    async fn hs256_token_of_a_user_is_accepted() {
        let verifier = verifier_for(Some(SECRET), None);
        let claims = claims("https://abc.supabase.co/auth/v1");
        let token = hs256(&claims, SECRET.as_bytes());
        assert!(TokenVerifier::looks_like_jwt(&token));
        let access = verifier.verify(&token).await.unwrap();
        assert_eq!(access.user_id, Uuid::parse_str(USER).unwrap());
        assert_eq!(access.email.as_deref(), Some("ada@example.com"));
        assert_eq!(access.role, "authenticated");
        assert_eq!(access.expires_at, claims["exp"].as_i64().unwrap());

        // A phone-only user has an empty email.
        let token = hs256(&with(claims, "email", json!("")), SECRET.as_bytes());
        assert_eq!(verifier.verify(&token).await.unwrap().email, None);
    }

    #[tokio::test]
    async fn hs256_tokens_that_are_not_valid_are_refused_for_their_reason() {
        let issuer = "https://abc.supabase.co/auth/v1";
        let secret_only = verifier_for(Some(SECRET), None);
        let pinned = verifier_for(Some(SECRET), Some("https://abc.supabase.co/"));
        let good = claims(issuer);
        let sign = |claims: &Value| hs256(claims, SECRET.as_bytes());
        assert!(pinned.verify(&sign(&good)).await.is_ok());

        let expired = with(good.clone(), "exp", json!(now() - 120));
        assert!(matches!(
            secret_only.verify(&sign(&expired)).await,
            Err(TokenError::Expired)
        ));
        // Within the leeway is still valid.
        let just_expired = with(good.clone(), "exp", json!(now() - 2));
        assert!(secret_only.verify(&sign(&just_expired)).await.is_ok());
        let future = with(good.clone(), "nbf", json!(now() + 600));
        assert!(matches!(
            secret_only.verify(&sign(&future)).await,
            Err(TokenError::NotYetValid)
        ));

        let wrong_aud = with(good.clone(), "aud", json!("anon"));
        assert!(matches!(
            secret_only.verify(&sign(&wrong_aud)).await,
            Err(TokenError::WrongAudience)
        ));
        let mut no_aud = good.clone();
        no_aud.as_object_mut().unwrap().remove("aud");
        assert!(matches!(
            secret_only.verify(&sign(&no_aud)).await,
            Err(TokenError::WrongAudience)
        ));

        let wrong_iss = with(
            good.clone(),
            "iss",
            json!("https://other.supabase.co/auth/v1"),
        );
        assert!(matches!(
            pinned.verify(&sign(&wrong_iss)).await,
            Err(TokenError::WrongIssuer)
        ));
        // With only the secret, any issuer is accepted, but one must be there.
        assert!(secret_only.verify(&sign(&wrong_iss)).await.is_ok());
        let mut no_iss = good.clone();
        no_iss.as_object_mut().unwrap().remove("iss");
        assert!(matches!(
            secret_only.verify(&sign(&no_iss)).await,
            Err(TokenError::WrongIssuer)
        ));

        let anon = with(good.clone(), "role", json!("anon"));
        assert!(matches!(
            secret_only.verify(&sign(&anon)).await,
            Err(TokenError::NotAUser(_))
        ));
        let not_uuid = with(good.clone(), "sub", json!("ada"));
        assert!(matches!(
            secret_only.verify(&sign(&not_uuid)).await,
            Err(TokenError::NotAUser(_))
        ));

        let wrong_secret = hs256(&good, b"another-secret-of-at-least-32-characters");
        assert!(matches!(
            secret_only.verify(&wrong_secret).await,
            Err(TokenError::BadSignature)
        ));
        // The payload changed after signing.
        let token = sign(&good);
        let (header, rest) = token.split_once('.').unwrap();
        let (_, signature) = rest.split_once('.').unwrap();
        let forged_claims = with(
            good.clone(),
            "sub",
            json!("00000000-0000-4000-8000-000000000000"),
        );
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged_claims).unwrap());
        let tampered = format!("{header}.{payload}.{signature}");
        assert!(matches!(
            secret_only.verify(&tampered).await,
            Err(TokenError::BadSignature)
        ));

        let none = unsigned(json!({"alg": "none", "typ": "JWT"}), &good);
        assert!(TokenVerifier::looks_like_jwt(&none));
        assert!(matches!(
            secret_only.verify(&none).await,
            Err(TokenError::UnsupportedAlgorithm(_))
        ));
        let hs512 = jsonwebtoken::encode(
            &Header::new(Algorithm::HS512),
            &good,
            &EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .unwrap();
        assert!(matches!(
            secret_only.verify(&hs512).await,
            Err(TokenError::UnsupportedAlgorithm(_))
        ));

        for garbage in ["", "kota_team_abc", "a.b", "a.b.c", "e30.e30.", "a.b.c.d"] {
            assert!(!TokenVerifier::looks_like_jwt(garbage), "{garbage}");
            assert!(matches!(
                secret_only.verify(garbage).await,
                Err(TokenError::Malformed(_))
            ));
        }
    }

    #[tokio::test]
    async fn settings_are_checked_and_nothing_verifies_when_off() {
        let off = TokenVerifier::new(TokenSettings::default()).unwrap();
        assert!(!off.is_enabled());
        let token = hs256(&claims("x"), SECRET.as_bytes());
        assert!(matches!(
            off.verify(&token).await,
            Err(TokenError::Settings(_))
        ));
        let empty_secret = TokenSettings {
            jwt_secret: Some(Secret::new("")),
            supabase_url: None,
        };
        assert!(!TokenVerifier::new(empty_secret).unwrap().is_enabled());
        let short = TokenSettings {
            jwt_secret: Some(Secret::new("short")),
            supabase_url: None,
        };
        assert!(matches!(
            TokenVerifier::new(short),
            Err(TokenError::Settings(_))
        ));
        let not_http = TokenSettings {
            jwt_secret: None,
            supabase_url: Some(Url::parse("file:///etc").unwrap()),
        };
        assert!(matches!(
            TokenVerifier::new(not_http),
            Err(TokenError::Settings(_))
        ));
        let with_query = TokenSettings {
            jwt_secret: None,
            supabase_url: Some(Url::parse("https://abc.supabase.co/?x=1").unwrap()),
        };
        assert!(matches!(
            TokenVerifier::new(with_query),
            Err(TokenError::Settings(_))
        ));
    }

    #[tokio::test]
    async fn es256_tokens_verify_against_the_jwks_and_a_rotated_key_is_fetched_once() {
        let first = TestKey::es256("key-1");
        let server = JwksServer::start(&[&first]).await;
        let verifier = verifier_for(None, Some(&server.url));
        let claims = claims(&server.issuer());

        let access = verifier.verify(&first.sign(&claims)).await.unwrap();
        assert_eq!(access.user_id, Uuid::parse_str(USER).unwrap());
        assert_eq!(server.hits(), 1);
        verifier.verify(&first.sign(&claims)).await.unwrap();
        assert_eq!(server.hits(), 1, "a known key is served from the cache");

        // The project rotates: a new key signs, both are published.
        let second = TestKey::es256("key-2");
        server.publish(&[&first, &second]);
        tokio::time::sleep(TEST_MIN_REFETCH).await;
        let access = verifier.verify(&second.sign(&claims)).await.unwrap();
        assert_eq!(access.user_id, Uuid::parse_str(USER).unwrap());
        assert_eq!(server.hits(), 2, "one refetch for the new kid");
        verifier.verify(&second.sign(&claims)).await.unwrap();
        verifier.verify(&first.sign(&claims)).await.unwrap();
        assert_eq!(server.hits(), 2);

        // The issuer is this project's.
        let foreign = with(
            claims.clone(),
            "iss",
            json!("https://other.supabase.co/auth/v1"),
        );
        assert!(matches!(
            verifier.verify(&second.sign(&foreign)).await,
            Err(TokenError::WrongIssuer)
        ));
        // Signed by a key with the right kid but not the published one.
        let impostor = TestKey::es256("key-2");
        assert!(matches!(
            verifier.verify(&impostor.sign(&claims)).await,
            Err(TokenError::BadSignature)
        ));
        // No kid: refused without a fetch.
        let no_kid =
            jsonwebtoken::encode(&Header::new(Algorithm::ES256), &claims, &first.private).unwrap();
        assert!(matches!(
            verifier.verify(&no_kid).await,
            Err(TokenError::Malformed(_))
        ));
        assert_eq!(server.hits(), 2);
    }

    #[tokio::test]
    async fn unknown_kids_cannot_make_us_hammer_the_jwks_endpoint() {
        let key = TestKey::es256("key-1");
        // Slow enough that concurrent callers overlap the fetch.
        let server = JwksServer::start_with(
            &[&key],
            Duration::from_millis(100),
            axum::http::StatusCode::OK,
        )
        .await;
        let verifier = verifier_for(None, Some(&server.url));
        let claims = claims(&server.issuer());
        verifier.verify(&key.sign(&claims)).await.unwrap();
        assert_eq!(server.hits(), 1);
        tokio::time::sleep(TEST_MIN_REFETCH).await;

        let attempts = (0..20).map(|i| {
            let verifier = verifier.clone();
            let token = key.sign_as(Algorithm::ES256, &format!("garbage-{i}"), &claims);
            tokio::spawn(async move { verifier.verify(&token).await })
        });
        for attempt in futures::future::join_all(attempts).await {
            assert!(matches!(attempt.unwrap(), Err(TokenError::UnknownKeyId(_))));
        }
        assert_eq!(server.hits(), 2, "twenty unknown kids at once: one refetch");
        let token = key.sign_as(Algorithm::ES256, "garbage-again", &claims);
        assert!(matches!(
            verifier.verify(&token).await,
            Err(TokenError::UnknownKeyId(_))
        ));
        assert_eq!(server.hits(), 2, "no refetch within the minimum interval");
        // The known key still verifies meanwhile.
        verifier.verify(&key.sign(&claims)).await.unwrap();
        assert_eq!(server.hits(), 2);
    }

    #[tokio::test]
    async fn rs256_verifies_and_the_token_cannot_choose_another_algorithm() {
        let ec = TestKey::es256("ec");
        let rsa = TestKey::rs256("rsa");
        let server = JwksServer::start(&[&ec, &rsa]).await;
        let claims = claims(&server.issuer());
        let jwks_only = verifier_for(None, Some(&server.url));
        let access = jwks_only.verify(&rsa.sign(&claims)).await.unwrap();
        assert_eq!(access.role, "authenticated");

        // A token whose algorithm does not fit the key its kid names.
        let rs_named_ec = rsa.sign_as(Algorithm::RS256, "ec", &claims);
        assert!(matches!(
            jwks_only.verify(&rs_named_ec).await,
            Err(TokenError::UnsupportedAlgorithm(_))
        ));
        let es_named_rsa = ec.sign_as(Algorithm::ES256, "rsa", &claims);
        assert!(matches!(
            jwks_only.verify(&es_named_rsa).await,
            Err(TokenError::UnsupportedAlgorithm(_))
        ));
        let ps256 = rsa.sign_as(Algorithm::PS256, "rsa", &claims);
        assert!(matches!(
            jwks_only.verify(&ps256).await,
            Err(TokenError::UnsupportedAlgorithm(_))
        ));

        // HMAC "signed" with the published public key, the classic confusion attack.
        let public = serde_json::to_vec(&ec.jwk).unwrap();
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("ec".to_string());
        let confused =
            jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(&public)).unwrap();
        assert!(matches!(
            jwks_only.verify(&confused).await,
            Err(TokenError::UnsupportedAlgorithm(_))
        ));
        // With a secret configured as well, HS256 is checked against the secret only.
        let both = verifier_for(Some(SECRET), Some(&server.url));
        assert!(matches!(
            both.verify(&confused).await,
            Err(TokenError::BadSignature)
        ));
        assert!(both
            .verify(&hs256(&claims, SECRET.as_bytes()))
            .await
            .is_ok());
        assert!(both.verify(&ec.sign(&claims)).await.is_ok());

        // ES256/RS256 with only a secret: there are no keys to check them with.
        let secret_only = verifier_for(Some(SECRET), None);
        assert!(matches!(
            secret_only.verify(&ec.sign(&claims)).await,
            Err(TokenError::UnsupportedAlgorithm(_))
        ));
    }

    #[tokio::test]
    async fn an_unreachable_or_failing_jwks_is_jwks_unavailable() {
        let key = TestKey::es256("key-1");
        let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", closed.local_addr().unwrap());
        drop(closed);
        let down = verifier_for(None, Some(&url));
        let token = key.sign(&claims(&format!("{url}{ISSUER_PATH}")));
        let error = down.verify(&token).await.unwrap_err();
        assert!(matches!(error, TokenError::JwksUnavailable(_)), "{error:?}");
        assert!(crate::error_chain(&error).contains(JWKS_PATH));
        // Within the minimum interval the failure is repeated, not refetched.
        assert!(matches!(
            down.verify(&token).await,
            Err(TokenError::JwksUnavailable(_))
        ));

        let failing = JwksServer::start_with(
            &[&key],
            Duration::ZERO,
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        )
        .await;
        let verifier = verifier_for(None, Some(&failing.url));
        let token = key.sign(&claims(&failing.issuer()));
        let error = verifier.verify(&token).await.unwrap_err();
        assert!(crate::error_chain(&error).contains("HTTP 500"), "{error:?}");
        assert_eq!(failing.hits(), 1);
        assert!(matches!(
            verifier.verify(&token).await,
            Err(TokenError::JwksUnavailable(_))
        ));
        assert_eq!(failing.hits(), 1);
    }

    #[tokio::test]
    async fn known_keys_outlive_a_failed_refresh() {
        let key = TestKey::es256("key-1");
        let server = JwksServer::start(&[&key]).await;
        // Every token asks for a refresh (TTL zero), as after ten minutes in production.
        let verifier = TokenVerifier::with_timing(
            TokenSettings {
                jwt_secret: None,
                supabase_url: Some(Url::parse(&server.url).unwrap()),
            },
            Timing {
                ttl: Duration::ZERO,
                min_refetch: TEST_MIN_REFETCH,
                max_stale: JWKS_MAX_STALE,
            },
        )
        .unwrap();
        let claims = claims(&server.issuer());
        verifier.verify(&key.sign(&claims)).await.unwrap();
        assert_eq!(server.hits(), 1);

        *server.published.lock().unwrap() = json!({"not": "a jwks"});
        tokio::time::sleep(TEST_MIN_REFETCH).await;
        verifier.verify(&key.sign(&claims)).await.unwrap();
        assert_eq!(
            server.hits(),
            2,
            "the refresh was tried, failed, and the key still served"
        );
        let unknown = key.sign_as(Algorithm::ES256, "key-2", &claims);
        let error = verifier.verify(&unknown).await.unwrap_err();
        assert!(matches!(error, TokenError::JwksUnavailable(_)), "{error:?}");
        assert!(
            crate::error_chain(&error).contains("not a JWKS"),
            "{error:?}"
        );
        assert_eq!(server.hits(), 2);
    }

    #[test]
    fn jwks_keys_we_will_not_use_are_skipped() {
        let body = json!({"keys": [
            {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
            {"kty": "EC", "kid": "enc", "use": "enc", "crv": "P-256",
             "x": URL_SAFE_NO_PAD.encode([1u8; 32]), "y": URL_SAFE_NO_PAD.encode([2u8; 32])},
            {"kty": "EC", "kid": "p384", "crv": "P-384",
             "x": URL_SAFE_NO_PAD.encode([1u8; 48]), "y": URL_SAFE_NO_PAD.encode([2u8; 48])},
            {"kty": "EC", "kid": "declared-rs", "alg": "RS256", "crv": "P-256",
             "x": URL_SAFE_NO_PAD.encode([1u8; 32]), "y": URL_SAFE_NO_PAD.encode([2u8; 32])},
            {"kty": "RSA", "kid": "short-rsa", "n": URL_SAFE_NO_PAD.encode([0xffu8; 128]), "e": "AQAB"},
            {"kty": "OKP", "kid": "ed", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode([1u8; 32])},
            {"kty": "unknown", "kid": "what"},
            {"kty": "EC", "kid": "ok", "alg": "ES256", "crv": "P-256",
             "x": URL_SAFE_NO_PAD.encode([1u8; 32]), "y": URL_SAFE_NO_PAD.encode([2u8; 32])}
        ]});
        let set = parse_jwks(&serde_json::to_vec(&body).unwrap()).unwrap();
        let kids: Vec<&String> = set.keys.keys().collect();
        assert_eq!(kids, vec!["ok"]);
        assert!(parse_jwks(b"<html>").is_err());
    }
}
