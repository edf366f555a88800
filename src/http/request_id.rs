//! Request ids: every request runs in a `request` span carrying its id, so each log line it
//! causes names the request. The id is the proxy's (`Fly-Request-Id`, then `X-Request-Id`)
//! when it is a short printable token, else a new UUID; it is echoed in `X-Request-Id`.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use std::time::Instant;
use tracing::Instrument;

/// The header the id is echoed in.
pub const REQUEST_ID: &str = "x-request-id";

/// Longest id taken from a client; longer or odd ones are replaced, so a header cannot
/// flood or forge log lines.
const MAX_ID_BYTES: usize = 128;

fn incoming_id(request: &Request) -> Option<String> {
    ["fly-request-id", REQUEST_ID].iter().find_map(|name| {
        let value = request.headers().get(*name)?.to_str().ok()?.trim();
        (!value.is_empty()
            && value.len() <= MAX_ID_BYTES
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b)))
        .then(|| value.to_string())
    })
}

pub async fn request_span(request: Request, next: Next) -> Response {
    let id = incoming_id(&request).unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %request.method(),
        path = %request.uri().path(),
    );
    let started = Instant::now();
    let mut response = next.run(request).instrument(span.clone()).await;
    span.in_scope(|| {
        tracing::info!(
            status = response.status().as_u16(),
            latency_ms = started.elapsed().as_secs_f64() * 1e3,
            "request finished"
        )
    });
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}
