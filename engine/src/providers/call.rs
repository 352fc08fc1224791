//! One call to a provider: the base URL and credentials of a connection,
//! the provider's default headers, a bounded read of the answer, and the
//! provider's own way of saying something failed.

use std::time::{Duration, Instant};

use reqwest::{Method, Url};
use serde_json::{Map, Value, json};

use tokio::sync::OwnedSemaphorePermit;

use super::{
    Auth, Provider, Source, errors, form,
    limits::{Limit, Slot},
};
use crate::{
    ErrorClass, StepError,
    credentials::Credential,
    nodes::{
        StepInput, StepLog,
        http_request::{self, apply_credential, plain_text},
    },
    outbound::OutboundClient,
    redact,
};

/// How long a provider call may take.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// A provider as one connection reaches it: where requests go and how
/// they are signed.
#[derive(Clone, Debug)]
pub struct Endpoint<'p> {
    pub provider: &'p Provider,
    base: String,
    credential: Credential,
    /// The connection's fields with the derived ones, for path templates.
    values: Map<String, Value>,
}

impl<'p> Endpoint<'p> {
    /// Checks that `credential` is for this provider (or a generic kind
    /// such as an OAuth 2 token) and works out the base URL.
    pub fn new(provider: &'p Provider, credential: Credential) -> Result<Endpoint<'p>, StepError> {
        let generic = matches!(
            credential.kind.as_str(),
            "bearer" | "basic" | "header" | "oauth2"
        );
        if credential.kind != provider.id && !generic {
            return Err(StepError::validation(format!(
                "this is a {} connection; {} steps need a {} connection",
                credential.kind, provider.name, provider.name
            )));
        }
        let mut values = credential.fields.clone();
        if credential.kind == provider.id
            && let Some(derive) = provider.connection.derive
        {
            derive(&mut values).map_err(StepError::validation)?;
        }
        let base = match values
            .get("base_url")
            .and_then(Value::as_str)
            .filter(|u| !u.trim().is_empty())
        {
            Some(own) => own.trim().to_owned(),
            None => fill(&provider.base_url, &values, |v| v.to_owned()).map_err(|name| {
                StepError::validation(format!("the connection has no `{name}` for the base URL"))
            })?,
        };
        Ok(Endpoint {
            provider,
            base,
            credential,
            values,
        })
    }

    /// The provider's published limit, or the connection's own
    /// (`rate_per_second`, `rate_burst`).
    pub fn limit(&self) -> Limit {
        let mut limit = Limit::from(self.provider.rate_limit);
        let number = |name: &str| {
            self.values
                .get(name)
                .map(plain_text)
                .and_then(|v| v.trim().parse::<f64>().ok())
        };
        if let Some(rate) = number("rate_per_second").filter(|r| *r > 0.0) {
            limit.per_second = rate;
        }
        if let Some(burst) = number("rate_burst").filter(|b| *b >= 1.0) {
            limit.burst = burst.min(1_000_000.0) as u32;
        }
        limit
    }

    /// The connection as loaded.
    pub fn credential(&self) -> &Credential {
        &self.credential
    }

    /// A connection value by name (Twilio's account SID goes in paths).
    pub fn value(&self, name: &str) -> Option<&Value> {
        self.values.get(name)
    }

    /// The full URL of `path` (which starts with `/`), or `path` itself
    /// when it is already absolute on the same origin (a `Link` header).
    pub fn url(&self, path: &str) -> Result<Url, StepError> {
        let base = Url::parse(&self.base).map_err(|e| {
            StepError::validation(format!(
                "the base URL `{}` is not valid: {e}",
                redact::text(&self.base)
            ))
        })?;
        let url = if path.starts_with("http://") || path.starts_with("https://") {
            let url =
                Url::parse(path).map_err(|e| StepError::validation(format!("invalid URL: {e}")))?;
            if url.origin() != base.origin() {
                return Err(StepError::validation(format!(
                    "{} answered with a link to another host ({})",
                    self.provider.name,
                    redact::url(&url)
                )));
            }
            url
        } else {
            let joined = format!(
                "{}/{}",
                self.base.trim_end_matches('/'),
                path.trim_start_matches('/')
            );
            Url::parse(&joined).map_err(|e| StepError::validation(format!("invalid URL: {e}")))?
        };
        Ok(url)
    }

    /// Adds the provider's default headers and the credentials.
    fn sign(
        &self,
        mut request: reqwest::RequestBuilder,
    ) -> Result<reqwest::RequestBuilder, StepError> {
        for (name, value) in self.provider.headers {
            request = request.header(*name, *value);
        }
        if self.credential.kind != self.provider.id {
            return apply_credential(request, &self.credential);
        }
        let read = |source: &Source| -> Result<String, StepError> {
            match source {
                Source::Literal(text) => Ok(text.to_string()),
                Source::Field(name) => self
                    .values
                    .get(name.as_ref())
                    .map(plain_text)
                    .filter(|v| !v.is_empty())
                    .ok_or_else(|| {
                        StepError::validation(format!("the connection has no `{name}`"))
                    }),
            }
        };
        Ok(match &self.provider.connection.auth {
            Auth::None => request,
            Auth::Bearer { token } => request.bearer_auth(read(token)?),
            Auth::Basic { username, password } => {
                request.basic_auth(read(username)?, Some(read(password)?))
            }
            Auth::Header {
                name,
                prefix,
                value,
            } => request.header(name.as_ref(), format!("{prefix}{}", read(value)?)),
            Auth::Query { param, value } => request.query(&[(param.as_ref(), read(value)?)]),
        })
    }

    /// Fills `{name}` in a path from `fields`, then from the connection.
    pub fn path(&self, template: &str, fields: &Map<String, Value>) -> Result<String, StepError> {
        let mut both = self.values.clone();
        both.extend(fields.clone());
        fill(template, &both, encode_segment)
            .map_err(|name| StepError::validation(format!("`{name}` is required")))
    }
}

/// Replaces each `{name}` in `template` with `encode(value)`; the name of
/// the first value missing is the error.
fn fill(
    template: &str,
    values: &Map<String, Value>,
    encode: impl Fn(&str) -> String,
) -> Result<String, String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let Some(end) = rest[start..].find('}') else {
            break;
        };
        let name = &rest[start + 1..start + end];
        let value = values
            .get(name)
            .map(plain_text)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| name.to_owned())?;
        out.push_str(&rest[..start]);
        out.push_str(&encode(&value));
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn encode_segment(value: &str) -> String {
    const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(value, SEGMENT).to_string()
}

/// A body as it is sent.
#[derive(Clone, Debug, PartialEq)]
pub enum Body {
    None,
    Json(Value),
    Form(Map<String, Value>),
}

/// A request before it is signed.
#[derive(Clone, Debug)]
pub struct Call {
    pub method: Method,
    pub url: Url,
    pub headers: Vec<(String, String)>,
    pub body: Body,
}

/// A provider's answer, read and parsed.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Value,
    pub body: Value,
    pub link: Option<String>,
}

/// Why a provider step did not finish now.
#[derive(Debug)]
pub enum Stop {
    Failed(StepError),
    /// Its connection's rate limit gave it a slot this much later.
    Later(std::time::Duration),
}

impl From<StepError> for Stop {
    fn from(error: StepError) -> Stop {
        Stop::Failed(error)
    }
}

/// A step's connection, loaded, with what is needed to renew it.
pub struct Connected<'p> {
    pub id: uuid::Uuid,
    pub endpoint: Endpoint<'p>,
    limit: Limit,
}

impl<'p> Connected<'p> {
    /// Loads the connection named in the step's `connection` field.
    pub async fn load(
        step: &StepInput<'_>,
        provider: &'p Provider,
    ) -> Result<Connected<'p>, StepError> {
        let text = step
            .config
            .get("connection")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .ok_or_else(|| {
                StepError::validation(format!(
                    "choose a {} connection for this step",
                    provider.name
                ))
            })?;
        let id = uuid::Uuid::parse_str(text)
            .map_err(|_| StepError::validation(format!("`{text}` is not a connection id")))?;
        let credential = step.services.credentials.load(step.owner_id, id).await?;
        let endpoint = Endpoint::new(provider, credential)?;
        let limit = endpoint.limit();
        Ok(Connected {
            id,
            endpoint,
            limit,
        })
    }

    /// Waits for the connection's next request slot: in place when it is
    /// near, else (`Stop::Later`, when `may_defer`) the step is put back
    /// until its slot, holding no worker.
    pub async fn take_turn(
        &self,
        step: &StepInput<'_>,
        may_defer: bool,
    ) -> Result<Option<OwnedSemaphorePermit>, Stop> {
        loop {
            let wait = match step
                .services
                .limits
                .acquire(self.id, self.limit, step.step_key)
                .await
            {
                Slot::Now(permit) => return Ok(permit),
                Slot::Later(wait) => wait,
            };
            let provider = crate::metrics::provider_label(&self.endpoint.provider.id);
            step.services.metrics.rate_limit_wait(provider);
            if may_defer {
                return Err(Stop::Later(wait));
            }
            step.log.line(format!(
                "waiting {} ms for the connection's rate limit",
                wait.as_millis()
            ));
            tokio::time::sleep(wait).await;
        }
    }

    /// Sends `call`; a token the provider refuses is renewed once (OAuth 2)
    /// and the call made again.
    ///
    /// The first call of a step may put it back to wait for its rate-limit
    /// slot (`first`); later ones (pages) wait in place.
    pub async fn send(
        &mut self,
        step: &StepInput<'_>,
        call: &Call,
        first: bool,
    ) -> Result<Reply, Stop> {
        let _in_flight = self.take_turn(step, first).await?;
        let sender = Sender {
            http: &step.services.http,
            key: Some(step.step_key),
            log: &step.log,
            metrics: Some(&step.services.metrics),
        };
        let sent = match sender.send(&self.endpoint, call).await {
            Err(error)
                if error.class == ErrorClass::Auth && self.endpoint.credential.refreshable() =>
            {
                let renewed = step
                    .services
                    .credentials
                    .refresh(step.owner_id, self.id)
                    .await?;
                self.endpoint = Endpoint::new(self.endpoint.provider, renewed)?;
                step.log.line(format!(
                    "{} refused the token; renewed the connection's token and tried again",
                    self.endpoint.provider.name
                ));
                sender.send(&self.endpoint, call).await
            }
            done => done,
        };
        if let Err(error) = &sent
            && error.status == Some(429)
        {
            // Everyone using the connection backs off, not only this step.
            let wait = error.retry_after_ms.unwrap_or(1_000).min(60_000);
            step.services
                .limits
                .pause(self.id, std::time::Duration::from_millis(wait));
        }
        Ok(sent?)
    }
}

/// Calls the provider's cheap test request with `credential`: the
/// provider's own answer, or its error (a Slack `ok: false` included).
pub async fn test_connection(
    http: &OutboundClient,
    provider: &Provider,
    credential: Credential,
) -> Result<Value, StepError> {
    if provider.protocol == super::Protocol::Smtp {
        return super::smtp::test(&http.policy, &credential).await;
    }
    let Some(test) = &provider.test else {
        return Err(StepError::validation(format!(
            "{} has no request that can test a connection without side effects; run a step instead",
            provider.name
        )));
    };
    let endpoint = Endpoint::new(provider, credential)?;
    let path = endpoint.path(&test.path, &Map::new())?;
    let body = match &test.body {
        Some(text) => {
            Body::Json(serde_json::from_str(text).map_err(|e| StepError::internal(e.to_string()))?)
        }
        None => Body::None,
    };
    let call = Call {
        method: Method::from_bytes(test.method.as_bytes())
            .map_err(|e| StepError::internal(e.to_string()))?,
        url: endpoint.url(&path)?,
        headers: Vec::new(),
        body,
    };
    let log = StepLog::default();
    let reply = Sender {
        http,
        key: None,
        log: &log,
        metrics: None,
    }
    .send(&endpoint, &call)
    .await?;
    Ok(json!({ "status": reply.status, "body": reply.body }))
}

/// Sends calls for a step (or a connection test).
pub(super) struct Sender<'a> {
    pub(super) http: &'a OutboundClient,
    /// The step's idempotency key, for providers that take one.
    pub(super) key: Option<&'a str>,
    pub(super) log: &'a StepLog,
    /// Counts the call (steps; connection tests and registrations are not counted).
    pub(super) metrics: Option<&'a crate::metrics::Metrics>,
}

impl Sender<'_> {
    pub(super) async fn send(
        &self,
        endpoint: &Endpoint<'_>,
        call: &Call,
    ) -> Result<Reply, StepError> {
        let http = self.http;
        http.policy
            .check_url(&call.url)
            .map_err(|refused| StepError::validation(refused.to_string()))?;
        let mut request = http
            .client
            .request(call.method.clone(), call.url.clone())
            .timeout(TIMEOUT);
        for (name, value) in &call.headers {
            request = request.header(name.as_str(), value.as_str());
        }
        if endpoint.provider.idempotent_posts
            && call.method == Method::POST
            && let Some(key) = self.key
        {
            request = request.header("Idempotency-Key", key);
        }
        request = endpoint.sign(request)?;
        request = match &call.body {
            Body::None => request,
            Body::Json(value) => request.json(value),
            Body::Form(fields) => request
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                )
                .body(form::encode(fields)),
        };
        let request = request
            .build()
            .map_err(|e| StepError::validation(format!("invalid request: {}", e.without_url())))?;
        let shown = format!(
            "{} {}{}",
            call.method,
            call.url.origin().ascii_serialization(),
            call.url.path()
        );
        let started = Instant::now();
        let sent = http.send(request).await;
        if let Some(metrics) = self.metrics {
            let status = sent.as_ref().ok().map(|r| r.status().as_u16());
            metrics.outbound(
                crate::metrics::provider_label(&endpoint.provider.id),
                status,
            );
        }
        let mut response = sent.map_err(|e| http_request::outbound_error(e, TIMEOUT))?;
        let status = response.status().as_u16();
        let headers = http_request::header_map(response.headers());
        let link = response
            .headers()
            .get(reqwest::header::LINK)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let retry_after = http_request::retry_after(response.headers());
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_ascii_lowercase();
        let (bytes, cut) = http_request::read_body(&mut response, TIMEOUT).await?;
        self.log.line(format!(
            "{shown} → {status} in {} ms",
            started.elapsed().as_millis()
        ));
        let body =
            http_request::parse_body(&content_type, &bytes, cut, call.method == Method::HEAD);
        if status >= 400 {
            return Err(errors::status_error(
                endpoint.provider,
                &shown,
                status,
                &body,
                &bytes,
                retry_after,
            ));
        }
        errors::body_error(endpoint.provider, &shown, &body)?;
        Ok(Reply {
            status,
            headers,
            body,
            link,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_take_values_and_name_what_is_missing() {
        let values = serde_json::json!({"list_id": "a/b c", "n": 7});
        let values = values.as_object().unwrap();
        assert_eq!(
            fill("/lists/{list_id}/members/{n}", values, encode_segment).unwrap(),
            "/lists/a%2Fb%20c/members/7"
        );
        assert_eq!(
            fill("/x/{missing}", values, encode_segment).unwrap_err(),
            "missing"
        );
    }
}
