//! The integrations catalogue: one module per provider, each describing
//! the API it wraps (base URL, authentication, default headers, errors,
//! limits) and its actions, declared as data wherever the API allows:
//! method, path template, body encoding and where each field goes. Every
//! action becomes a node kind `<provider>.<action>`, and every provider
//! also gets `<provider>.request`, a call to any path with the
//! connection's authentication and base URL.
//!
//! Adding an integration is one file here plus its line in [`all`].

mod call;
mod errors;
mod form;
mod github;
pub mod imported;
pub mod limits;
mod linear;
mod mailchimp;
mod node;
pub mod openapi;
mod paging;
pub mod registration;
mod resend;
mod sendgrid;
mod slack;
pub mod smtp;
mod stripe;
mod twilio;

use model::{FieldSpec, OutputField};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::{ErrorClass, StepError, nodes::Registry};

pub use call::{Body, Endpoint, test_connection};

/// The built-in providers, built once.
pub fn builtin() -> &'static [Provider] {
    static BUILTIN: std::sync::LazyLock<Vec<Provider>> = std::sync::LazyLock::new(all);
    &BUILTIN
}

/// A built-in provider by id.
pub fn find(id: &str) -> Option<&'static Provider> {
    builtin().iter().find(|p| p.id == id)
}

/// Every built-in provider, in the order the catalogue lists them.
pub fn all() -> Vec<Provider> {
    vec![
        stripe::provider(),
        slack::provider(),
        mailchimp::provider(),
        // Linear before GitHub: "open a ticket" with no provider named
        // goes to the issue tracker.
        linear::provider(),
        github::provider(),
        twilio::provider(),
        // SMTP first of the e-mail providers: "send an email" with no
        // provider named needs no third-party account.
        smtp::provider(),
        resend::provider(),
        sendgrid::provider(),
    ]
}

/// Registers each provider's actions and its custom call as node kinds.
pub fn register(registry: &mut Registry, providers: Vec<Provider>) {
    for provider in providers {
        let provider = std::sync::Arc::new(provider);
        if provider.protocol == Protocol::Smtp {
            registry.register(smtp::SendEmail::new(provider));
            continue;
        }
        for index in 0..provider.actions.len() {
            registry.register(node::ActionNode::new(provider.clone(), index));
        }
        if provider.trigger.is_some() {
            registry.register(node::TriggerNode::new(provider.clone()));
        }
        registry.register(node::RequestNode::new(provider));
    }
}

/// Catalogue text: written in the code for built-in providers, owned for
/// the ones imported from an OpenAPI document.
pub type Text = std::borrow::Cow<'static, str>;

/// An API Switchyard can call on a user's behalf.
#[derive(Clone, Debug, Serialize)]
pub struct Provider {
    /// `stripe`: the prefix of its node kinds and its connections' kind.
    pub id: Text,
    pub name: Text,
    /// `Payments`, `Chat`, `Email`, …
    pub category: Text,
    pub docs: Text,
    /// Words people use for what it does ("sms", "text message").
    pub synonyms: &'static [&'static str],
    /// Where paths start; `{field}` takes a connection value (Mailchimp's
    /// `{dc}`). A connection's own `base_url` replaces it.
    pub base_url: Text,
    pub connection: ConnectionSpec,
    /// Sent with every request (GitHub's `Accept` and API version).
    pub headers: &'static [(&'static str, &'static str)],
    /// A cheap request that succeeds when the connection works, where the
    /// API has one.
    pub test: Option<TestRequest>,
    pub rate_limit: RateLimit,
    pub errors: Errors,
    /// How it is reached: an HTTP API, or SMTP (e-mail, not an API).
    pub protocol: Protocol,
    /// Every POST carries the step's `Idempotency-Key` (Stripe).
    pub idempotent_posts: bool,
    /// How the custom call encodes a body unless told otherwise.
    pub default_encoding: Encoding,
    pub actions: Vec<Action>,
    /// Event types its trigger can filter on.
    pub events: &'static [&'static str],
    /// How its webhook deliveries are signed and typed, when it sends any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trigger: Option<TriggerSpec>,
}

/// What a provider's webhook deliveries look like: the node kind
/// `<provider>.trigger` checks their signature with `scheme` and starts
/// a run only for the event types it lists.
#[derive(Clone, Debug, Serialize)]
pub struct TriggerSpec {
    /// The signature scheme: `stripe`, `github`, `slack`, `linear` or `twilio`.
    pub scheme: &'static str,
    /// Where the signing secret is found, for the editor.
    pub secret_help: &'static str,
    /// The event type of a delivery (headers, parsed body).
    #[serde(skip)]
    pub event_of: fn(&http::HeaderMap, &Value) -> Option<String>,
    /// The provider's id for a delivery, so that a redelivery starts no
    /// second run.
    #[serde(skip)]
    pub delivery_of: fn(&http::HeaderMap, &Value) -> Option<String>,
    /// How the webhook is registered with the provider's API, where it
    /// has one (Stripe, GitHub); others are set up by hand.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration: Option<registration::Registration>,
    /// Fields of its deliveries, below `trigger.body`, for the variable
    /// picker and the AI builder's mappings.
    #[serde(skip)]
    pub payload: &'static [PayloadField],
}

/// A field of a provider's webhook deliveries.
#[derive(Clone, Copy, Debug)]
pub struct PayloadField {
    /// The events whose deliveries hold it, space separated (`customer.*`
    /// for every customer event; `*` for all).
    pub events: &'static str,
    /// The path below the delivery's body: `data.object.email`.
    pub path: &'static str,
    /// `string`, `integer`, `object`, …
    pub ty: &'static str,
    pub description: &'static str,
}

/// Shorthand for a [`PayloadField`].
pub const fn payload(
    events: &'static str,
    path: &'static str,
    ty: &'static str,
    description: &'static str,
) -> PayloadField {
    PayloadField {
        events,
        path,
        ty,
        description,
    }
}

/// A header's text, for `event_of` and `delivery_of`.
pub fn header_text(headers: &http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// A string in the body at a JSON pointer, for `event_of` and `delivery_of`.
pub fn body_text(body: &Value, pointer: &str) -> Option<String> {
    body.pointer(pointer)
        .and_then(Value::as_str)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// The provider whose trigger node kind is `kind` (`stripe.trigger`).
pub fn trigger_provider(kind: &str) -> Option<&'static Provider> {
    let id = kind.strip_suffix(".trigger")?;
    find(id).filter(|p| p.trigger.is_some())
}

/// Whether nodes of `kind` start runs from webhook deliveries.
pub fn receives_webhooks(kind: &str) -> bool {
    kind == "webhook_trigger" || trigger_provider(kind).is_some()
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    /// Declared actions and a custom API call over HTTP.
    Http,
    /// `<provider>.send_email` through an SMTP server ([`smtp`]).
    Smtp,
}

/// What a connection to the provider holds, and how it signs requests.
#[derive(Clone, Debug, Serialize)]
pub struct ConnectionSpec {
    pub fields: Vec<ConnectionField>,
    pub auth: Auth,
    /// Values computed from the others before use (Mailchimp's data
    /// centre, from the key's suffix).
    #[serde(skip)]
    pub derive: Option<fn(&mut Map<String, Value>) -> Result<(), String>>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ConnectionField {
    pub name: Text,
    pub label: Text,
    pub secret: bool,
    pub required: bool,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub help: Text,
}

impl ConnectionField {
    pub const fn secret(
        name: &'static str,
        label: &'static str,
        help: &'static str,
    ) -> ConnectionField {
        ConnectionField {
            name: Text::Borrowed(name),
            label: Text::Borrowed(label),
            secret: true,
            required: true,
            help: Text::Borrowed(help),
        }
    }

    pub const fn plain(
        name: &'static str,
        label: &'static str,
        help: &'static str,
    ) -> ConnectionField {
        ConnectionField {
            name: Text::Borrowed(name),
            label: Text::Borrowed(label),
            secret: false,
            required: true,
            help: Text::Borrowed(help),
        }
    }

    pub fn optional(mut self) -> ConnectionField {
        self.required = false;
        self
    }
}

/// Where a credential value comes from.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "snake_case", tag = "from", content = "value")]
pub enum Source {
    /// A field of the connection.
    Field(Text),
    /// Fixed text (Mailchimp accepts any user name).
    Literal(Text),
}

impl Source {
    pub const fn field(name: &'static str) -> Source {
        Source::Field(Text::Borrowed(name))
    }

    pub const fn literal(text: &'static str) -> Source {
        Source::Literal(Text::Borrowed(text))
    }
}

/// How requests carry the connection's credentials.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum Auth {
    /// Requests carry no credentials (an imported API without a scheme).
    None,
    /// `Authorization: Bearer <field>`.
    Bearer { token: Source },
    /// HTTP basic authentication.
    Basic { username: Source, password: Source },
    /// `<name>: <prefix><field>` (Linear's API keys go bare in `Authorization`).
    Header {
        name: Text,
        prefix: Text,
        value: Source,
    },
    /// `?<param>=<field>`.
    Query { param: Text, value: Source },
}

#[derive(Clone, Debug, Serialize)]
pub struct TestRequest {
    pub method: Text,
    pub path: Text,
    /// A GraphQL query or a JSON body, sent as JSON.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<Text>,
}

/// The provider's published limits, the default for its connections.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct RateLimit {
    pub per_second: f64,
    pub burst: u32,
    /// Requests in flight at once, where the provider limits that.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub concurrent: Option<u32>,
    /// Where the figure comes from.
    pub note: &'static str,
}

/// How the provider reports failures.
#[derive(Clone, Debug, Serialize)]
pub struct Errors {
    /// JSON pointers to the message in an error body, tried in order.
    pub message_at: &'static [&'static str],
    pub in_body: BodyErrors,
    /// Error codes reported in the body, by class (others are validation errors).
    pub codes: &'static [(&'static str, ErrorClass)],
}

/// Failures reported in a successful (2xx) response.
#[derive(Clone, Copy, Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BodyErrors {
    None,
    /// Slack: `{"ok": false, "error": "channel_not_found"}`.
    OkFalse,
    /// GraphQL: `{"errors": [{"message": …}]}`.
    GraphQl,
}

/// How an action's body fields are written.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "type", content = "query")]
pub enum Encoding {
    /// No body.
    None,
    Json,
    /// `application/x-www-form-urlencoded`, nested values in brackets
    /// (`metadata[plan]=pro`), as Stripe and Twilio expect.
    Form,
    /// A GraphQL document; the body fields are its variables.
    GraphQl(&'static str),
}

/// One operation of a provider.
#[derive(Clone, Debug, Serialize)]
pub struct Action {
    /// `create_customer`; the node kind is `<provider>.<name>`.
    pub name: Text,
    pub label: Text,
    pub description: Text,
    pub method: Text,
    /// `/v1/customers/{customer}`: each `{name}` is a path field (or a
    /// connection value), percent-encoded.
    pub path: Text,
    pub encoding: Encoding,
    pub fields: Vec<ActionField>,
    pub output: Vec<OutputField>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paging: Option<paging::Paging>,
    /// A JSON pointer to the part of the response that is the output
    /// (`/data/issueCreate/issue`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_at: Option<&'static str>,
    /// Code for what cannot be declared (Mailchimp's member hash): adds or
    /// changes field values before they are placed.
    #[serde(skip)]
    pub prepare: Option<fn(&mut Map<String, Value>) -> Result<(), StepError>>,
    /// Values the preparation adds (not form fields), and where they go.
    #[serde(skip)]
    pub computed: Vec<(&'static str, Place)>,
}

/// A field of an action's form, and where its value goes in the request.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct ActionField {
    #[serde(flatten)]
    pub spec: FieldSpec,
    pub place: Place,
}

#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "in", content = "name")]
pub enum Place {
    /// Fills `{name}` in the path.
    Path,
    Query,
    /// A query parameter with another name (an imported `page[size]`).
    QueryAs(Text),
    /// A body field (a GraphQL variable) named like the form field.
    Body,
    /// A body field with another name (`body` is `Body` for Twilio).
    BodyAs(Text),
    /// An object whose entries become body fields of their own.
    BodySpread,
    /// The whole body (an imported operation whose body is not an object).
    BodyWhole,
    Header(Text),
    /// Not sent: read by the action's preparation only (Mailchimp's email
    /// for the member hash of a tag request).
    Unsent,
}

impl Place {
    pub const fn body_as(name: &'static str) -> Place {
        Place::BodyAs(Text::Borrowed(name))
    }

    pub const fn header(name: &'static str) -> Place {
        Place::Header(Text::Borrowed(name))
    }
}

impl ActionField {
    pub fn new(spec: FieldSpec, place: Place) -> ActionField {
        ActionField { spec, place }
    }
}

impl Action {
    /// A JSON or form action; fields and output are added with the builders.
    pub fn new(
        name: impl Into<Text>,
        label: impl Into<Text>,
        method: impl Into<Text>,
        path: impl Into<Text>,
        encoding: Encoding,
    ) -> Action {
        Action {
            name: name.into(),
            label: label.into(),
            description: Text::Borrowed(""),
            method: method.into(),
            path: path.into(),
            encoding,
            fields: Vec::new(),
            output: Vec::new(),
            paging: None,
            result_at: None,
            prepare: None,
            computed: Vec::new(),
        }
    }

    pub fn describe(mut self, description: impl Into<Text>) -> Action {
        self.description = description.into();
        self
    }

    pub fn field(mut self, spec: FieldSpec, place: Place) -> Action {
        self.fields.push(ActionField::new(spec, place));
        self
    }

    pub fn output(mut self, fields: &[(&str, &str, &str)]) -> Action {
        self.output.extend(
            fields
                .iter()
                .map(|(name, ty, about)| OutputField::new(name, ty, about)),
        );
        self
    }

    pub fn paged(mut self, paging: paging::Paging) -> Action {
        self.paging = Some(paging);
        self
    }

    pub fn result_at(mut self, pointer: &'static str) -> Action {
        self.result_at = Some(pointer);
        self
    }

    /// Runs `prepare` on the field values before they are placed; the
    /// values it adds named in `computed` go where those say.
    pub fn prepare(
        mut self,
        prepare: fn(&mut Map<String, Value>) -> Result<(), StepError>,
        computed: &[(&'static str, Place)],
    ) -> Action {
        self.prepare = Some(prepare);
        self.computed = computed.to_vec();
        self
    }
}

impl Provider {
    pub fn action(&self, name: &str) -> Option<&Action> {
        self.actions.iter().find(|a| a.name == name)
    }

    /// Node kinds of this provider: its trigger, actions and the custom call.
    pub fn kinds(&self) -> Vec<String> {
        if self.protocol == Protocol::Smtp {
            return vec![format!("{}.send_email", self.id)];
        }
        self.trigger
            .iter()
            .map(|_| format!("{}.trigger", self.id))
            .chain(
                self.actions
                    .iter()
                    .map(|a| format!("{}.{}", self.id, a.name)),
            )
            .chain([format!("{}.request", self.id)])
            .collect()
    }
}

#[cfg(test)]
mod tests;
