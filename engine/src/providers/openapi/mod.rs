//! Importing an OpenAPI 3.0 or 3.1 document (JSON or YAML) as a provider
//! of its own: every operation becomes an action, its parameters and
//! request body the action's form, its response schema the step's
//! declared output, the document's security scheme the connection's
//! authentication and its first server the base URL.
//!
//! An import is described by an [`ApiDescription`], plain data that is
//! stored as it is and turned into a [`Provider`] when its kinds are
//! registered, so a server never keeps the document itself.

mod build;
mod schema;
#[cfg(test)]
mod tests;

use model::OutputField;
use serde::{Deserialize, Serialize};

use super::{
    ActionField, Auth, BodyErrors, ConnectionField, ConnectionSpec, Encoding, Errors, Protocol,
    Provider, RateLimit, Source, TestRequest, Text,
};

pub use build::describe;
pub use oas3::Spec;

/// Largest document accepted, in bytes.
pub const MAX_DOCUMENT: usize = 16 * 1024 * 1024;

/// What an imported API is: enough to rebuild its provider.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApiDescription {
    /// The prefix of its node kinds (`acme` → `acme.create_invoice`).
    pub id: String,
    pub name: String,
    /// The document's `info.version`.
    pub version: String,
    /// The OpenAPI version it was written in (`3.0.3`, `3.1.0`).
    pub openapi: String,
    #[serde(default)]
    pub docs: String,
    /// From the first server, variables filled with their defaults;
    /// empty when the document names none with a host (each connection
    /// then gives its own).
    pub base_url: String,
    pub auth: ImportedAuth,
    pub operations: Vec<Operation>,
    /// Operations that could not be imported, and why.
    #[serde(default)]
    pub skipped: Vec<Skipped>,
}

/// How requests to an imported API are authenticated.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum ImportedAuth {
    None,
    /// `Authorization: Bearer <token>` (also OAuth 2 and OpenID Connect).
    Bearer,
    Basic,
    /// An API key in a header.
    Header {
        name: String,
    },
    /// An API key in the query.
    Query {
        param: String,
    },
}

/// One operation, as an action.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Operation {
    /// The operation id in snake case (`post_customers`), or the method
    /// and path; the node kind is `<api>.<name>`.
    pub name: String,
    pub label: String,
    #[serde(default)]
    pub description: String,
    pub method: String,
    pub path: String,
    pub body: BodyEncoding,
    pub fields: Vec<ActionField>,
    #[serde(default)]
    pub output: Vec<OutputField>,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BodyEncoding {
    None,
    Json,
    Form,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Skipped {
    /// `POST /v1/files`.
    pub operation: String,
    pub reason: String,
}

/// Why a document cannot be imported, and where in it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ImportError {
    /// A dotted path into the document (`paths./v1/customers.post.requestBody`),
    /// or empty when the problem is the document as a whole.
    pub location: String,
    pub message: String,
}

impl std::fmt::Display for ImportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.location.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "at {}: {}", self.location, self.message)
        }
    }
}

impl ImportError {
    pub fn at(location: impl Into<String>, message: impl Into<String>) -> ImportError {
        ImportError {
            location: location.into(),
            message: message.into(),
        }
    }
}

/// Reads a document, JSON or YAML, naming the place of the first problem.
/// Slow for large documents (Stripe's takes a good part of a second):
/// call it off the async runtime.
pub fn parse(text: &str) -> Result<oas3::Spec, ImportError> {
    if text.len() > MAX_DOCUMENT {
        return Err(ImportError::at(
            "",
            format!("the document is larger than {} MB", MAX_DOCUMENT >> 20),
        ));
    }
    if text.trim().is_empty() {
        return Err(ImportError::at("", "the document is empty"));
    }
    let spec: oas3::Spec = if text.trim_start().starts_with('{') {
        let mut reader = serde_json::Deserializer::from_str(text);
        serde_path_to_error::deserialize(&mut reader).map_err(|e| located(e, "JSON"))?
    } else {
        let reader = yaml_serde::Deserializer::from_str(text);
        serde_path_to_error::deserialize(reader).map_err(|e| located(e, "YAML"))?
    };
    if !spec.openapi.starts_with("3.0") && !spec.openapi.starts_with("3.1") {
        return Err(ImportError::at(
            "openapi",
            format!(
                "version `{}` is not supported: import an OpenAPI 3.0 or 3.1 document",
                spec.openapi
            ),
        ));
    }
    Ok(spec)
}

fn located<E: std::fmt::Display>(
    error: serde_path_to_error::Error<E>,
    format: &str,
) -> ImportError {
    let location = error.path().to_string();
    let message = error.inner().to_string();
    let message = if message.contains("missing field `openapi`") && location == "." {
        "this is not an OpenAPI 3 document (no `openapi` version; Swagger 2.0 must be converted first)"
            .to_owned()
    } else {
        format!("not a valid OpenAPI {format} document: {message}")
    };
    ImportError::at(
        if location == "." {
            String::new()
        } else {
            location
        },
        message,
    )
}

/// Parses and describes a document in one go.
pub fn import(text: &str, id: &str, name: Option<&str>) -> Result<ApiDescription, ImportError> {
    let spec = parse(text)?;
    describe(&spec, id, name)
}

/// A name usable as an imported API's id: lower case letters, digits and
/// `_`, starting with a letter, at most 32 characters.
pub fn slug(text: &str) -> String {
    let mut slug = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('_') && !slug.is_empty() {
            slug.push('_');
        }
        if slug.len() >= 32 {
            break;
        }
    }
    let slug = slug.trim_matches('_').to_owned();
    match slug.chars().next() {
        Some(c) if c.is_ascii_alphabetic() => slug,
        Some(_) => format!("api_{slug}"),
        None => "api".to_owned(),
    }
}

/// How a re-import changed the operations, by name.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Changes {
    pub added: Vec<String>,
    pub changed: Vec<String>,
    pub removed: Vec<String>,
}

impl Changes {
    /// Compares what requests each operation makes (method, path, body,
    /// fields) and what it answers; wording alone is not a change.
    pub fn between(old: &ApiDescription, new: &ApiDescription) -> Changes {
        let mut changes = Changes::default();
        for op in &new.operations {
            match old.operations.iter().find(|o| o.name == op.name) {
                None => changes.added.push(op.name.clone()),
                Some(before) if !same_request(before, op) => changes.changed.push(op.name.clone()),
                Some(_) => {}
            }
        }
        changes.removed = old
            .operations
            .iter()
            .filter(|o| !new.operations.iter().any(|n| n.name == o.name))
            .map(|o| o.name.clone())
            .collect();
        changes
    }
}

fn same_request(a: &Operation, b: &Operation) -> bool {
    let shape = |op: &Operation| {
        op.fields
            .iter()
            .map(|f| {
                (
                    f.spec.name.clone(),
                    f.spec.ty.clone(),
                    f.spec.required,
                    f.place.clone(),
                )
            })
            .collect::<Vec<_>>()
    };
    let outputs = |op: &Operation| {
        op.output
            .iter()
            .map(|o| (o.name.clone(), o.ty.clone()))
            .collect::<Vec<_>>()
    };
    a.method == b.method
        && a.path == b.path
        && a.body == b.body
        && shape(a) == shape(b)
        && outputs(a) == outputs(b)
}

/// Where an imported API's figures come from when it publishes none.
const NO_PUBLISHED_LIMIT: &str =
    "No limit is known for an imported API: set one on the connection if the API has one.";

/// Message places most APIs use in error bodies.
const COMMON_ERROR_MESSAGES: &[&str] = &[
    "/error/message",
    "/message",
    "/error_description",
    "/error",
    "/detail",
    "/title",
    "/errors/0/message",
];

impl ApiDescription {
    /// The node kind of an operation.
    pub fn kind(&self, operation: &Operation) -> String {
        format!("{}.{}", self.id, operation.name)
    }

    /// The provider its kinds are registered from.
    pub fn provider(&self) -> Provider {
        let mut fields = Vec::new();
        let auth = match &self.auth {
            ImportedAuth::None => None,
            ImportedAuth::Bearer => {
                fields.push(ConnectionField::secret(
                    "token",
                    "Token",
                    "Sent as `Authorization: Bearer …`.",
                ));
                Some(Auth::Bearer {
                    token: Source::field("token"),
                })
            }
            ImportedAuth::Basic => {
                fields.push(ConnectionField::plain("username", "User name", ""));
                fields.push(ConnectionField::secret("password", "Password", ""));
                Some(Auth::Basic {
                    username: Source::field("username"),
                    password: Source::field("password"),
                })
            }
            ImportedAuth::Header { name } => {
                fields.push(ConnectionField::secret(
                    "api_key",
                    "API key",
                    "Sent in a header.",
                ));
                Some(Auth::Header {
                    name: Text::Owned(name.clone()),
                    prefix: Text::Borrowed(""),
                    value: Source::field("api_key"),
                })
            }
            ImportedAuth::Query { param } => {
                fields.push(ConnectionField::secret(
                    "api_key",
                    "API key",
                    "Sent as a query parameter.",
                ));
                Some(Auth::Query {
                    param: Text::Owned(param.clone()),
                    value: Source::field("api_key"),
                })
            }
        };
        let mut base = ConnectionField::plain(
            "base_url",
            "Base URL",
            "Where the API is served; requests go to this URL followed by the operation's path.",
        );
        if !self.base_url.is_empty() {
            base = base.optional();
        }
        fields.push(base);
        let test = self
            .operations
            .iter()
            .find(|op| {
                op.method == "GET"
                    && !op.path.contains('{')
                    && !op.fields.iter().any(|f| f.spec.required)
            })
            .map(|op| TestRequest {
                method: Text::Borrowed("GET"),
                path: Text::Owned(op.path.clone()),
                body: None,
            });
        Provider {
            id: Text::Owned(self.id.clone()),
            name: Text::Owned(self.name.clone()),
            category: Text::Borrowed("Imported"),
            docs: Text::Owned(self.docs.clone()),
            synonyms: &[],
            base_url: Text::Owned(self.base_url.clone()),
            connection: ConnectionSpec {
                fields,
                auth: auth.unwrap_or(Auth::None),
                derive: None,
            },
            headers: &[],
            test,
            rate_limit: RateLimit {
                per_second: 10.0,
                burst: 10,
                concurrent: None,
                note: NO_PUBLISHED_LIMIT,
            },
            errors: Errors {
                message_at: COMMON_ERROR_MESSAGES,
                in_body: BodyErrors::None,
                codes: &[],
            },
            protocol: Protocol::Http,
            idempotent_posts: false,
            default_encoding: Encoding::Json,
            actions: self.operations.iter().map(Operation::action).collect(),
            events: &[],
            trigger: None,
        }
    }
}

impl Operation {
    fn action(&self) -> super::Action {
        let encoding = match self.body {
            BodyEncoding::None => Encoding::None,
            BodyEncoding::Json => Encoding::Json,
            BodyEncoding::Form => Encoding::Form,
        };
        let mut action = super::Action::new(
            self.name.clone(),
            self.label.clone(),
            self.method.clone(),
            self.path.clone(),
            encoding,
        )
        .describe(self.description.clone());
        action.fields = self.fields.clone();
        action.output = self.output.clone();
        action
    }
}
