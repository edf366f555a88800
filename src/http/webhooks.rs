//! `POST /webhooks/github/{repository_id}`: GitHub deliveries. No API key: the
//! `X-Hub-Signature-256` signature over the raw body is the credential, checked before the
//! body is parsed (`service::webhooks`). The body may be up to 25 MB (GitHub's cap), on
//! this route only; past it, 413.
//!
//! Replies: `ping` 200 `{"pong": true}`; a push to the tracked branch 202 `{"job_id",
//! "revision", "coalesced"}`; a redelivery 200 `{"duplicate": true, "job_id"}`; anything
//! else 202 `{"ignored": reason}`. Unknown repository or bad/missing signature: 401 (the
//! same reply for both); missing `X-GitHub-Event`/`X-GitHub-Delivery` or a body that is
//! not the JSON the event needs: 400.

use super::error::ApiError;
use super::AppState;
use crate::service::{
    RotatedSecret, WebhookDelivery, WebhookError, WebhookReply, MAX_WEBHOOK_BODY_BYTES,
};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::{Extension, Json};

fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!("webhook bodies are limited to {MAX_WEBHOOK_BODY_BYTES} bytes"),
    )
}

pub async fn github(
    State(state): State<AppState>,
    Path(repository_id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<impl IntoResponse, ApiError> {
    let declared = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_WEBHOOK_BODY_BYTES as u64) {
        return Err(too_large());
    }
    // Any read error is the limit (a body that ends early never reaches the service).
    let body = axum::body::to_bytes(body, MAX_WEBHOOK_BODY_BYTES)
        .await
        .map_err(|_| too_large())?;
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let result = state
        .service
        .github_webhook(WebhookDelivery {
            repository_id: &repository_id,
            event: header("x-github-event"),
            delivery_id: header("x-github-delivery"),
            signature: header("x-hub-signature-256"),
            body: &body,
        })
        .await;
    state.metrics.webhook_delivery(match &result {
        Ok(WebhookReply::Pong { .. }) => "pong",
        Ok(WebhookReply::Queued {
            coalesced: true, ..
        }) => "coalesced",
        Ok(WebhookReply::Queued { .. }) => "queued",
        Ok(WebhookReply::Duplicate { .. }) => "duplicate",
        Ok(WebhookReply::Ignored { .. }) => "ignored",
        Err(WebhookError::Unauthorized) => "unauthorized",
        Err(WebhookError::BadRequest(_)) => "bad_request",
        Err(WebhookError::Service(_)) => "error",
    });
    let reply = result.map_err(|error| match error {
        WebhookError::Unauthorized => ApiError::unauthorized(error.to_string()),
        WebhookError::BadRequest(message) => {
            ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
        }
        WebhookError::Service(error) => error.into(),
    })?;
    let status = match reply {
        WebhookReply::Pong { .. } | WebhookReply::Duplicate { .. } => StatusCode::OK,
        WebhookReply::Queued { .. } | WebhookReply::Ignored { .. } => StatusCode::ACCEPTED,
    };
    Ok((status, Json(reply)))
}

/// `POST /api/v1/repositories/{id}/webhook-secret` (write permission): a new secret,
/// shown once; the previous one keeps verifying for a grace period.
pub async fn rotate_secret(
    State(state): State<AppState>,
    Extension(caller): Extension<super::caller::Caller>,
    Path(id): Path<String>,
) -> Result<Json<RotatedSecret>, ApiError> {
    caller.require_write()?;
    Ok(Json(
        state
            .service
            .rotate_webhook_secret(&caller.org, &id)
            .await?,
    ))
}
