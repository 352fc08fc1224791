//! SendGrid: email through v3 `mail/send`, whose body nests recipients in
//! `personalizations` and content in typed parts; the form asks for the
//! plain fields and the action builds that shape.

use model::{FieldSpec, FieldType};
use serde_json::{Map, Value, json};

use super::{
    Action, Auth, BodyErrors, ConnectionField, ConnectionSpec, Encoding, Errors, Place, Protocol,
    Provider, RateLimit, Source, TestRequest,
};
use crate::StepError;

/// `a@x, b@y` or `["a@x", "b@y"]` → `[{"email": "a@x"}, …]`.
fn addresses(value: Option<&Value>) -> Vec<Value> {
    let list: Vec<String> = match value {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        Some(Value::String(text)) => text.split(',').map(str::to_owned).collect(),
        _ => Vec::new(),
    };
    list.into_iter()
        .map(|a| a.trim().to_owned())
        .filter(|a| !a.is_empty())
        .map(|email| json!({ "email": email }))
        .collect()
}

fn mail(values: &mut Map<String, Value>) -> Result<(), StepError> {
    let to = addresses(values.get("to"));
    if to.is_empty() {
        return Err(StepError::validation("To needs at least one address"));
    }
    let mut personalization = json!({ "to": to });
    for field in ["cc", "bcc"] {
        let list = addresses(values.get(field));
        if !list.is_empty() {
            personalization[field] = Value::Array(list);
        }
    }
    let mut from =
        json!({ "email": values.get("from").and_then(Value::as_str).unwrap_or_default() });
    if let Some(name) = values.get("from_name").and_then(Value::as_str) {
        from["name"] = json!(name);
    }
    // SendGrid wants text/plain before text/html.
    let content: Vec<Value> = [("text", "text/plain"), ("html", "text/html")]
        .into_iter()
        .filter_map(|(field, ty)| {
            values
                .get(field)
                .and_then(Value::as_str)
                .map(|v| json!({ "type": ty, "value": v }))
        })
        .collect();
    if content.is_empty() {
        return Err(StepError::validation(
            "give the email a text or an HTML body",
        ));
    }
    values.insert("personalizations".into(), json!([personalization]));
    values.insert("from_object".into(), from);
    values.insert("content".into(), Value::Array(content));
    Ok(())
}

pub fn provider() -> Provider {
    Provider {
        id: "sendgrid".into(),
        name: "SendGrid".into(),
        category: "Email".into(),
        docs: "https://www.twilio.com/docs/sendgrid/api-reference".into(),
        synonyms: &[
            "email",
            "mail",
            "send email",
            "transactional email",
            "newsletter",
        ],
        base_url: "https://api.sendgrid.com".into(),
        connection: ConnectionSpec {
            fields: vec![ConnectionField::secret(
                "api_key",
                "API key",
                "SG.…, with Mail Send access",
            )],
            auth: Auth::Bearer {
                token: Source::field("api_key"),
            },
            derive: None,
        },
        headers: &[],
        test: Some(TestRequest {
            method: "GET".into(),
            path: "/v3/scopes".into(),
            body: None,
        }),
        rate_limit: RateLimit {
            per_second: 10.0,
            burst: 20,
            concurrent: None,
            note: "SendGrid's mail/send has no published per-second limit; other v3 endpoints allow about 600 requests per minute.",
        },
        errors: Errors {
            message_at: &["/errors/0/message"],
            in_body: BodyErrors::None,
            codes: &[],
        },
        protocol: Protocol::Http,
        idempotent_posts: false,
        default_encoding: Encoding::Json,
        actions: vec![
            Action::new(
                "send_email",
                "Send an email",
                "POST",
                "/v3/mail/send",
                Encoding::Json,
            )
            .describe("Sends one email (v3 mail/send).")
            .field(
                FieldSpec::new("from", "From", FieldType::text())
                    .required()
                    .help("A verified sender address."),
                Place::Unsent,
            )
            .field(
                FieldSpec::new("from_name", "From name", FieldType::text()),
                Place::Unsent,
            )
            .field(
                FieldSpec::new("to", "To", FieldType::Json)
                    .required()
                    .help("An address, several separated by commas, or a list."),
                Place::Unsent,
            )
            .field(FieldSpec::new("cc", "Cc", FieldType::Json), Place::Unsent)
            .field(FieldSpec::new("bcc", "Bcc", FieldType::Json), Place::Unsent)
            .field(
                FieldSpec::new("subject", "Subject", FieldType::text()).required(),
                Place::Body,
            )
            .field(
                FieldSpec::new("text", "Text", FieldType::Text { multiline: true }),
                Place::Unsent,
            )
            .field(
                FieldSpec::new("html", "HTML", FieldType::Text { multiline: true }),
                Place::Unsent,
            )
            .prepare(
                mail,
                &[
                    ("personalizations", Place::Body),
                    ("from_object", Place::body_as("from")),
                    ("content", Place::Body),
                ],
            )
            .output(&[
                ("status", "integer", "202 when SendGrid accepted the email."),
                (
                    "headers.x-message-id",
                    "string",
                    "SendGrid's id for the message.",
                ),
            ]),
        ],
        events: &[
            "processed",
            "delivered",
            "open",
            "click",
            "bounce",
            "dropped",
            "spamreport",
            "unsubscribe",
        ],
        trigger: None,
    }
}
