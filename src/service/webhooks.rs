//! GitHub webhooks: verify a delivery, record it and queue (or coalesce) the job it asks
//! for; rotate a repository's secret.
//!
//! The route has no API key: the signature is the credential. A repository's secret is
//! HMAC(server key, id) at version 0 and HMAC(server key, "id:version") after rotations
//! (the version lives in the repository row), so every instance can verify any delivery
//! and nothing secret is stored. An unknown repository and a bad or missing signature get
//! the same 401, after the same work, so an unsigned caller learns nothing about which
//! repositories exist. Nothing here touches git: the reply is as fast as one transaction.

use super::*;
use crate::store::{DeliveryAction, DeliveryOutcome, WebhookTarget};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The largest delivery accepted (GitHub caps payloads at 25 MB).
pub const MAX_WEBHOOK_BODY_BYTES: usize = 25 * 1024 * 1024;

/// How long the secret before a rotation keeps verifying.
pub const WEBHOOK_SECRET_GRACE: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// A delivery as it arrived.
#[derive(Debug, Clone, Copy)]
pub struct WebhookDelivery<'a> {
    pub repository_id: &'a str,
    /// `X-GitHub-Event`.
    pub event: Option<&'a str>,
    /// `X-GitHub-Delivery`.
    pub delivery_id: Option<&'a str>,
    /// `X-Hub-Signature-256`.
    pub signature: Option<&'a str>,
    /// The raw body, exactly as signed.
    pub body: &'a [u8],
}

/// The answer to a verified delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum WebhookReply {
    /// `ping`: `{"pong": true}`.
    Pong { pong: bool },
    /// A push to the tracked branch: the job that will index it; `coalesced` when it joined
    /// a job already queued for the repository.
    Queued {
        job_id: String,
        revision: String,
        coalesced: bool,
    },
    /// This delivery id was handled before: nothing new was queued.
    Duplicate {
        duplicate: bool,
        job_id: Option<String>,
    },
    /// Recorded, nothing to do (another branch, a tag, a deletion, another event).
    Ignored { ignored: String },
}

/// Why a delivery was refused.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// Unknown repository, or a missing or wrong signature (indistinguishable on purpose).
    #[error("the signature does not verify for this webhook URL")]
    Unauthorized,
    #[error("{0}")]
    BadRequest(String),
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl From<StoreError> for WebhookError {
    fn from(error: StoreError) -> Self {
        WebhookError::Service(error.into())
    }
}

/// The reply to a secret rotation: the new secret, shown once.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct RotatedSecret {
    pub webhook_secret: String,
    /// How long the previous secret keeps verifying, in seconds.
    pub previous_secret_valid_secs: u64,
}

/// The parts of a push payload that matter here.
#[derive(Debug, Deserialize)]
struct PushPayload {
    #[serde(rename = "ref")]
    git_ref: String,
    after: String,
    #[serde(default)]
    deleted: bool,
    repository: Option<PushRepository>,
}

#[derive(Debug, Deserialize)]
struct PushRepository {
    default_branch: Option<String>,
}

/// Whether `text` is a git object id (SHA-1 or SHA-256, lowercase or not).
fn is_object_id(text: &str) -> bool {
    matches!(text.len(), 40 | 64) && text.bytes().all(|b| b.is_ascii_hexdigit())
}

fn hmac(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => return [0; 32], // HMAC accepts keys of any length
    };
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// The hex digest a `sha256=` signature header carries, decoded; None when malformed.
fn signature_bytes(header: Option<&str>) -> Option<[u8; 32]> {
    let hex_digest = header?.trim().strip_prefix("sha256=")?;
    let mut out = [0u8; 32];
    hex::decode_to_slice(hex_digest, &mut out).ok()?;
    Some(out)
}

impl Service {
    /// The webhook secret of a repository at a secret version (see the module).
    pub fn webhook_secret_at(&self, id: &RepositoryId, version: i64) -> String {
        let key = self.settings.webhook_key.expose().as_bytes();
        let digest = if version == 0 {
            hmac(key, id.0.as_bytes())
        } else {
            hmac(key, format!("{}:{version}", id.0).as_bytes())
        };
        hex::encode(digest)
    }

    /// Whether `signature` is a valid signature of `body` under one of the secrets that
    /// verify for `target` now. Every candidate is computed and compared in constant time.
    fn verifies(&self, target: &WebhookTarget, signature: &[u8; 32], body: &[u8]) -> bool {
        let mut ok = subtle::Choice::from(0u8);
        let versions = std::iter::once(target.secret_version).chain(target.previous_version);
        for version in versions {
            let secret = self.webhook_secret_at(&target.repository_id, version);
            ok |= hmac(secret.as_bytes(), body).ct_eq(signature);
        }
        ok.into()
    }

    /// Handles one GitHub delivery (see the module). Checks, in order: the signature over
    /// the raw body (401), the event and delivery headers (400), the JSON (400).
    pub async fn github_webhook(
        &self,
        delivery: WebhookDelivery<'_>,
    ) -> Result<WebhookReply, WebhookError> {
        let target = match RepositoryId::parse(delivery.repository_id) {
            Some(id) => self.store.webhook_target(&id).await?,
            None => None,
        };
        let signature = signature_bytes(delivery.signature);
        let verified = match (&target, &signature) {
            (Some(target), Some(signature)) => self.verifies(target, signature, delivery.body),
            _ => {
                // The same work as a real check, so timing tells nothing either.
                let decoy = WebhookTarget {
                    repository_id: RepositoryId(uuid::Uuid::nil().to_string()),
                    default_branch: None,
                    secret_version: 0,
                    previous_version: None,
                };
                let _ = self.verifies(&decoy, &signature.unwrap_or([0; 32]), delivery.body);
                false
            }
        };
        let target = match target {
            Some(target) if verified => target,
            _ => return Err(WebhookError::Unauthorized),
        };
        let header = |value: Option<&str>, name: &str| {
            value
                .map(str::trim)
                .filter(|v| !v.is_empty() && v.len() <= 200 && !v.chars().any(char::is_control))
                .map(str::to_string)
                .ok_or_else(|| {
                    WebhookError::BadRequest(format!("missing or invalid {name} header"))
                })
        };
        let event = header(delivery.event, "X-GitHub-Event")?;
        let delivery_id = header(delivery.delivery_id, "X-GitHub-Delivery")?;
        let payload: serde_json::Value = serde_json::from_slice(delivery.body)
            .map_err(|e| WebhookError::BadRequest(format!("the body is not JSON: {e}")))?;
        let action = match event.as_str() {
            "ping" => DeliveryAction::Ignore {
                reason: "ping".into(),
            },
            "push" => push_action(&target, payload)?,
            other => DeliveryAction::Ignore {
                reason: format!("event {other:?} is not handled (only push)"),
            },
        };
        let outcome = self
            .store
            .record_delivery(&target.repository_id, &delivery_id, &event, &action)
            .await?;
        let revision = match &action {
            DeliveryAction::Enqueue { revision } => revision.clone(),
            DeliveryAction::Ignore { .. } => String::new(),
        };
        Ok(match outcome {
            DeliveryOutcome::Duplicate { job_id } => WebhookReply::Duplicate {
                duplicate: true,
                job_id,
            },
            DeliveryOutcome::Ignored { .. } if event == "ping" => WebhookReply::Pong { pong: true },
            DeliveryOutcome::Ignored { reason } => WebhookReply::Ignored { ignored: reason },
            DeliveryOutcome::Queued { job_id } => {
                self.wake_workers();
                WebhookReply::Queued {
                    job_id,
                    revision,
                    coalesced: false,
                }
            }
            DeliveryOutcome::Coalesced { job_id } => {
                self.wake_workers();
                WebhookReply::Queued {
                    job_id,
                    revision,
                    coalesced: true,
                }
            }
        })
    }

    /// Rotates one of the org's repositories' webhook secret; the previous one keeps
    /// verifying for [`WEBHOOK_SECRET_GRACE`] or until the next rotation.
    pub async fn rotate_webhook_secret(
        &self,
        org: &OrganizationId,
        id: &str,
    ) -> ServiceResult<RotatedSecret> {
        let repository = self.owned(org, id).await?;
        let version = self
            .store
            .rotate_webhook_secret(org, &repository.id, WEBHOOK_SECRET_GRACE)
            .await?
            .ok_or(ServiceError::NotFound("repository"))?;
        Ok(RotatedSecret {
            webhook_secret: self.webhook_secret_at(&repository.id, version),
            previous_secret_valid_secs: WEBHOOK_SECRET_GRACE.as_secs(),
        })
    }
}

/// What a push asks for: a job for the tracked branch's new commit, or a reason to ignore.
fn push_action(
    target: &WebhookTarget,
    payload: serde_json::Value,
) -> Result<DeliveryAction, WebhookError> {
    let push: PushPayload = serde_json::from_value(payload)
        .map_err(|e| WebhookError::BadRequest(format!("not a push payload: {e}")))?;
    if !is_object_id(&push.after) {
        return Err(WebhookError::BadRequest(format!(
            "\"after\" is not a commit id: {:?}",
            push.after
        )));
    }
    let ignore = |reason: String| Ok(DeliveryAction::Ignore { reason });
    let Some(branch) = push.git_ref.strip_prefix("refs/heads/") else {
        return ignore(format!("{} is not a branch", push.git_ref));
    };
    let tracked = target
        .default_branch
        .as_deref()
        .map(|b| b.trim().trim_start_matches("refs/heads/"))
        .filter(|b| !b.is_empty())
        .map(str::to_string)
        .or_else(|| push.repository.and_then(|r| r.default_branch));
    let Some(tracked) = tracked else {
        return ignore("no tracked branch: the repository names no default branch".into());
    };
    if branch != tracked {
        return ignore(format!(
            "branch {branch:?} is not the tracked branch {tracked:?}"
        ));
    }
    if push.deleted || push.after.bytes().all(|b| b == b'0') {
        return ignore(format!("branch {branch:?} was deleted"));
    }
    Ok(DeliveryAction::Enqueue {
        revision: push.after.to_ascii_lowercase(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(branch: Option<&str>) -> WebhookTarget {
        WebhookTarget {
            repository_id: RepositoryId::new_random(),
            default_branch: branch.map(str::to_string),
            secret_version: 0,
            previous_version: None,
        }
    }

    fn push(git_ref: &str, after: &str, default_branch: &str) -> serde_json::Value {
        serde_json::json!({"ref": git_ref, "after": after, "deleted": false,
            "repository": {"default_branch": default_branch, "created_at": 1_700_000_000}})
    }

    const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

    #[test]
    fn pushes_to_the_tracked_branch_queue_and_others_are_ignored() {
        let queued = push_action(&target(None), push("refs/heads/main", SHA, "main")).unwrap();
        assert_eq!(
            queued,
            DeliveryAction::Enqueue {
                revision: SHA.into()
            }
        );
        // The registered branch wins over the payload's default branch.
        let other = push_action(&target(Some("dev")), push("refs/heads/main", SHA, "main"));
        assert!(matches!(other, Ok(DeliveryAction::Ignore { .. })));
        let tag = push_action(&target(None), push("refs/tags/v1", SHA, "main"));
        assert!(matches!(tag, Ok(DeliveryAction::Ignore { .. })));
        let deleted = push_action(
            &target(None),
            push("refs/heads/main", &"0".repeat(40), "main"),
        );
        assert!(matches!(deleted, Ok(DeliveryAction::Ignore { .. })));
        let bad = push_action(&target(None), push("refs/heads/main", "HEAD~1", "main"));
        assert!(matches!(bad, Err(WebhookError::BadRequest(_))));
        let not_push = push_action(&target(None), serde_json::json!({"zen": "x"}));
        assert!(matches!(not_push, Err(WebhookError::BadRequest(_))));
    }

    #[test]
    fn signatures_need_the_prefix_and_32_bytes_of_hex() {
        assert!(signature_bytes(Some(&format!("sha256={}", "ab".repeat(32)))).is_some());
        assert!(signature_bytes(Some(&"ab".repeat(32))).is_none());
        assert!(signature_bytes(Some(&format!("sha1={}", "ab".repeat(20)))).is_none());
        assert!(signature_bytes(Some("sha256=zz")).is_none());
        assert!(signature_bytes(None).is_none());
    }
}
