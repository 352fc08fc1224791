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
    /// An answer the page could not make sense of.
    pub fn unexpected(message: impl Into<String>) -> ApiError {
        ApiError {
            code: "unexpected".into(),
            message: message.into(),
            ..ApiError::default()
        }
    }

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
    Err(error_of(response).await)
}

/// The API's error answer as an [`ApiError`] (with `Retry-After`).
async fn error_of(response: gloo_net::http::Response) -> ApiError {
    let status = response.status();
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
    error
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

/// Where to go after signing in: `next` when it is a path on this site,
/// else the workflows. Browsers drop tabs and newlines from URLs and read
/// `\` as `/`, so `/<tab>/evil.example` or `/\evil.example` would leave the
/// site (as `//evil.example`); such values, and any that only become one
/// after another round of percent-decoding, are refused.
pub fn safe_next(next: Option<String>) -> String {
    next.filter(|next| is_local_path(next))
        .unwrap_or_else(|| "/workflows".to_owned())
}

fn is_local_path(next: &str) -> bool {
    let decoded = percent_decode(next);
    [next, decoded.as_str()].into_iter().all(|candidate| {
        candidate.starts_with('/')
            && !candidate.starts_with("//")
            && !candidate
                .chars()
                .any(|c| c == '\\' || c.is_control() || c.is_whitespace())
    })
}

/// `%XX` escapes decoded (invalid ones kept as they are).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| text.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn item10_only_local_paths_are_followed() {
        for local in ["/workflows/1", "/executions?status=failed", "/", "/a/b//c"] {
            assert_eq!(safe_next(Some(local.into())), local);
        }
        // Each leaves the site in some browser, would after one more round
        // of decoding, or is not a path at all.
        for bypass in [
            "//evil.example",
            "https://evil.example",
            "javascript:alert(1)",
            "/\\evil.example",
            "\\\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r/evil.example",
            "\t//evil.example",
            " //evil.example",
            "/ /evil.example",
            "/%09/evil.example",
            "/%2F/evil.example",
            "/%2f%2fevil.example",
            "%2F%2Fevil.example",
            "/%5Cevil.example",
            "/%5cevil.example",
            "/\u{0}/evil.example",
            "/\u{3000}/evil.example",
            "evil.example",
            "",
        ] {
            assert_eq!(safe_next(Some(bypass.into())), "/workflows", "{bypass:?}");
        }
        assert_eq!(safe_next(None), "/workflows");
    }
}

/// POSTs `body` to a streaming endpoint and hands each server-sent event
/// (`event` name, `data`) to `on_event` as it arrives; `signal` cancels.
/// An error answer (422, 429, …), or an `error` event once the stream has
/// begun, comes back as the usual [`ApiError`].
pub async fn post_events(
    path: &str,
    body: &serde_json::Value,
    signal: Option<&web_sys::AbortSignal>,
    mut on_event: impl FnMut(&str, &str),
) -> Result<(), ApiError> {
    use gloo_net::http::RequestBuilder;
    use wasm_bindgen::JsCast;
    let url = format!("/api/v1{path}");
    let response = RequestBuilder::new(&url)
        .method(gloo_net::http::Method::POST)
        .abort_signal(signal)
        .json(body)
        .map_err(ApiError::network)?
        .send()
        .await
        .map_err(ApiError::network)?;
    if !(200..300).contains(&response.status()) {
        return Err(error_of(response).await);
    }
    let stream = response
        .body()
        .ok_or_else(|| ApiError::network("the answer has no body"))?;
    let reader: web_sys::ReadableStreamDefaultReader = stream.get_reader().unchecked_into();
    let decoder = web_sys::TextDecoder::new().map_err(|_| ApiError::network("no text decoder"))?;
    let mut buffer = String::new();
    let mut failed = None;
    loop {
        let chunk = wasm_bindgen_futures::JsFuture::from(reader.read())
            .await
            .map_err(|_| ApiError::network("the stream was interrupted"))?;
        let done = js_sys::Reflect::get(&chunk, &"done".into())
            .ok()
            .and_then(|v| v.as_bool())
            .unwrap_or(true);
        if let Ok(value) = js_sys::Reflect::get(&chunk, &"value".into())
            && let Some(bytes) = value.dyn_ref::<js_sys::Uint8Array>()
        {
            let options = web_sys::TextDecodeOptions::new();
            options.set_stream(true);
            if let Ok(text) = decoder.decode_with_js_u8_array_and_options(bytes, &options) {
                buffer.push_str(&text);
            }
        }
        // Events end at a blank line.
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let mut name = "message";
            let mut data = Vec::new();
            for line in block.lines() {
                if let Some(value) = line.strip_prefix("event:") {
                    name = value.trim();
                } else if let Some(value) = line.strip_prefix("data:") {
                    data.push(value.strip_prefix(' ').unwrap_or(value));
                }
            }
            if data.is_empty() {
                continue;
            }
            let data = data.join("\n");
            if name == "error" {
                failed = Some(
                    serde_json::from_str::<ErrorBody>(&data)
                        .map(|body| body.error)
                        .unwrap_or_else(|_| ApiError::network("the stream ended with an error")),
                );
            } else {
                on_event(name, &data);
            }
        }
        if done {
            return failed.map_or(Ok(()), Err);
        }
    }
}
