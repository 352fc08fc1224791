//! `/webhooks/{token}`: starts a workflow run from an HTTP request. The
//! request is checked (token, method, active workflow, size, signature over
//! the raw body, content type) before anything is parsed; a signed
//! delivery seen before is refused (409 `replayed`); the run is committed
//! before the answer `202 {"execution_id"}` goes out.

pub mod replay;
pub mod signature;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{
    Json, Router,
    extract::{Path, Request, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::any,
};
use domain::webhooks::WebhookTarget;
use engine::store::NewExecution;
use serde_json::{Map, Value, json};

use crate::{error::ApiError, extract::read_body, startup::AppState};

/// How long a token's target is remembered before it is read again.
const TARGET_TTL: Duration = Duration::from_secs(1);
const CACHE_LIMIT: usize = 10_000;

pub fn router() -> Router<AppState> {
    Router::new().route("/webhooks/{token}", any(receive))
}

/// Targets by token, read from the database at most once a second each.
#[derive(Default)]
pub struct TargetCache {
    entries: Mutex<HashMap<String, (Instant, Option<Arc<WebhookTarget>>)>>,
}

impl TargetCache {
    async fn get(
        &self,
        state: &AppState,
        token: &str,
    ) -> Result<Option<Arc<WebhookTarget>>, ApiError> {
        if let Some((at, target)) = self.entries.lock().expect("webhook cache").get(token)
            && at.elapsed() < TARGET_TTL
        {
            return Ok(target.clone());
        }
        let target = domain::webhooks::find(&state.context.db, &state.workflow_secrets, token)
            .await?
            .map(Arc::new);
        let mut entries = self.entries.lock().expect("webhook cache");
        if entries.len() >= CACHE_LIMIT {
            entries.clear();
        }
        entries.insert(token.to_owned(), (Instant::now(), target.clone()));
        Ok(target)
    }

    /// Forgets every target, so that changes take effect at once here.
    pub fn clear(&self) {
        self.entries.lock().expect("webhook cache").clear();
    }
}

/// Tokens are 43 URL-safe characters; anything else is not looked up.
fn plausible(token: &str) -> bool {
    token.len() == 43
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Answers a delivery and counts it by outcome.
async fn receive(state: State<AppState>, token: Path<String>, request: Request) -> Response {
    let started = Instant::now();
    let metrics_state = state.0.clone();
    let response = deliver(state, token, request).await.into_response();
    let status = response.status();
    let outcome = if response.headers().contains_key(DUPLICATE_HEADER) {
        "duplicate".to_owned()
    } else if status == StatusCode::ACCEPTED {
        "accepted".to_owned()
    } else if status.is_success() {
        // A workflow's own answer, or a provider's URL check.
        "answered".to_owned()
    } else {
        status.as_u16().to_string()
    };
    metrics_state
        .context
        .engine
        .metrics()
        .webhook(&outcome, started.elapsed().as_secs_f64());
    response
}

/// Marks the answer to a delivery seen before (by its delivery id).
const DUPLICATE_HEADER: &str = "x-switchyard-duplicate";

async fn deliver(
    State(state): State<AppState>,
    Path(token): Path<String>,
    request: Request,
) -> Result<Response, ApiError> {
    if !plausible(&token) {
        return Err(ApiError::NotFound);
    }
    let target = state
        .webhooks
        .get(&state, &token)
        .await?
        .ok_or(ApiError::NotFound)?;
    let method = request.method().clone();
    if !target.methods.iter().any(|m| m == method.as_str()) {
        let mut response = ApiError::MethodNotAllowed.into_response();
        if let Ok(allow) = target.methods.join(", ").parse() {
            response.headers_mut().insert(header::ALLOW, allow);
        }
        return Ok(response);
    }
    if !target.active {
        return Err(ApiError::Conflict(
            "the workflow is not active; activate it to accept webhooks".into(),
        ));
    }
    let headers = request.headers().clone();
    let query = request.uri().query().unwrap_or_default().to_owned();
    // The URL the sender called, as it signs it (Twilio).
    let called = format!("{}{}", state.context.public_url, request.uri());
    let body = read_body(request, state.config.webhook_body_limit as usize).await?;
    let now = chrono::Utc::now();
    let signed = match &target.signature {
        Some(config) => match signature::check(config, &headers, &body, &called, now.timestamp()) {
            Ok(signed) => Some(signed),
            Err(refusal) => {
                tracing::warn!(workflow_id = %target.workflow_id, scheme = %config.scheme, reason = %refusal, "webhook signature refused");
                return Err(ApiError::Unauthorized(format!(
                    "signature check failed: {refusal}"
                )));
            }
        },
        None => None,
    };
    let mut payload = json!({
        "method": method.as_str(),
        "headers": header_object(&headers),
        "query": query_object(&query),
        "body": parse_body(&headers, &body)?,
    });
    let mut delivery = target
        .dedupe_header
        .as_deref()
        .and_then(|name| headers.get(name))
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if let Some(provider) = target.provider.and_then(engine::providers::find) {
        match provider_delivery(&target, provider, &headers, &payload["body"]) {
            ProviderDelivery::Run { event, id } => {
                payload["event"] = json!(event);
                delivery = id;
            }
            ProviderDelivery::Answer(response) => return Ok(response),
        }
    }
    let idempotency_key = delivery
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty() && v.len() <= 200)
        .map(|v| format!("delivery:{v}"));
    // Last of the checks: only a delivery that would run is remembered.
    let db = &state.context.db;
    if let Some(signed) = &signed {
        let delivery = idempotency_key.as_deref();
        replay::admit(
            db,
            target.workflow_id,
            signed,
            delivery,
            now.timestamp_millis(),
        )
        .await?;
    }
    // Subscribe before queueing, so that a fast run's end is not missed.
    let mut events = target
        .respond_with_output
        .then(|| state.context.engine.subscribe());
    let started = state
        .context
        .engine
        .enqueue(NewExecution {
            workflow_id: target.workflow_id,
            owner_id: target.owner_id,
            workflow_version: target.version,
            trigger_kind: "webhook".into(),
            payload,
            idempotency_key,
        })
        .await;
    let started = match started {
        Ok(started) => started,
        Err(error) => {
            if let Some(signed) = &signed {
                replay::forget(db, target.workflow_id, signed).await;
            }
            return Err(domain::DomainError::from(error).into());
        }
    };
    let accepted = |duplicate: bool| {
        let mut response = (
            StatusCode::ACCEPTED,
            Json(json!({ "execution_id": started.id })),
        )
            .into_response();
        if duplicate {
            response
                .headers_mut()
                .insert(DUPLICATE_HEADER, http::HeaderValue::from_static("true"));
        }
        response
    };
    match events.as_mut() {
        Some(events) if started.created => {
            Ok(
                respond_with_output(&state, events, target.owner_id, started.id)
                    .await
                    .unwrap_or_else(|| accepted(false)),
            )
        }
        _ => Ok(accepted(!started.created)),
    }
}

/// What a signed delivery to a provider's trigger comes to.
enum ProviderDelivery {
    /// Start a run for this event type; `id` is the provider's delivery id.
    Run { event: String, id: Option<String> },
    /// Answer without a run: Slack's URL check, or an event type the
    /// workflow does not start on (2xx, so the provider does not resend it).
    Answer(Response),
}

fn provider_delivery(
    target: &WebhookTarget,
    provider: &engine::providers::Provider,
    headers: &HeaderMap,
    body: &Value,
) -> ProviderDelivery {
    let Some(trigger) = &provider.trigger else {
        return ProviderDelivery::Answer(StatusCode::NOT_FOUND.into_response());
    };
    if trigger.scheme == "slack"
        && body.get("type").and_then(Value::as_str) == Some("url_verification")
    {
        let challenge = body.get("challenge").cloned().unwrap_or(Value::Null);
        return ProviderDelivery::Answer(
            (StatusCode::OK, Json(json!({ "challenge": challenge }))).into_response(),
        );
    }
    let event = (trigger.event_of)(headers, body).unwrap_or_default();
    if !target.events.iter().any(|wanted| *wanted == event) {
        tracing::info!(workflow_id = %target.workflow_id, %event, "delivery of an event type the workflow does not start on");
        return ProviderDelivery::Answer(
            (
                StatusCode::OK,
                Json(json!({ "ignored": true, "event": event, "reason": "the workflow does not start on this event type" })),
            )
                .into_response(),
        );
    }
    ProviderDelivery::Run {
        event,
        id: (trigger.delivery_of)(headers, body),
    }
}

/// Waits for the run to end and answers with its output: a final output of
/// the form `{"status": <code>, "body": …}` chooses the answer, any other
/// output is sent as the JSON body with 200. `None` when the wait times out.
async fn respond_with_output(
    state: &AppState,
    events: &mut tokio::sync::broadcast::Receiver<Arc<engine::store::StoredEvent>>,
    owner_id: uuid::Uuid,
    execution_id: uuid::Uuid,
) -> Option<Response> {
    let deadline =
        tokio::time::Instant::now() + Duration::from_secs(state.config.webhook_response_timeout);
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Ok(event))
                if event.row.execution_id == execution_id
                    && matches!(
                        event.row.kind.as_str(),
                        "execution.succeeded" | "execution.failed" | "execution.cancelled"
                    ) =>
            {
                break;
            }
            Ok(Ok(_)) => {}
            // Fell behind the stream: read the result instead.
            Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => break,
            Ok(Err(_)) | Err(_) => return None,
        }
    }
    let run = domain::executions::get(&state.context.db, owner_id, execution_id)
        .await
        .ok()?;
    match run.summary.status.as_str() {
        "succeeded" => {
            let output = run.steps.iter().rev().find(|s| s.status == "succeeded" && s.item.is_empty()).and_then(|s| s.output.clone()).unwrap_or(Value::Null);
            let reply = match (output.get("status").and_then(Value::as_u64), output.get("body")) {
                (Some(status @ 100..=599), Some(body)) => (StatusCode::from_u16(status as u16).unwrap_or(StatusCode::OK), Json(body.clone())).into_response(),
                _ => (StatusCode::OK, Json(output)).into_response(),
            };
            Some(reply)
        }
        "failed" | "cancelled" => Some(
            (StatusCode::BAD_GATEWAY, Json(json!({ "error": { "code": "run_failed", "message": "the workflow run failed", "execution_id": execution_id } })))
                .into_response(),
        ),
        _ => None,
    }
}

fn header_object(headers: &HeaderMap) -> Value {
    let mut map = Map::new();
    for (name, value) in headers {
        // Signatures and cookies are checked or useless in the run.
        if matches!(name.as_str(), "cookie" | "authorization") {
            continue;
        }
        map.insert(
            name.as_str().to_owned(),
            Value::String(String::from_utf8_lossy(value.as_bytes()).into_owned()),
        );
    }
    Value::Object(map)
}

fn query_object(query: &str) -> Value {
    let mut map = Map::new();
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        map.insert(name.into_owned(), Value::String(value.into_owned()));
    }
    Value::Object(map)
}

/// The body as the workflow sees it: JSON, form fields, text, or nothing.
fn parse_body(headers: &HeaderMap, body: &[u8]) -> Result<Value, ApiError> {
    if body.is_empty() {
        return Ok(Value::Null);
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    if content_type == "application/json" || content_type.ends_with("+json") {
        return serde_json::from_slice(body).map_err(|e| ApiError::MalformedJson(e.to_string()));
    }
    if content_type == "application/x-www-form-urlencoded" {
        return Ok(query_object(std::str::from_utf8(body).map_err(|_| {
            ApiError::BadRequest("the form is not UTF-8".into())
        })?));
    }
    if content_type.starts_with("text/") || content_type.is_empty() {
        return String::from_utf8(body.to_vec())
            .map(Value::String)
            .map_err(|_| ApiError::BadRequest("the body is not UTF-8 text".into()));
    }
    Err(ApiError::UnsupportedMediaType)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_read_by_content_type() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            "application/json; charset=utf-8".parse().unwrap(),
        );
        assert_eq!(
            parse_body(&headers, br#"{"a":1}"#).unwrap(),
            json!({"a": 1})
        );
        assert!(matches!(
            parse_body(&headers, b"{"),
            Err(ApiError::MalformedJson(_))
        ));
        headers.insert(
            header::CONTENT_TYPE,
            "application/x-www-form-urlencoded".parse().unwrap(),
        );
        assert_eq!(
            parse_body(&headers, b"a=1&b=two+words").unwrap(),
            json!({"a": "1", "b": "two words"})
        );
        headers.insert(header::CONTENT_TYPE, "text/plain".parse().unwrap());
        assert_eq!(parse_body(&headers, b"hello").unwrap(), json!("hello"));
        headers.insert(header::CONTENT_TYPE, "image/png".parse().unwrap());
        assert!(matches!(
            parse_body(&headers, b"\x89PNG"),
            Err(ApiError::UnsupportedMediaType)
        ));
        assert_eq!(parse_body(&headers, b"").unwrap(), Value::Null);
    }

    #[test]
    fn only_well_formed_tokens_are_looked_up() {
        assert!(plausible(&"a".repeat(43)));
        assert!(!plausible("short"));
        assert!(!plausible(&format!("{}/", "a".repeat(42))));
    }
}
