//! What a language model is told: how a workflow is written, the part of
//! the catalogue the description is about (retrieved by the offline
//! planner's reading of it, with every field), the account's connections
//! by id and name, and the offline planner's draft to start from. Nothing
//! here holds a secret: connections are ids and names, configs of drafts
//! carry no credentials.

use std::fmt::Write;

use model::{
    FieldSpec, FieldType, KindSpec, Ports, WorkflowDefinition,
    ai::{Analysis, ConnectionRef, Generated, Modification},
};
use serde_json::{Value, json};

use crate::catalog::Catalog;

/// The messages for a first attempt, and the kinds described in them.
pub struct Briefing {
    pub system: String,
    pub user: String,
    /// Kinds described field by field (the rest are named only).
    pub detailed: Vec<String>,
}

/// Builds the briefing for a description. `analysis` and `offline` are the
/// offline planner's reading and draft: they pick the providers whose
/// kinds are described in full.
pub fn brief(
    catalog: &Catalog,
    prompt: &str,
    timezone: &str,
    connections: &[ConnectionRef],
    analysis: &Analysis,
    offline: &Generated,
) -> Briefing {
    let mut providers = candidate_providers(analysis);
    add_all(&mut providers, &offline.providers);
    let mut system = format!("{DRAFT_INSTRUCTIONS}\n{RULES}");
    let detailed = catalogue_section(&mut system, catalog, &providers);
    connections_section(&mut system, connections);
    let user = format!(
        "Description: {prompt}\nTime zone for schedules: {timezone}\n\n\
         A rule-based planner drafted this; keep what is right, fix and complete the rest:\n{}",
        draft_json(offline)
    );
    Briefing {
        system,
        user,
        detailed,
    }
}

/// Builds the briefing for a change to `workflow`: the providers the
/// instruction names and the ones the workflow already uses are described
/// in full, and the offline planner's operations offered as a start.
pub fn brief_change(
    catalog: &Catalog,
    workflow: &WorkflowDefinition,
    instruction: &str,
    connections: &[ConnectionRef],
    analysis: &Analysis,
    offline: &Modification,
) -> Briefing {
    let mut providers = candidate_providers(analysis);
    let used: Vec<String> = workflow
        .nodes
        .iter()
        .chain(offline.workflow.nodes.iter())
        .filter_map(|n| catalog.kind(&n.kind).and_then(|s| s.provider.clone()))
        .collect();
    add_all(&mut providers, &used);
    let mut system = format!("{CHANGE_INSTRUCTIONS}\n{RULES}");
    let detailed = catalogue_section(&mut system, catalog, &providers);
    connections_section(&mut system, connections);
    let mut shown = workflow.clone();
    for node in &mut shown.nodes {
        node.position = Default::default();
    }
    let user = format!(
        "The workflow now:\n{}\n\nThe change: {instruction}\n\n\
         A rule-based planner proposed these operations; keep what is right, fix and complete the rest:\n{}",
        serde_json::to_string(&shown).unwrap_or_default(),
        json!({"operations": offline.operations, "unknown": offline.unknown})
    );
    Briefing {
        system,
        user,
        detailed,
    }
}

const DRAFT_INSTRUCTIONS: &str = "You turn a description of an API integration into a Switchyard workflow. \
Answer with one JSON object and nothing else:
{\"name\": string, \"nodes\": [{\"id\": string, \"kind\": string, \"label\": string, \"config\": object, \"explanation\": string}], \
\"edges\": [{\"source\": node id, \"source_port\": string, \"target\": node id}], \"unknown\": [string], \
\"question\": null or {\"question\": string, \"suggestions\": [string]}}

- Exactly one trigger node (a kind ending in `trigger`), first. Node ids are short snake_case words, unique.
- `explanation`: one short sentence per node saying what it does.
- If the description is too vague to build (no action at all, or no destination), put a short `question` with 2-4 suggested answers and only the trigger node.";

const CHANGE_INSTRUCTIONS: &str = "You change an existing Switchyard workflow as asked. \
Answer with one JSON object and nothing else: {\"operations\": [operation], \"unknown\": [string]}, the operations applied in order, one of:
{\"op\": \"add_node\", \"node\": {\"id\", \"kind\", \"label\", \"config\"}}
{\"op\": \"remove_node\", \"id\"} (what led into it is connected to what came after it)
{\"op\": \"set_config\", \"id\", \"field\", \"value\"} (value null removes the field)
{\"op\": \"connect\", \"source\", \"source_port\", \"target\"}
{\"op\": \"disconnect\", \"source\", \"source_port\", \"target\"}
{\"op\": \"insert_between\", \"source\", \"source_port\", \"target\", \"node\": {\"id\", \"kind\", \"label\", \"config\"}} (replaces the edge source → target)

- Refer to existing nodes by their ids; give new nodes new short snake_case ids. Change nothing that was not asked for.";

const RULES: &str = "
- Use only the kinds listed below and only the fields listed for each kind; never invent a kind, field, event or connection.
- A `connection` field takes one of the account's connection ids for that provider; when the account has none, leave the field out.
- Values may use templates: `{{ trigger.<path> }}` reads what started the run (a provider trigger's delivery: \
`{{ trigger.body.data.object.email }}`), `{{ steps.<node id>.output.<path> }}` an earlier step's output, `{{ item }}` the current item \
inside a loop body. Filters: `{{ x | lower }}`, `{{ x | default('n/a') }}`. Map data between steps this way \
(a customer's email into the next step's email field); a condition's `expression` is a test such as `{{ trigger.body.amount > 100 }}`.
- Edges leave a node on one of its ports (listed per kind; `out` by default). A condition continues on `true` or `false`; \
a loop runs its `body` port per item and `out` after.
- `unknown`: each part of the request no listed kind can do (an app that is not listed), in a few words. Never drop a part silently.";

/// The kinds of `providers` and the built-in ones in full, the others by
/// name; answers the kinds described in full.
fn catalogue_section(out: &mut String, catalog: &Catalog, providers: &[String]) -> Vec<String> {
    let detailed: Vec<&KindSpec> = catalog
        .catalogue
        .kinds
        .iter()
        .filter(|spec| {
            spec.provider
                .as_ref()
                .is_none_or(|provider| providers.contains(provider))
        })
        .collect();
    out.push_str("\n\n## Kinds you may use, with their fields\n");
    for spec in &detailed {
        describe_kind(out, spec);
    }
    let others: Vec<&KindSpec> = catalog
        .catalogue
        .kinds
        .iter()
        .filter(|spec| !detailed.iter().any(|d| d.kind == spec.kind))
        .collect();
    if !others.is_empty() {
        out.push_str("\n## Other kinds (named only; use one only if it is needed)\n");
        for spec in others {
            let _ = writeln!(out, "- {} ({})", spec.kind, spec.label);
        }
    }
    detailed.iter().map(|s| s.kind.clone()).collect()
}

fn connections_section(out: &mut String, connections: &[ConnectionRef]) {
    out.push_str("\n## The account's connections\n");
    if connections.is_empty() {
        out.push_str("None yet: leave every `connection` field out.\n");
    }
    for connection in connections {
        let _ = writeln!(
            out,
            "- id `{}`: {} connection “{}”",
            connection.id, connection.provider, connection.name
        );
    }
}

fn add_all(providers: &mut Vec<String>, more: &[String]) {
    for id in more {
        if !providers.contains(id) {
            providers.push(id.clone());
        }
    }
}

/// Providers to describe in full: what the offline planner read, and
/// their alternatives (an "email" may be SMTP, Resend or SendGrid).
fn candidate_providers(analysis: &Analysis) -> Vec<String> {
    let mut providers: Vec<String> = Vec::new();
    for guess in &analysis.providers {
        add_all(&mut providers, std::slice::from_ref(&guess.id));
        add_all(&mut providers, &guess.alternatives);
    }
    providers
}

fn describe_kind(out: &mut String, spec: &KindSpec) {
    let _ = write!(
        out,
        "\n### {} — {}\n{}\n",
        spec.kind, spec.label, spec.description
    );
    if let Ports::Fixed(ports) = &spec.ports
        && ports.iter().any(|p| p != model::definition::DEFAULT_PORT)
    {
        let _ = writeln!(out, "Ports: {}", ports.join(", "));
    }
    if matches!(spec.ports, Ports::SwitchCases) {
        out.push_str("Ports: one per `cases[].port`, and `default`\n");
    }
    for field in &spec.fields {
        describe_field(out, field, 0);
    }
    if !spec.output.is_empty() {
        out.push_str(if spec.is_trigger() {
            "Delivery, read as `{{ trigger.<path> }}`:"
        } else {
            "Output, read as `{{ steps.<id>.output.<path> }}`:"
        });
        for (i, field) in spec.output.iter().take(40).enumerate() {
            let sep = if i == 0 { " " } else { ", " };
            let _ = write!(out, "{sep}{} ({})", field.name, field.ty);
            if !field.events.is_empty() {
                let _ = write!(out, " [{}]", field.events.join(" "));
            }
        }
        out.push('\n');
    }
}

fn describe_field(out: &mut String, field: &FieldSpec, depth: usize) {
    let indent = "  ".repeat(depth);
    let required = if field.required { ", required" } else { "" };
    let _ = write!(
        out,
        "{indent}- {}: {}{required}",
        field.name,
        type_name(&field.ty)
    );
    if !field.help.is_empty() {
        let _ = write!(out, " — {}", field.help);
    }
    if let Some(default) = &field.default {
        let _ = write!(out, " (default {default})");
    }
    out.push('\n');
    if let FieldType::Object { fields } | FieldType::List { fields, .. } = &field.ty {
        for nested in fields {
            describe_field(out, nested, depth + 1);
        }
    }
}

fn type_name(ty: &FieldType) -> String {
    match ty {
        FieldType::Text { .. } => "text".into(),
        FieldType::Secret => "secret (never filled in by you)".into(),
        FieldType::Url => "URL".into(),
        FieldType::Expression => "expression `{{ … }}`".into(),
        FieldType::Integer { min, max } => format!("integer {min}..{max}"),
        FieldType::Boolean => "boolean".into(),
        FieldType::Select { options } => format!("one of {}", options.join(" | ")),
        FieldType::MultiSelect { options } => format!("list of {}", options.join(" | ")),
        FieldType::KeyValue => "object of strings".into(),
        FieldType::Json => "any JSON".into(),
        FieldType::Timestamp => "RFC 3339 date-time".into(),
        FieldType::Object { .. } => "object with".into(),
        FieldType::Connection { provider } => format!("{provider} connection id"),
        FieldType::List { max_items, .. } => format!("list (at most {max_items}) of objects with"),
    }
}

/// The offline draft as the model should write it: no positions.
fn draft_json(offline: &Generated) -> String {
    let nodes: Vec<Value> = offline
        .workflow
        .nodes
        .iter()
        .map(|n| {
            let explanation = offline
                .steps
                .iter()
                .find(|s| s.node_id == n.id)
                .map_or("", |s| s.explanation.as_str());
            json!({"id": n.id, "kind": n.kind, "label": n.label, "config": n.config, "explanation": explanation})
        })
        .collect();
    json!({
        "name": offline.workflow.name,
        "nodes": nodes,
        "edges": offline.workflow.edges,
        "unknown": offline.unknown,
        "question": offline.clarification,
    })
    .to_string()
}

/// The reply's JSON schema, for servers that take `json_schema`.
pub fn reply_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "nodes": {"type": "array", "items": {
                "type": "object",
                "properties": {
                    "id": {"type": "string"},
                    "kind": {"type": "string"},
                    "label": {"type": "string"},
                    "config": {"type": "object"},
                    "explanation": {"type": "string"}
                },
                "required": ["id", "kind", "config"]
            }},
            "edges": {"type": "array", "items": {
                "type": "object",
                "properties": {
                    "source": {"type": "string"},
                    "source_port": {"type": "string"},
                    "target": {"type": "string"}
                },
                "required": ["source", "target"]
            }},
            "unknown": {"type": "array", "items": {"type": "string"}},
            "question": {"type": ["object", "null"], "properties": {
                "question": {"type": "string"},
                "suggestions": {"type": "array", "items": {"type": "string"}}
            }}
        },
        "required": ["nodes", "edges"]
    })
}

/// The change answer's JSON schema.
pub fn change_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "operations": {"type": "array", "items": {
                "type": "object",
                "properties": {"op": {"type": "string", "enum": [
                    "add_node", "remove_node", "set_config", "connect", "disconnect", "insert_between"
                ]}},
                "required": ["op"]
            }},
            "unknown": {"type": "array", "items": {"type": "string"}}
        },
        "required": ["operations"]
    })
}

/// What goes back to the model when its answer has problems.
pub fn repair_request(problems: &[String]) -> String {
    let mut text = String::from(
        "That answer cannot be used as it is. Fix these problems and answer with the whole corrected JSON object:\n",
    );
    for problem in problems {
        let _ = writeln!(text, "- {problem}");
    }
    text
}
