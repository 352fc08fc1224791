//! Where an exported project's credentials come from: each connection the
//! workflow uses becomes a group of environment variables (`STRIPE_SECRET_KEY`,
//! `STRIPE_BASE_URL`), as do secrets written into steps and the trigger's
//! signing secret. Values are never exported; the README lists the names,
//! and the non-secret settings the connection has in Switchyard.

use std::collections::BTreeMap;

use engine::providers;
use model::{Node, WorkflowDefinition};
use serde_json::{Map, Value};

/// A connection of the account, as it may be shown (no secrets).
#[derive(Clone, Debug)]
pub struct ConnectionInfo {
    pub id: String,
    pub name: String,
    pub kind: String,
    /// The non-secret fields.
    pub settings: Map<String, Value>,
}

/// An environment variable the exported project reads.
#[derive(Clone, Debug, PartialEq)]
pub struct EnvVar {
    pub name: String,
    pub about: String,
    pub secret: bool,
    pub required: bool,
    /// A non-secret setting's value in Switchyard, as a hint.
    pub current: Option<String>,
}

/// A connection of the workflow, bound to its variables.
#[derive(Clone, Debug)]
pub struct Binding {
    /// `connections.<function>()` in the code.
    pub function: String,
    pub kind: String,
    pub prefix: String,
    pub title: String,
    pub fields: Vec<(String, String, bool, bool)>,
    pub settings: Map<String, Value>,
    /// Switchyard's connection was not found (a draft from a template).
    pub missing: bool,
}

/// The workflow's connections, by the connection id its steps name (the
/// empty id for steps with none chosen, per kind).
#[derive(Clone, Debug, Default)]
pub struct Bindings {
    by_id: BTreeMap<(String, String), Binding>,
    /// The account's APIs imported from OpenAPI documents.
    imported: Vec<providers::Provider>,
}

/// `Stripe live` → `STRIPE_LIVE`.
pub fn env_name(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_uppercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    let out = out.trim_matches('_').to_owned();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        format!("C_{out}")
    } else {
        out
    }
}

/// Fields of a connection kind: (name, label, secret, required).
fn fields_of(
    kind: &str,
    provider: Option<&providers::Provider>,
) -> Vec<(String, String, bool, bool)> {
    let generic: &[(&str, &str, bool, bool)] = match kind {
        "bearer" => &[("token", "Token", true, true)],
        "basic" => &[
            ("username", "User name", false, true),
            ("password", "Password", true, false),
        ],
        "header" => &[
            ("header_name", "Header name", false, true),
            ("value", "Header value", true, true),
        ],
        "oauth2" => &[("access_token", "Access token", true, true)],
        _ => &[],
    };
    if !generic.is_empty() {
        return generic
            .iter()
            .map(|(n, l, s, r)| (n.to_string(), l.to_string(), *s, *r))
            .collect();
    }
    let mut fields: Vec<(String, String, bool, bool)> = provider
        .map(|p| {
            p.connection
                .fields
                .iter()
                .map(|f| {
                    (
                        f.name.to_string(),
                        f.label.to_string(),
                        f.secret,
                        f.required,
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    if provider.is_some_and(|p| p.protocol == providers::Protocol::Http)
        && !fields.iter().any(|f| f.0 == "base_url")
    {
        fields.push((
            "base_url".into(),
            "Base URL (instead of the API's own)".into(),
            false,
            false,
        ));
    }
    fields
}

/// The connection id a step names in `field`: `Some("")` when none is
/// chosen, `None` when an expression chooses it.
fn named_connection(node: &Node, field: &str) -> Option<String> {
    match node.config.get(field) {
        None | Some(Value::Null) => Some(String::new()),
        Some(Value::String(text)) if model::expr::contains_template(text) => None,
        Some(Value::String(text)) => Some(text.trim().to_owned()),
        Some(_) => None,
    }
}

/// The connection field of a node kind, and the connection kind it takes
/// when none is chosen.
fn connection_field(node: &Node, known: impl Fn(&str) -> bool) -> Option<(&'static str, String)> {
    if node.kind == "http_request" {
        return Some(("connection_id", String::new()));
    }
    let (provider, action) = node.kind.split_once('.')?;
    (action != "trigger" && known(provider)).then(|| ("connection", provider.to_owned()))
}

impl Bindings {
    pub fn new(
        def: &WorkflowDefinition,
        known: &[ConnectionInfo],
        imported: &[providers::Provider],
    ) -> Bindings {
        let mut bindings = Bindings {
            by_id: BTreeMap::new(),
            imported: imported.to_vec(),
        };
        let mut prefixes: Vec<String> = Vec::new();
        for node in &def.nodes {
            let Some((field, default_kind)) =
                connection_field(node, |id| bindings.provider(id).is_some())
            else {
                continue;
            };
            let Some(id) = named_connection(node, field) else {
                continue;
            };
            if id.is_empty() && default_kind.is_empty() {
                continue;
            }
            let info = known.iter().find(|c| c.id == id);
            let kind = info.map_or(default_kind.clone(), |c| c.kind.clone());
            let key = (id.clone(), kind.clone());
            if bindings.by_id.contains_key(&key) {
                continue;
            }
            let base = env_name(info.map_or(kind.as_str(), |c| c.name.as_str()));
            let mut prefix = base.clone();
            let mut n = 2;
            while prefixes.contains(&prefix) {
                prefix = format!("{base}_{n}");
                n += 1;
            }
            prefixes.push(prefix.clone());
            let title = info.map_or_else(
                || format!("{kind} (no connection chosen in Switchyard)"),
                |c| format!("{} ({})", c.name, c.kind),
            );
            bindings.by_id.insert(
                key,
                Binding {
                    function: super::steps::ident(&prefix.to_ascii_lowercase()),
                    fields: fields_of(&kind, bindings.provider(&kind)),
                    kind,
                    prefix,
                    title,
                    settings: info.map(|c| c.settings.clone()).unwrap_or_default(),
                    missing: info.is_none(),
                },
            );
        }
        bindings
    }

    /// A provider by id: built in, or one of the account's imports.
    pub fn provider(&self, id: &str) -> Option<&providers::Provider> {
        providers::find(id).or_else(|| self.imported.iter().find(|p| p.id == id))
    }

    fn binding(&self, node: &Node) -> Option<&Binding> {
        let (field, default_kind) = connection_field(node, |id| self.provider(id).is_some())?;
        let id = named_connection(node, field)?;
        self.by_id
            .iter()
            .find(|((known, kind), _)| *known == id && (!id.is_empty() || *kind == default_kind))
            .map(|(_, b)| b)
    }

    /// `connections.stripe()` for a provider step; `None` when an
    /// expression chooses the connection.
    pub fn connection_code(&self, node: &Node) -> Option<String> {
        self.binding(node)
            .map(|b| format!("connections.{}()", b.function))
    }

    /// `, connections.x()` for an HTTP request with a connection, else empty.
    pub fn call_argument(&self, node: &Node) -> String {
        self.binding(node)
            .map(|b| format!(", connections.{}()", b.function))
            .unwrap_or_default()
    }

    /// Whether an HTTP request step chooses its connection by an expression.
    pub fn chosen_by_expression(&self, node: &Node) -> bool {
        connection_field(node, |id| self.provider(id).is_some())
            .is_some_and(|(field, _)| named_connection(node, field).is_none())
    }

    pub fn all(&self) -> impl Iterator<Item = &Binding> {
        self.by_id.values()
    }

    /// The variables of every connection.
    pub fn variables(&self) -> Vec<EnvVar> {
        let mut out = Vec::new();
        for binding in self.all() {
            for (name, label, secret, required) in &binding.fields {
                let current = (!secret)
                    .then(|| binding.settings.get(name))
                    .flatten()
                    .map(|v| match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    });
                out.push(EnvVar {
                    name: format!("{}_{}", binding.prefix, env_name(name)),
                    about: format!("{}: {label}", binding.title),
                    secret: *secret,
                    required: *required,
                    current,
                });
            }
        }
        out
    }

    /// `src/connections.ts`.
    pub fn code(&self) -> String {
        let mut out = String::from(
            "// The connections the workflow uses, read from the environment when a\n\
             // step needs them (see README.md for the variables).\n\n\
             import type { Connection } from \"./switchyard/http\";\n\
             import { connection } from \"./switchyard/env\";\n",
        );
        for binding in self.all() {
            let fields: Vec<String> = binding
                .fields
                .iter()
                .map(|f| serde_json::to_string(&f.0).unwrap_or_default())
                .collect();
            out.push_str(&format!(
                "\n/** {} */\nexport const {} = (): Connection => connection({}, {}, [{}]);\n",
                binding.title.replace("*/", "* /"),
                binding.function,
                serde_json::to_string(&binding.kind).unwrap_or_default(),
                serde_json::to_string(&binding.prefix).unwrap_or_default(),
                fields.join(", ")
            ));
        }
        out
    }
}
