//! How providers say something failed: the message in an error body
//! (Stripe's `error.message`, GitHub's `message`, …), and failures reported
//! with a 2xx status (Slack's `ok: false`, GraphQL's `errors[]`), sorted
//! into the classes that decide on retries.

use serde_json::{Value, json};

use super::{BodyErrors, Provider};
use crate::{ErrorClass, StepError, error::classify_status};

/// How much of an error body a step's error keeps.
const ERROR_EXCERPT: usize = 2048;

/// The provider's message for a failed status, with the class that
/// decides on retries.
pub(super) fn status_error(
    provider: &Provider,
    shown: &str,
    status: u16,
    body: &Value,
    bytes: &[u8],
    retry_after: Option<u64>,
) -> StepError {
    let message = message_in(provider, body);
    let reason = reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    let text = match message {
        Some(message) => format!("{} answered {status}: {message}", provider.name),
        None => format!("{shown} answered {status} {reason}")
            .trim_end()
            .to_owned(),
    };
    let excerpt = String::from_utf8_lossy(&bytes[..bytes.len().min(ERROR_EXCERPT)]).into_owned();
    StepError::new(classify_status(status), text)
        .with_status(status)
        .with_retry_after(if matches!(status, 429 | 503) {
            retry_after
        } else {
            None
        })
        .with_details(json!({ "body": excerpt }))
}

fn message_in(provider: &Provider, body: &Value) -> Option<String> {
    provider
        .errors
        .message_at
        .iter()
        .find_map(|pointer| match body.pointer(pointer)? {
            Value::String(text) if !text.is_empty() => Some(text.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        })
}

/// Failures reported with a 2xx status (Slack's `ok: false`, GraphQL's `errors`).
pub(super) fn body_error(provider: &Provider, shown: &str, body: &Value) -> Result<(), StepError> {
    let code = match provider.errors.in_body {
        BodyErrors::None => return Ok(()),
        BodyErrors::OkFalse => {
            if body.get("ok").and_then(Value::as_bool) != Some(false) {
                return Ok(());
            }
            body.get("error")
                .and_then(Value::as_str)
                .unwrap_or("unknown_error")
                .to_owned()
        }
        BodyErrors::GraphQl => {
            let Some(errors) = body
                .get("errors")
                .and_then(Value::as_array)
                .filter(|e| !e.is_empty())
            else {
                return Ok(());
            };
            let messages: Vec<&str> = errors
                .iter()
                .filter_map(|e| e.get("message").and_then(Value::as_str))
                .collect();
            let code = errors
                .iter()
                .find_map(|e| e.pointer("/extensions/code").and_then(Value::as_str))
                .unwrap_or_default();
            let class = class_of(provider, code);
            return Err(StepError::new(
                class,
                format!(
                    "{} refused the request: {}",
                    provider.name,
                    messages.join("; ")
                ),
            )
            .with_details(json!({ "errors": errors, "request": shown })));
        }
    };
    Err(StepError::new(
        class_of(provider, &code),
        format!("{} refused the request: {code}", provider.name),
    )
    .with_details(json!({ "error": code, "request": shown })))
}

fn class_of(provider: &Provider, code: &str) -> ErrorClass {
    provider
        .errors
        .codes
        .iter()
        .find(|(known, _)| known.eq_ignore_ascii_case(code))
        .map_or(ErrorClass::Validation, |(_, class)| *class)
}
