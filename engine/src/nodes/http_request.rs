//! `http_request`: calls an HTTP API. The response becomes
//! `{status, headers, body}` with the body parsed by content type (JSON,
//! text; binary bodies are summarised). Error statuses fail the step with
//! the class that decides on retries.

use std::time::{Duration, Instant};

use model::{Category, FieldSpec, FieldType, KindSpec, catalogue::single_output};
use reqwest::{Method, header::HeaderMap};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{NodeKind, Outcome, StepFuture, StepInput};
use crate::{
    credentials::Credential,
    error::{ErrorClass, StepError, classify_status},
    outbound::{OutboundError, find_refusal},
    redact,
};

pub struct HttpRequest;

pub const DEFAULT_TIMEOUT_MS: u64 = 30_000;
pub const MAX_TIMEOUT_MS: i64 = 300_000;
/// Largest response body read; the rest is cut off and marked.
pub const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;
/// How much of an error response is kept in the step's error.
const ERROR_BODY_EXCERPT: usize = 2048;

const METHODS: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HttpConfig {
    #[serde(default = "default_method")]
    method: String,
    url: String,
    #[serde(default)]
    query: Map<String, Value>,
    #[serde(default)]
    headers: Map<String, Value>,
    #[serde(default)]
    body: Option<Value>,
    #[serde(default)]
    body_type: BodyType,
    timeout_ms: Option<u64>,
    #[serde(default)]
    auth: Option<InlineAuth>,
    #[serde(default)]
    send_idempotency_key: bool,
    #[serde(default)]
    connection_id: Option<String>,
}

fn default_method() -> String {
    "GET".into()
}

#[derive(Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
enum BodyType {
    #[default]
    Json,
    Form,
    Raw,
}

/// Credentials written into the node itself.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InlineAuth {
    #[serde(rename = "type")]
    kind: String,
    token: Option<String>,
    username: Option<String>,
    password: Option<String>,
    name: Option<String>,
    value: Option<String>,
}

impl InlineAuth {
    fn apply(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::RequestBuilder, StepError> {
        let missing = |field: &str| {
            StepError::validation(format!("{} authentication needs `{field}`", self.kind))
        };
        Ok(match self.kind.as_str() {
            "bearer" => request.bearer_auth(self.token.as_deref().ok_or_else(|| missing("token"))?),
            "basic" => request.basic_auth(
                self.username
                    .as_deref()
                    .ok_or_else(|| missing("username"))?,
                self.password.as_deref(),
            ),
            "header" => request.header(
                self.name.as_deref().ok_or_else(|| missing("name"))?,
                self.value.as_deref().ok_or_else(|| missing("value"))?,
            ),
            other => {
                return Err(StepError::validation(format!(
                    "unknown authentication type `{other}`"
                )));
            }
        })
    }
}

impl NodeKind for HttpRequest {
    fn spec(&self) -> KindSpec {
        let auth_fields = vec![
            FieldSpec::new(
                "type",
                "Type",
                FieldType::select(&["bearer", "basic", "header"]),
            )
            .required(),
            FieldSpec::new("token", "Token", FieldType::Secret),
            FieldSpec::new("username", "Username", FieldType::text()),
            FieldSpec::new("password", "Password", FieldType::Secret),
            FieldSpec::new("name", "Header name", FieldType::text()),
            FieldSpec::new("value", "Header value", FieldType::Secret),
        ];
        KindSpec {
            kind: "http_request".into(),
            label: "HTTP request".into(),
            category: Category::Action,
            description: "Calls any HTTP API and outputs {status, headers, body}.".into(),
            fields: vec![
                FieldSpec::new("method", "Method", FieldType::select(&METHODS)).default_value(json!("GET")),
                FieldSpec::new("url", "URL", FieldType::Url).required(),
                FieldSpec::new("query", "Query parameters", FieldType::KeyValue),
                FieldSpec::new("headers", "Headers", FieldType::KeyValue),
                FieldSpec::new("body", "Body", FieldType::Json),
                FieldSpec::new("body_type", "Body type", FieldType::select(&["json", "form", "raw"]))
                    .default_value(json!("json")),
                FieldSpec::new("timeout_ms", "Timeout (ms)", FieldType::Integer { min: 1, max: MAX_TIMEOUT_MS })
                    .default_value(json!(DEFAULT_TIMEOUT_MS)),
                FieldSpec::new("connection_id", "Connection", FieldType::text())
                    .help("A saved connection whose credentials are added to the request."),
                FieldSpec::new("auth", "Authentication", FieldType::Object { fields: auth_fields })
                    .help("Credentials written here instead of a connection."),
                FieldSpec::new("send_idempotency_key", "Send Idempotency-Key", FieldType::Boolean)
                    .default_value(json!(false))
                    .help("Sends a key that stays the same across retries, so the API can ignore repeats."),
            ],
            ports: single_output(),
            provider: None,
            output: vec![],
            rules: vec![],
        }
    }

    fn run<'a>(&'a self, step: StepInput<'a>) -> StepFuture<'a> {
        Box::pin(async move {
            match call(&step).await {
                Ok(output) => Outcome::out(output),
                Err(error) => Outcome::Failed(error),
            }
        })
    }
}

async fn call(step: &StepInput<'_>) -> Result<Value, StepError> {
    let config: HttpConfig = step.config()?;
    let method = Method::from_bytes(config.method.to_ascii_uppercase().as_bytes())
        .ok()
        .filter(|m| METHODS.contains(&m.as_str()))
        .ok_or_else(|| {
            StepError::validation(format!("`{}` is not an HTTP method", config.method))
        })?;
    let mut url = reqwest::Url::parse(&config.url).map_err(|e| {
        StepError::validation(format!("invalid URL `{}`: {e}", redact::text(&config.url)))
    })?;
    step.services
        .http
        .policy
        .check_url(&url)
        .map_err(|refused| StepError::validation(refused.to_string()))?;
    if !config.query.is_empty() {
        let mut pairs = url.query_pairs_mut();
        for (name, value) in &config.query {
            pairs.append_pair(name, &plain_text(value));
        }
    }
    let timeout = Duration::from_millis(
        config
            .timeout_ms
            .unwrap_or(DEFAULT_TIMEOUT_MS)
            .clamp(1, MAX_TIMEOUT_MS as u64),
    );
    let connection = match config
        .connection_id
        .as_deref()
        .map(str::trim)
        .filter(|id| !id.is_empty())
    {
        Some(id) => {
            let id = uuid::Uuid::parse_str(id)
                .map_err(|_| StepError::validation(format!("`{id}` is not a connection id")))?;
            Some((id, step.services.credentials.load(step.owner_id, id).await?))
        }
        None => None,
    };

    // Logged without the query string, which often carries keys.
    let shown_url = format!("{}{}", url.origin().ascii_serialization(), url.path());
    let started = Instant::now();
    let send = |credential: Option<&Credential>| {
        let request = build_request(step, &config, &method, &url, timeout, credential);
        async move {
            let request = request?;
            let sent = step.services.http.send(request).await;
            let status = sent.as_ref().ok().map(|r| r.status().as_u16());
            step.services.metrics.outbound("http", status);
            sent.map_err(|e| outbound_error(e, timeout))
        }
    };
    let mut response = send(connection.as_ref().map(|(_, c)| c)).await?;
    // A refused OAuth token is renewed once, and the call made again.
    if matches!(response.status().as_u16(), 401 | 403)
        && let Some((id, credential)) = &connection
        && credential.refreshable()
    {
        let renewed = step
            .services
            .credentials
            .refresh(step.owner_id, *id)
            .await?;
        step.log.line(format!(
            "{} answered {}; renewed the connection's token and tried again",
            shown_url,
            response.status().as_u16()
        ));
        response = send(Some(&renewed)).await?;
    }
    let status = response.status().as_u16();
    let headers = header_map(response.headers());
    let retry_after_ms = retry_after(response.headers());
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();

    let (bytes, cut) = read_body(&mut response, timeout).await?;
    step.log.line(format!(
        "{method} {shown_url} → {status} in {} ms",
        started.elapsed().as_millis()
    ));
    let body = parse_body(&content_type, &bytes, cut, method == Method::HEAD);

    if status >= 400 {
        let class = classify_status(status);
        let excerpt: String =
            String::from_utf8_lossy(&bytes[..bytes.len().min(ERROR_BODY_EXCERPT)]).into_owned();
        let reason = reqwest::StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("");
        let retry_after_ms = if matches!(status, 429 | 503) {
            retry_after_ms
        } else {
            None
        };
        return Err(StepError::new(
            class,
            format!("{method} {shown_url} answered {status} {reason}")
                .trim_end()
                .to_owned(),
        )
        .with_status(status)
        .with_retry_after(retry_after_ms)
        .with_details(json!({ "body": excerpt, "headers": headers })));
    }
    Ok(json!({ "status": status, "headers": headers, "body": body }))
}

/// The request as configured, with a connection's credentials if given.
fn build_request(
    step: &StepInput<'_>,
    config: &HttpConfig,
    method: &Method,
    url: &reqwest::Url,
    timeout: Duration,
    credential: Option<&Credential>,
) -> Result<reqwest::Request, StepError> {
    let mut request = step
        .services
        .http
        .client
        .request(method.clone(), url.clone())
        .timeout(timeout);
    for (name, value) in &config.headers {
        request = request.header(name.as_str(), plain_text(value));
    }
    if config.send_idempotency_key {
        request = request.header("Idempotency-Key", step.step_key);
    }
    if let Some(credential) = credential {
        request = apply_credential(request, credential)?;
    }
    if let Some(auth) = &config.auth {
        request = auth.apply(request)?;
    }
    if let Some(body) = config.body.as_ref().filter(|b| !b.is_null()) {
        request = match config.body_type {
            BodyType::Json => request.json(body),
            BodyType::Form => match body {
                Value::Object(map) => {
                    let pairs: Vec<(&str, String)> = map
                        .iter()
                        .map(|(k, v)| (k.as_str(), plain_text(v)))
                        .collect();
                    request.form(&pairs)
                }
                _ => {
                    return Err(StepError::validation(
                        "a form body must be an object of fields",
                    ));
                }
            },
            BodyType::Raw => request.body(plain_text(body)),
        };
    }
    request
        .build()
        .map_err(|e| StepError::validation(format!("invalid request: {e}")))
}

pub(crate) fn apply_credential(
    request: reqwest::RequestBuilder,
    credential: &Credential,
) -> Result<reqwest::RequestBuilder, StepError> {
    let missing = |field: &str| {
        StepError::validation(format!(
            "the {} connection has no `{field}`",
            credential.kind
        ))
    };
    Ok(match credential.kind.as_str() {
        "bearer" => request.bearer_auth(credential.field("token").ok_or_else(|| missing("token"))?),
        "oauth2" => request.bearer_auth(
            credential
                .field("access_token")
                .ok_or_else(|| missing("access_token"))?,
        ),
        "basic" => request.basic_auth(
            credential
                .field("username")
                .ok_or_else(|| missing("username"))?,
            credential.field("password"),
        ),
        "header" => request.header(
            credential
                .field("header_name")
                .ok_or_else(|| missing("header_name"))?,
            credential.field("value").ok_or_else(|| missing("value"))?,
        ),
        other => {
            return Err(StepError::validation(format!(
                "connections of kind `{other}` cannot be used in HTTP requests"
            )));
        }
    })
}

/// Reads at most [`MAX_RESPONSE_BYTES`] of a response body; true when
/// there was more.
pub(crate) async fn read_body(
    response: &mut reqwest::Response,
    timeout: Duration,
) -> Result<(Vec<u8>, bool), StepError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| transport_error(e, timeout))?
    {
        let room = MAX_RESPONSE_BYTES - bytes.len();
        bytes.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if chunk.len() > room {
            return Ok((bytes, true));
        }
    }
    Ok((bytes, false))
}

/// Header and query values are text; numbers and booleans are written out.
pub(crate) fn plain_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

pub(crate) fn header_map(headers: &HeaderMap) -> Value {
    let mut map = Map::new();
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        match map.get_mut(name.as_str()) {
            Some(Value::String(existing)) => {
                existing.push_str(", ");
                existing.push_str(&value);
            }
            _ => {
                map.insert(name.as_str().to_owned(), Value::String(value));
            }
        }
    }
    Value::Object(map)
}

/// `Retry-After` as seconds or as an HTTP date, in milliseconds from now.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<u64> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(seconds.saturating_mul(1000));
    }
    let when = chrono::DateTime::parse_from_rfc2822(value)
        .ok()?
        .timestamp_millis();
    Some((when - crate::time::now_ms()).max(0) as u64)
}

pub(crate) fn parse_body(content_type: &str, bytes: &[u8], cut: bool, head: bool) -> Value {
    if head || bytes.is_empty() {
        return Value::Null;
    }
    let is_json = content_type.contains("json");
    let is_text = content_type.starts_with("text/")
        || content_type.contains("xml")
        || content_type.contains("x-www-form-urlencoded")
        || content_type.contains("javascript")
        || (content_type.is_empty() && std::str::from_utf8(bytes).is_ok());
    if is_json
        && !cut
        && let Ok(value) = serde_json::from_slice::<Value>(bytes)
    {
        return value;
    }
    if is_json || is_text {
        let text = String::from_utf8_lossy(bytes).into_owned();
        return if cut {
            json!({ "_truncated": true, "text": text, "read_bytes": bytes.len() })
        } else {
            Value::String(text)
        };
    }
    json!({ "binary": true, "content_type": content_type, "size": bytes.len(), "truncated": cut })
}

pub(crate) fn outbound_error(error: OutboundError, timeout: Duration) -> StepError {
    match error {
        OutboundError::Transport(error) => transport_error(error, timeout),
        OutboundError::Timeout => timed_out(timeout),
        refused @ (OutboundError::Refused(_)
        | OutboundError::Invalid(_)
        | OutboundError::Redirect(_)) => StepError::validation(refused.to_string()),
    }
}

fn timed_out(timeout: Duration) -> StepError {
    StepError::new(
        ErrorClass::Transient,
        format!("no response within {} ms", timeout.as_millis()),
    )
}

/// A failed exchange. reqwest quotes the whole URL in its errors, query
/// keys included; it is shown masked instead.
fn transport_error(error: reqwest::Error, timeout: Duration) -> StepError {
    if let Some(refused) = find_refusal(&error) {
        return StepError::validation(refused.to_string());
    }
    if error.is_timeout() {
        return timed_out(timeout);
    }
    let to = error
        .url()
        .map(|url| format!(" to {}", redact::url(url)))
        .unwrap_or_default();
    StepError::transient(format!(
        "request{to} failed: {}",
        error_chain(&error.without_url())
    ))
}

/// An error and its causes in one line.
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![error.to_string()];
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_parsed_by_content_type() {
        assert_eq!(
            parse_body(
                "application/json; charset=utf-8",
                br#"{"a":1}"#,
                false,
                false
            ),
            json!({"a": 1})
        );
        assert_eq!(
            parse_body("application/json", b"not json", false, false),
            json!("not json")
        );
        assert_eq!(parse_body("text/plain", b"hi", false, false), json!("hi"));
        assert_eq!(parse_body("", b"plain", false, false), json!("plain"));
        assert_eq!(
            parse_body("image/png", &[0x89, 0x50, 0x4e, 0x47], false, false),
            json!({"binary": true, "content_type": "image/png", "size": 4, "truncated": false})
        );
        assert_eq!(
            parse_body("application/json", b"", false, false),
            Value::Null
        );
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", "7".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(7_000));
        let soon = chrono::Utc::now() + chrono::Duration::seconds(30);
        headers.insert("retry-after", soon.to_rfc2822().parse().unwrap());
        let ms = retry_after(&headers).unwrap();
        assert!((25_000..=31_000).contains(&ms), "{ms}");
        headers.insert("retry-after", "whenever".parse().unwrap());
        assert_eq!(retry_after(&headers), None);
    }
}
