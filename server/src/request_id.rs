//! Every request gets an id: taken from a well-formed incoming
//! `x-request-id`, or generated. It is recorded on the request's log span
//! and returned in the response's `x-request-id` header.

use std::{borrow::Cow, time::Duration};

use axum::{extract::Request, middleware::Next, response::Response};
use http::{HeaderName, HeaderValue};
use tracing::Span;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Longest incoming id accepted; longer ones are replaced.
const MAX_LEN: usize = 128;

/// The id of the request being handled, kept in request extensions.
#[derive(Clone, Debug)]
pub struct RequestId(pub HeaderValue);

fn is_acceptable(value: &HeaderValue) -> bool {
    let bytes = value.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_LEN
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(b))
}

/// Middleware: assigns the id and copies it onto the response.
pub async fn assign(mut request: Request, next: Next) -> Response {
    let id = match request.headers().get(&REQUEST_ID) {
        Some(value) if is_acceptable(value) => value.clone(),
        _ => HeaderValue::from_str(&uuid::Uuid::now_v7().to_string())
            .expect("a UUID is a valid header value"),
    };
    request.headers_mut().insert(REQUEST_ID, id.clone());
    request.extensions_mut().insert(RequestId(id.clone()));
    let mut response = next.run(request).await;
    response.headers_mut().insert(REQUEST_ID, id);
    response
}

/// The log span for one request. Webhook paths hold secret tokens, so they
/// are logged without them; query strings are never logged.
pub fn make_span(request: &Request) -> Span {
    let request_id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = %loggable_path(request.uri().path()),
        request_id,
    )
}

pub fn on_response(response: &Response, latency: Duration, _span: &Span) {
    tracing::info!(
        status = response.status().as_u16(),
        latency_ms = latency.as_micros() as f64 / 1000.0,
        "finished"
    );
}

/// The path as it may appear in logs.
pub fn loggable_path(path: &str) -> Cow<'_, str> {
    match path.strip_prefix("/webhooks/") {
        Some(rest) if !rest.is_empty() => Cow::Borrowed("/webhooks/<token>"),
        _ => Cow::Borrowed(path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_tokens_are_not_logged() {
        assert_eq!(loggable_path("/webhooks/s3cr3t"), "/webhooks/<token>");
        assert_eq!(loggable_path("/api/v1/workflows"), "/api/v1/workflows");
    }

    #[test]
    fn only_tidy_ids_are_kept() {
        assert!(is_acceptable(&HeaderValue::from_static("abc-123_x.y:z")));
        assert!(!is_acceptable(&HeaderValue::from_static("")));
        assert!(!is_acceptable(&HeaderValue::from_static("has space")));
        assert!(!is_acceptable(
            &HeaderValue::from_str(&"a".repeat(129)).unwrap()
        ));
    }
}
