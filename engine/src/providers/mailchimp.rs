//! Mailchimp Marketing: audience members. The data centre in the base URL
//! comes from the API key's suffix (`…-us21`), and members are addressed
//! by the MD5 hash of their lower-cased email address.

use md5::{Digest, Md5};
use model::{FieldSpec, FieldType};
use serde_json::{Map, Value, json};

use super::{
    Action, Auth, BodyErrors, ConnectionField, ConnectionSpec, Encoding, Errors, Place, Protocol,
    Provider, RateLimit, Source, TestRequest,
};
use crate::StepError;

const STATUSES: [&str; 5] = [
    "subscribed",
    "unsubscribed",
    "cleaned",
    "pending",
    "transactional",
];

/// The data centre is what follows the last `-` of the key.
fn data_centre(values: &mut Map<String, Value>) -> Result<(), String> {
    if values
        .get("dc")
        .and_then(Value::as_str)
        .is_some_and(|dc| !dc.is_empty())
    {
        return Ok(());
    }
    let key = values
        .get("api_key")
        .and_then(Value::as_str)
        .unwrap_or_default();
    match key.rsplit_once('-') {
        Some((_, dc)) if !dc.is_empty() && dc.chars().all(|c| c.is_ascii_alphanumeric()) => {
            values.insert("dc".into(), json!(dc));
            Ok(())
        }
        _ => Err("a Mailchimp API key ends in its data centre, such as -us21".into()),
    }
}

/// Mailchimp's id for a member: the MD5 of the lower-cased address.
pub fn subscriber_hash(email: &str) -> String {
    format!("{:x}", Md5::digest(email.trim().to_lowercase().as_bytes()))
}

fn add_hash(values: &mut Map<String, Value>) -> Result<(), StepError> {
    let email = values
        .get("email_address")
        .and_then(Value::as_str)
        .filter(|e| e.contains('@'))
        .ok_or_else(|| StepError::validation("Email address must be an email address"))?;
    let hash = subscriber_hash(email);
    values.insert("subscriber_hash".into(), json!(hash));
    Ok(())
}

/// Tags given as names (a list or comma-separated text) become Mailchimp's
/// `{name, status}` objects.
fn tag_request(values: &mut Map<String, Value>) -> Result<(), StepError> {
    add_hash(values)?;
    let names = |field: &str| -> Vec<String> {
        match values.get(field) {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|i| match i {
                    Value::String(s) => Some(s.trim().to_owned()),
                    Value::Null => None,
                    other => Some(other.to_string()),
                })
                .filter(|s| !s.is_empty())
                .collect(),
            Some(Value::String(text)) => text
                .split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect(),
            _ => Vec::new(),
        }
    };
    let mut tags: Vec<Value> = names("tags")
        .into_iter()
        .map(|n| json!({"name": n, "status": "active"}))
        .collect();
    tags.extend(
        names("remove_tags")
            .into_iter()
            .map(|n| json!({"name": n, "status": "inactive"})),
    );
    if tags.is_empty() {
        return Err(StepError::validation(
            "name at least one tag to add or remove",
        ));
    }
    values.insert("tag_objects".into(), Value::Array(tags));
    Ok(())
}

fn list_id() -> FieldSpec {
    FieldSpec::new("list_id", "Audience id", FieldType::text())
        .required()
        .help("The audience (list) id, under Audience → Settings.")
}

fn email() -> FieldSpec {
    FieldSpec::new("email_address", "Email address", FieldType::text()).required()
}

pub fn provider() -> Provider {
    Provider {
        id: "mailchimp".into(),
        name: "Mailchimp".into(),
        category: "Marketing".into(),
        docs: "https://mailchimp.com/developer/marketing/api/".into(),
        synonyms: &[
            "newsletter",
            "email",
            "mailing list",
            "audience",
            "subscriber",
            "marketing",
            "campaign",
        ],
        base_url: "https://{dc}.api.mailchimp.com/3.0".into(),
        connection: ConnectionSpec {
            fields: vec![ConnectionField::secret(
                "api_key",
                "API key",
                "Account → Extras → API keys; it ends in your data centre (-us21)",
            )],
            auth: Auth::Basic {
                username: Source::literal("switchyard"),
                password: Source::field("api_key"),
            },
            derive: Some(data_centre),
        },
        headers: &[],
        test: Some(TestRequest {
            method: "GET".into(),
            path: "/ping".into(),
            body: None,
        }),
        rate_limit: RateLimit {
            per_second: 10.0,
            burst: 10,
            concurrent: Some(10),
            note: "Mailchimp allows 10 simultaneous connections per account.",
        },
        errors: Errors {
            message_at: &["/detail", "/title"],
            in_body: BodyErrors::None,
            codes: &[],
        },
        protocol: Protocol::Http,
        idempotent_posts: false,
        default_encoding: Encoding::Json,
        actions: vec![
            Action::new(
                "add_member",
                "Add or update a member",
                "PUT",
                "/lists/{list_id}/members/{subscriber_hash}",
                Encoding::Json,
            )
            .describe("Adds someone to an audience, or updates them if they are already in it.")
            .field(list_id(), Place::Path)
            .field(email(), Place::Body)
            .field(
                FieldSpec::new(
                    "status_if_new",
                    "Status if new",
                    FieldType::select(&STATUSES),
                )
                .default_value(json!("subscribed")),
                Place::Body,
            )
            .field(
                FieldSpec::new("status", "Status", FieldType::select(&STATUSES))
                    .help("Also changes the status of someone already in the audience."),
                Place::Body,
            )
            .field(
                FieldSpec::new("merge_fields", "Merge fields", FieldType::KeyValue)
                    .help("FNAME, LNAME, and your audience's own fields."),
                Place::Body,
            )
            .field(
                FieldSpec::new("language", "Language", FieldType::text()),
                Place::Body,
            )
            .prepare(add_hash, &[])
            .output(&[
                ("id", "string", "The member's id (the hash of the address)."),
                ("email_address", "string", ""),
                ("status", "string", ""),
                ("merge_fields", "object", ""),
                ("list_id", "string", ""),
                ("tags", "array", ""),
            ]),
            Action::new(
                "tag_member",
                "Tag a member",
                "POST",
                "/lists/{list_id}/members/{subscriber_hash}/tags",
                Encoding::Json,
            )
            .describe("Adds tags to an audience member, or removes them.")
            .field(list_id(), Place::Path)
            .field(email(), Place::Unsent)
            .field(
                FieldSpec::new("tags", "Tags to add", FieldType::Json)
                    .help("A list of names, or names separated by commas."),
                Place::Unsent,
            )
            .field(
                FieldSpec::new("remove_tags", "Tags to remove", FieldType::Json),
                Place::Unsent,
            )
            .prepare(tag_request, &[("tag_objects", Place::body_as("tags"))]),
        ],
        events: &["subscribe", "unsubscribe", "profile", "cleaned", "upemail"],
        trigger: None,
    }
}
