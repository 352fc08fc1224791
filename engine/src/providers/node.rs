//! Provider actions and the custom call as node kinds: the form the
//! editor shows, and a step that places each field where the action
//! declares it, sends the request, and pages through lists.

use std::sync::Arc;

use model::{Category, FieldSpec, FieldType, KindSpec, OutputField, catalogue::single_output};
use reqwest::Method;
use serde_json::{Map, Value, json};

use super::{
    Action, Encoding, Place, Provider,
    call::{Body, Call, Connected, Reply, Stop},
    paging::{self, Next},
};
use crate::{
    StepError,
    nodes::{NodeKind, Outcome, StepFuture, StepInput, http_request::plain_text},
};

/// The form field every provider step has.
fn connection_field(provider: &Provider) -> FieldSpec {
    FieldSpec::new(
        "connection",
        "Connection",
        FieldType::Connection {
            provider: provider.id.to_string(),
        },
    )
    .required()
    .help("The account this step acts as.")
}

fn max_items_field() -> FieldSpec {
    FieldSpec::new(
        "max_items",
        "Most items",
        FieldType::Integer {
            min: 1,
            max: paging::MAX_ITEMS,
        },
    )
    .default_value(json!(paging::DEFAULT_MAX_ITEMS))
    .help("Pages are fetched until this many items are collected or none are left.")
}

/// `<provider>.<action>`.
pub struct ActionNode {
    provider: Arc<Provider>,
    index: usize,
}

impl ActionNode {
    pub fn new(provider: Arc<Provider>, index: usize) -> ActionNode {
        ActionNode { provider, index }
    }

    fn action(&self) -> &Action {
        &self.provider.actions[self.index]
    }
}

impl NodeKind for ActionNode {
    fn spec(&self) -> KindSpec {
        let (provider, action) = (&*self.provider, self.action());
        let mut fields = vec![connection_field(provider)];
        fields.extend(action.fields.iter().map(|f| f.spec.clone()));
        let mut output = action.output.clone();
        if action.paging.is_some() {
            fields.push(max_items_field());
            output = vec![
                OutputField::new(
                    "items",
                    "array",
                    "The items, in the order the API lists them.",
                ),
                OutputField::new("count", "integer", "How many items there are."),
                OutputField::new(
                    "has_more",
                    "boolean",
                    "Whether the API had more than `max_items`.",
                ),
            ];
        }
        KindSpec {
            kind: format!("{}.{}", provider.id, action.name),
            label: format!("{}: {}", provider.name, action.label),
            category: Category::Integration,
            description: action.description.to_string(),
            fields,
            ports: single_output(),
            provider: Some(provider.id.to_string()),
            output,
            rules: vec![],
        }
    }

    fn run<'a>(&'a self, step: StepInput<'a>) -> StepFuture<'a> {
        Box::pin(async move { outcome(run_action(&self.provider, self.action(), &step).await) })
    }
}

/// The step's values for the action's fields, with the action's own
/// preparation applied; defaults fill what is left out, empty optional
/// values are not sent.
fn field_values(action: &Action, config: &Value) -> Result<Map<String, Value>, StepError> {
    let mut values = Map::new();
    for field in &action.fields {
        match config.get(&field.spec.name) {
            // The default a new node's form shows applies when left out.
            None | Some(Value::Null) => {
                if let Some(default) = &field.spec.default {
                    values.insert(field.spec.name.clone(), default.clone());
                }
            }
            Some(Value::String(text)) if text.is_empty() => {}
            Some(value) => {
                values.insert(field.spec.name.clone(), value.clone());
            }
        }
        if field.spec.required && !values.contains_key(&field.spec.name) {
            return Err(StepError::validation(format!(
                "{} is required",
                field.spec.label
            )));
        }
    }
    if let Some(prepare) = action.prepare {
        prepare(&mut values)?;
    }
    Ok(values)
}

fn outcome(result: Result<Value, Stop>) -> Outcome {
    match result {
        Ok(output) => Outcome::out(output),
        Err(Stop::Failed(error)) => Outcome::Failed(error),
        Err(Stop::Later(wait)) => Outcome::Defer {
            until_ms: crate::time::now_ms() + wait.as_millis() as i64,
            reason: "waiting for the connection's rate limit".into(),
        },
    }
}

async fn run_action(
    provider: &Provider,
    action: &Action,
    step: &StepInput<'_>,
) -> Result<Value, Stop> {
    let mut connected = Connected::load(step, provider).await?;
    let values = field_values(action, &step.config)?;
    let method = Method::from_bytes(action.method.as_bytes())
        .map_err(|e| StepError::internal(e.to_string()))?;
    let path = connected.endpoint.path(&action.path, &values)?;
    let mut url = connected.endpoint.url(&path)?;
    let mut headers = Vec::new();
    let mut body = Map::new();
    let mut whole_body = None;
    let places = action
        .fields
        .iter()
        .map(|f| (f.spec.name.as_str(), f.spec.label.as_str(), &f.place))
        .chain(
            action
                .computed
                .iter()
                .map(|(name, place)| (*name, *name, place)),
        );
    for (name, label, place) in places {
        let Some(value) = values.get(name) else {
            continue;
        };
        match place {
            Place::Path | Place::Unsent => {}
            Place::Query => {
                url.query_pairs_mut().append_pair(name, &plain_text(value));
            }
            Place::QueryAs(name) => {
                url.query_pairs_mut().append_pair(name, &plain_text(value));
            }
            Place::Header(name) => headers.push((name.to_string(), plain_text(value))),
            Place::Body => {
                body.insert(name.to_owned(), value.clone());
            }
            Place::BodyAs(name) => {
                body.insert(name.to_string(), value.clone());
            }
            Place::BodyWhole => whole_body = Some(value.clone()),
            Place::BodySpread => match value {
                Value::Object(entries) => body.extend(entries.clone()),
                _ => {
                    return Err(Stop::Failed(StepError::validation(format!(
                        "{label} must be an object of fields"
                    ))));
                }
            },
        }
    }
    let body = match (action.encoding, whole_body) {
        (Encoding::None, _) => Body::None,
        (Encoding::Json, Some(whole)) => Body::Json(whole),
        (Encoding::Form, Some(Value::Object(whole))) => Body::Form(whole),
        (Encoding::Form, Some(_)) => {
            return Err(Stop::Failed(StepError::validation(
                "the body must be an object of form fields",
            )));
        }
        (Encoding::Json, None) => Body::Json(Value::Object(body)),
        (Encoding::Form, None) => Body::Form(body),
        (Encoding::GraphQl(query), _) => Body::Json(json!({ "query": query, "variables": body })),
    };
    let call = Call {
        method,
        url,
        headers,
        body,
    };
    match action.paging {
        None => {
            let reply = connected.send(step, &call, true).await?;
            Ok(result_of(action, reply)?)
        }
        Some(paging) => {
            let max_items = step
                .config
                .get("max_items")
                .and_then(Value::as_i64)
                .unwrap_or(paging::DEFAULT_MAX_ITEMS)
                .clamp(1, paging::MAX_ITEMS) as usize;
            collect_pages(step, &mut connected, call, paging, max_items).await
        }
    }
}

/// The part of the answer that is the step's output; an empty answer
/// (SendGrid's 202) gives its status and headers instead.
fn result_of(action: &Action, reply: Reply) -> Result<Value, StepError> {
    if reply.body.is_null() {
        return Ok(json!({ "status": reply.status, "headers": reply.headers }));
    }
    match action.result_at {
        None => Ok(reply.body),
        Some(pointer) => reply.body.pointer(pointer).cloned().ok_or_else(|| {
            StepError::validation(format!("the response has nothing at `{pointer}`"))
                .with_details(json!({ "body": reply.body }))
        }),
    }
}

async fn collect_pages(
    step: &StepInput<'_>,
    connected: &mut Connected<'_>,
    first: Call,
    paging: paging::Paging,
    max_items: usize,
) -> Result<Value, Stop> {
    let page_size = max_items.min(paging::PAGE_SIZE).to_string();
    let mut call = first.clone();
    call.url
        .query_pairs_mut()
        .append_pair(paging.size_param(), &page_size);
    let mut items: Vec<Value> = Vec::new();
    let mut page = 1;
    loop {
        let reply = connected
            .send(step, &call, page == 1)
            .await
            .map_err(|stop| match stop {
                Stop::Failed(e) => Stop::Failed(StepError {
                    message: format!("page {page}: {}", e.message),
                    ..e
                }),
                later => later,
            })?;
        let found = paging
            .items(&reply.body)
            .map_err(|why| StepError::validation(format!("page {page}: {why}")))?;
        let next = paging
            .next(&reply.body, reply.link.as_deref(), &found)
            .map_err(|why| StepError::validation(format!("page {page}: {why}")))?;
        let room = max_items - items.len();
        let overflow = found.len() > room;
        items.extend(found.into_iter().take(room));
        let more = overflow || next != Next::Done;
        if items.len() >= max_items || next == Next::Done {
            return Ok(json!({ "items": items, "count": items.len(), "has_more": more }));
        }
        call = first.clone();
        match next {
            Next::Done => unreachable!("returned above"),
            Next::Query(pairs) => {
                let mut query = call.url.query_pairs_mut();
                query.append_pair(paging.size_param(), &page_size);
                for (name, value) in pairs {
                    query.append_pair(&name, &value);
                }
            }
            Next::Url(url) => call.url = connected.endpoint.url(&url)?,
        }
        page += 1;
    }
}

/// `<provider>.request`: any method and path, with the connection's
/// authentication and base URL.
pub struct RequestNode {
    provider: Arc<Provider>,
}

impl RequestNode {
    pub fn new(provider: Arc<Provider>) -> RequestNode {
        RequestNode { provider }
    }
}

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

impl NodeKind for RequestNode {
    fn spec(&self) -> KindSpec {
        let provider = &*self.provider;
        let default_encoding = match provider.default_encoding {
            Encoding::Form => "form",
            _ => "json",
        };
        KindSpec {
            kind: format!("{}.request", provider.id),
            label: format!("{}: custom API call", provider.name),
            category: Category::Integration,
            description: format!(
                "Calls any {} endpoint with the connection's credentials and base URL; outputs {{status, headers, body}}.",
                provider.name
            ),
            fields: vec![
                connection_field(provider),
                FieldSpec::new("method", "Method", FieldType::select(&METHODS))
                    .default_value(json!("GET")),
                FieldSpec::new("path", "Path", FieldType::text())
                    .required()
                    .help("Below the API's base URL, e.g. /v1/customers."),
                FieldSpec::new("query", "Query parameters", FieldType::KeyValue),
                FieldSpec::new("headers", "Headers", FieldType::KeyValue),
                FieldSpec::new("body", "Body", FieldType::Json),
                FieldSpec::new(
                    "body_type",
                    "Body type",
                    FieldType::select(&["json", "form"]),
                )
                .default_value(json!(default_encoding)),
            ],
            ports: single_output(),
            provider: Some(provider.id.to_string()),
            output: vec![
                OutputField::new("status", "integer", "The HTTP status."),
                OutputField::new("headers", "object", "The response headers."),
                OutputField::new(
                    "body",
                    "object",
                    "The response body, parsed when it is JSON.",
                ),
            ],
            rules: vec![],
        }
    }

    fn run<'a>(&'a self, step: StepInput<'a>) -> StepFuture<'a> {
        Box::pin(async move { outcome(custom_call(&self.provider, &step).await) })
    }
}

async fn custom_call(provider: &Provider, step: &StepInput<'_>) -> Result<Value, Stop> {
    let mut connected = Connected::load(step, provider).await?;
    let text = |name: &str| {
        step.config
            .get(name)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .trim()
            .to_owned()
    };
    let method_text = text("method");
    let method_text = if method_text.is_empty() {
        "GET".to_owned()
    } else {
        method_text.to_ascii_uppercase()
    };
    if !METHODS.contains(&method_text.as_str()) {
        return Err(Stop::Failed(StepError::validation(format!(
            "`{method_text}` is not an HTTP method"
        ))));
    }
    let method = Method::from_bytes(method_text.as_bytes())
        .map_err(|e| StepError::validation(e.to_string()))?;
    let path = text("path");
    if !path.starts_with('/') {
        return Err(Stop::Failed(StepError::validation(
            "the path must start with /",
        )));
    }
    let mut url = connected.endpoint.url(&path)?;
    if let Some(query) = step.config.get("query").and_then(Value::as_object) {
        let mut pairs = url.query_pairs_mut();
        for (name, value) in query {
            pairs.append_pair(name, &plain_text(value));
        }
    }
    let headers = step
        .config
        .get("headers")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(name, value)| (name.clone(), plain_text(value)))
        .collect();
    let form = match text("body_type").as_str() {
        "form" => true,
        "json" => false,
        _ => provider.default_encoding == Encoding::Form,
    };
    let body = match step.config.get("body") {
        None | Some(Value::Null) => Body::None,
        Some(Value::Object(fields)) if form => Body::Form(fields.clone()),
        Some(_) if form => {
            return Err(Stop::Failed(StepError::validation(
                "a form body must be an object of fields",
            )));
        }
        Some(value) => Body::Json(value.clone()),
    };
    let reply = connected
        .send(
            step,
            &Call {
                method,
                url,
                headers,
                body,
            },
            true,
        )
        .await?;
    Ok(json!({ "status": reply.status, "headers": reply.headers, "body": reply.body }))
}

/// `<provider>.trigger`: starts a run when the provider delivers one of
/// the chosen event types to the workflow's webhook URL, signed with the
/// provider's scheme.
pub struct TriggerNode {
    provider: Arc<Provider>,
}

impl TriggerNode {
    pub fn new(provider: Arc<Provider>) -> TriggerNode {
        TriggerNode { provider }
    }
}

/// A trigger's output: the event, the delivery and the fields the
/// provider's deliveries are known to hold.
fn trigger_output(provider: &Provider) -> Vec<OutputField> {
    let mut output = vec![
        OutputField::new("event", "string", "The event type."),
        OutputField::new("body", "object", "The delivery as the provider sent it."),
        OutputField::new("headers", "object", ""),
    ];
    let payload = provider.trigger.as_ref().map_or(&[][..], |t| t.payload);
    output.extend(payload.iter().map(|field| {
        OutputField {
            events: field
                .events
                .split_whitespace()
                .filter(|e| *e != "*")
                .map(str::to_owned)
                .collect(),
            ..OutputField::new(&format!("body.{}", field.path), field.ty, field.description)
        }
    }));
    output
}

impl NodeKind for TriggerNode {
    fn spec(&self) -> KindSpec {
        let provider = &*self.provider;
        let help = provider.trigger.as_ref().map_or("", |t| t.secret_help);
        let registration = provider
            .trigger
            .as_ref()
            .and_then(|t| t.registration.as_ref());
        let mut fields = vec![
            FieldSpec::new(
                "events",
                "Events",
                FieldType::MultiSelect {
                    options: provider.events.iter().map(|e| e.to_string()).collect(),
                },
            )
            .required(),
        ];
        match registration {
            Some(registration) => {
                fields
                    .push(FieldSpec::new("secret", "Signing secret", FieldType::Secret).help(help));
                fields.push(
                    FieldSpec::new(
                        "connection",
                        "Register with",
                        FieldType::Connection {
                            provider: provider.id.to_string(),
                        },
                    )
                    .help("Instead of a secret: on activation the webhook is registered with this connection (and removed on pause or delete)."),
                );
                for (name, label) in registration.fields {
                    fields.push(
                        FieldSpec::new(name, label, FieldType::text())
                            .help("Where the webhook is registered."),
                    );
                }
            }
            None => fields.push(
                FieldSpec::new("secret", "Signing secret", FieldType::Secret)
                    .required()
                    .help(help),
            ),
        }
        KindSpec {
            kind: format!("{}.trigger", provider.id),
            label: format!("{}: Event", provider.name),
            category: Category::Trigger,
            description: format!(
                "Starts when {} sends one of the chosen events to the workflow's webhook URL; the delivery becomes `trigger` (its type in `trigger.event`).",
                provider.name
            ),
            fields,
            ports: single_output(),
            provider: Some(provider.id.to_string()),
            output: trigger_output(provider),
            rules: vec![],
        }
    }

    fn is_pure(&self) -> bool {
        true
    }

    fn run<'a>(&'a self, step: StepInput<'a>) -> StepFuture<'a> {
        crate::nodes::triggers::pass_payload(step)
    }
}
