//! Registering a workflow's webhook with the provider on activation (and
//! removing it on pause or delete), with the trigger's connection: Stripe's
//! `webhook_endpoints` (which answers with the signing secret) and GitHub's
//! repository hooks (which take a secret Switchyard makes).

use reqwest::Method;
use serde::Serialize;
use serde_json::{Map, Value};

use super::{
    Provider,
    call::{Body, Call, Endpoint, Sender},
};
use crate::{StepError, credentials::Credential, nodes::StepLog, outbound::OutboundClient};

/// What a registration request is made of.
pub struct HookRequest<'a> {
    /// The workflow's webhook URL.
    pub url: &'a str,
    pub events: &'a [String],
    /// The signing secret Switchyard made, for providers that take one.
    pub secret: &'a str,
}

#[derive(Clone, Debug, Serialize)]
pub struct Registration {
    /// Trigger fields the provider's hook API needs (GitHub's owner and repo).
    pub fields: &'static [(&'static str, &'static str)],
    /// The path (a template over those fields) to POST the hook to.
    pub path: &'static str,
    /// The body creating the hook.
    #[serde(skip)]
    pub body: fn(&HookRequest<'_>) -> Body,
    /// Where the answer holds the hook's id.
    pub id_at: &'static str,
    /// Where the answer holds the signing secret (Stripe); without it the
    /// secret Switchyard sent is the one.
    pub secret_at: Option<&'static str>,
    /// The path (a template over the fields and `{id}`) to DELETE it.
    pub delete: &'static str,
}

/// A hook the provider created.
#[derive(Clone, Debug, PartialEq)]
pub struct Registered {
    pub remote_id: String,
    pub secret: String,
}

fn registration(provider: &Provider) -> Result<&Registration, StepError> {
    provider
        .trigger
        .as_ref()
        .and_then(|t| t.registration.as_ref())
        .ok_or_else(|| {
            StepError::validation(format!(
                "{} webhooks are set up in {}'s settings: paste the signing secret instead",
                provider.name, provider.name
            ))
        })
}

fn text(fields: &Map<String, Value>, name: &str) -> Option<String> {
    fields
        .get(name)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// Creates the hook; `fields` are the trigger's config.
pub async fn register(
    http: &OutboundClient,
    provider: &Provider,
    credential: Credential,
    url: &str,
    events: &[String],
    fields: &Map<String, Value>,
) -> Result<Registered, StepError> {
    let registration = registration(provider)?;
    for (name, label) in registration.fields {
        if text(fields, name).is_none() {
            return Err(StepError::validation(format!(
                "{label} is needed to register the webhook"
            )));
        }
    }
    let endpoint = Endpoint::new(provider, credential)?;
    let made = new_secret();
    let hook = HookRequest {
        url,
        events,
        secret: &made,
    };
    let call = Call {
        method: Method::POST,
        url: endpoint.url(&endpoint.path(registration.path, fields)?)?,
        headers: Vec::new(),
        body: (registration.body)(&hook),
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
    let found = |pointer: &str| match reply.body.pointer(pointer) {
        Some(Value::String(text)) => Some(text.clone()),
        Some(Value::Number(number)) => Some(number.to_string()),
        _ => None,
    };
    let remote_id = found(registration.id_at).ok_or_else(|| {
        StepError::validation(format!("{} answered without the hook's id", provider.name))
    })?;
    let secret = match registration.secret_at {
        Some(pointer) => found(pointer).ok_or_else(|| {
            StepError::validation(format!(
                "{} answered without a signing secret",
                provider.name
            ))
        })?,
        None => made,
    };
    Ok(Registered { remote_id, secret })
}

/// Removes the hook `remote_id`; one that is gone already counts as removed.
pub async fn unregister(
    http: &OutboundClient,
    provider: &Provider,
    credential: Credential,
    remote_id: &str,
    fields: &Map<String, Value>,
) -> Result<(), StepError> {
    let registration = registration(provider)?;
    let endpoint = Endpoint::new(provider, credential)?;
    let mut values = fields.clone();
    values.insert("id".into(), Value::String(remote_id.to_owned()));
    let call = Call {
        method: Method::DELETE,
        url: endpoint.url(&endpoint.path(registration.delete, &values)?)?,
        headers: Vec::new(),
        body: Body::None,
    };
    let log = StepLog::default();
    let sender = Sender {
        http,
        key: None,
        log: &log,
        metrics: None,
    };
    match sender.send(&endpoint, &call).await {
        Err(error) if error.status == Some(404) => Ok(()),
        done => done.map(drop),
    }
}

/// 32 random bytes, hex.
fn new_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
