//! Calling the REST API from the browser, and reading its errors.

use serde::{Deserialize, Serialize, de::DeserializeOwned};

/// The `error` of an API error response.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
pub struct ApiError {
    pub code: String,
    pub message: String,
    #[serde(default)]
    pub fields: Vec<FieldError>,
    /// From `Retry-After` on 429.
    #[serde(skip)]
    pub retry_after_secs: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
    #[serde(default)]
    pub node_id: Option<String>,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ApiError,
}

impl ApiError {
    fn network(message: impl std::fmt::Display) -> ApiError {
        ApiError {
            code: "network".into(),
            message: format!("Switchyard could not be reached: {message}"),
            ..ApiError::default()
        }
    }

    /// The message with every field it names: "invalid (url: required)".
    pub fn describe(&self) -> String {
        if self.fields.is_empty() {
            return self.message.clone();
        }
        let fields: Vec<String> = self
            .fields
            .iter()
            .map(|f| format!("{}: {}", f.field, f.message))
            .collect();
        format!("{} ({})", self.message, fields.join("; "))
    }

    /// The message for `field`, if the error names it.
    pub fn field(&self, field: &str) -> Option<String> {
        self.fields
            .iter()
            .find(|f| f.field == field)
            .map(|f| f.message.clone())
    }
}

/// Sends a JSON request to `/api/v1{path}` and reads a JSON answer (or
/// nothing, for 204). Cookies go along: the browser is signed in.
pub async fn call<T: DeserializeOwned>(
    method: &str,
    path: &str,
    body: Option<&serde_json::Value>,
) -> Result<T, ApiError> {
    send(method, path, body, None).await
}

/// Saves over version `version` only (`If-Match`): a save over someone
/// else's newer save fails with 409 instead of losing it.
pub async fn call_if_match<T: DeserializeOwned>(
    method: &str,
    path: &str,
    body: &serde_json::Value,
    version: i32,
) -> Result<T, ApiError> {
    send(method, path, Some(body), Some(version)).await
}

async fn send<T: DeserializeOwned>(
    method: &str,
    path: &str,
    body: Option<&serde_json::Value>,
    if_match: Option<i32>,
) -> Result<T, ApiError> {
    use gloo_net::http::RequestBuilder;
    let url = format!("/api/v1{path}");
    let mut builder =
        RequestBuilder::new(&url).method(method.parse().unwrap_or(gloo_net::http::Method::GET));
    if let Some(version) = if_match {
        builder = builder.header("If-Match", &format!("\"{version}\""));
    }
    let request = match body {
        Some(body) => builder.json(body).map_err(ApiError::network)?,
        None => builder.build().map_err(ApiError::network)?,
    };
    let response = request.send().await.map_err(ApiError::network)?;
    let status = response.status();
    if (200..300).contains(&status) {
        let text = response.text().await.map_err(ApiError::network)?;
        let text = if text.trim().is_empty() {
            "null"
        } else {
            text.as_str()
        };
        return serde_json::from_str(text)
            .map_err(|e| ApiError::network(format!("unexpected answer: {e}")));
    }
    let retry_after_secs = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.parse().ok());
    let mut error = response
        .json::<ErrorBody>()
        .await
        .map(|body| body.error)
        .unwrap_or_else(|_| ApiError {
            code: "http".into(),
            message: format!("the server answered {status}"),
            ..ApiError::default()
        });
    error.retry_after_secs = retry_after_secs;
    Err(error)
}

/// Whether a server function failed because what it looked for is missing
/// (or someone else's, which looks the same).
pub fn is_not_found(error: &leptos::prelude::ServerFnError) -> bool {
    error.to_string().ends_with("not found")
}

/// Goes to `path` with a full page load (after signing in or out, so that
/// every part of the page sees the new account).
pub fn reload_to(path: &str) {
    if let Some(window) = web_sys::window() {
        let _ = window.location().assign(path);
    }
}

/// Only same-site paths are followed after sign-in (no open redirects).
pub fn safe_next(next: Option<String>) -> String {
    match next {
        Some(next)
            if next.starts_with('/') && !next.starts_with("//") && !next.starts_with("/\\") =>
        {
            next
        }
        _ => "/workflows".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(safe_next(Some("/workflows/1".into())), "/workflows/1");
        assert_eq!(safe_next(Some("//evil.example".into())), "/workflows");
        assert_eq!(safe_next(Some("https://evil.example".into())), "/workflows");
        assert_eq!(safe_next(Some("/\\evil.example".into())), "/workflows");
        assert_eq!(safe_next(None), "/workflows");
    }
}
