//! A model's reply, checked: parsed leniently (code fences and chatter
//! around the object are dropped), then held to an allow-list (kinds of
//! the catalogue, the account's connection ids) and to the editor's own
//! validator. A reply passes whole or comes back as the problems to
//! repair, each naming the node and field.

use model::{
    Edge, Node, Position, Severity, WorkflowDefinition,
    ai::{Clarification, ConnectionRef, Generated, PlannerKind, StepExplanation, is_left_for_user},
    catalogue::FieldType,
    definition::DEFAULT_PORT,
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{accounting::account, catalog::Catalog};

#[derive(Deserialize)]
struct Reply {
    #[serde(default)]
    name: Option<String>,
    nodes: Vec<ReplyNode>,
    #[serde(default)]
    edges: Vec<ReplyEdge>,
    #[serde(default)]
    unknown: Vec<String>,
    #[serde(default)]
    question: Option<Clarification>,
}

#[derive(Deserialize)]
struct ReplyNode {
    id: String,
    kind: String,
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    config: Option<Value>,
    #[serde(default)]
    explanation: Option<String>,
}

#[derive(Deserialize)]
struct ReplyEdge {
    source: String,
    #[serde(default)]
    source_port: Option<String>,
    target: String,
}

/// The reply as a draft, or what is wrong with it (for a repair).
pub fn check(
    catalog: &Catalog,
    connections: &[ConnectionRef],
    text: &str,
    fallback_name: &str,
) -> Result<Generated, Vec<String>> {
    let reply: Reply = parse(text)?;
    let mut problems = Vec::new();
    if reply.nodes.is_empty() {
        problems.push("`nodes` is empty: a workflow needs at least its trigger".to_owned());
    }
    for node in &reply.nodes {
        allowed(
            catalog,
            connections,
            &node.id,
            &node.kind,
            node.config.as_ref(),
            &mut problems,
        );
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let name = reply
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or(fallback_name);
    let mut workflow = WorkflowDefinition {
        name: name.chars().take(200).collect(),
        description: String::new(),
        settings: Default::default(),
        nodes: reply
            .nodes
            .iter()
            .map(|n| Node {
                id: n.id.clone(),
                kind: n.kind.clone(),
                label: n.label.clone().unwrap_or_default(),
                position: Position::default(),
                config: n.config.clone().unwrap_or_else(|| json!({})),
                retry: None,
                on_error: None,
            })
            .collect(),
        edges: reply
            .edges
            .iter()
            .map(|e| Edge {
                source: e.source.clone(),
                source_port: e.source_port.clone().unwrap_or_else(|| DEFAULT_PORT.into()),
                target: e.target.clone(),
            })
            .collect(),
    };
    let accounting = account(catalog, &mut workflow, connections);
    let all_problems: Vec<_> = model::validate(&workflow, &catalog.catalogue)
        .into_iter()
        .filter(|p| p.severity == Severity::Error)
        .collect();
    let blocking: Vec<String> = all_problems
        .iter()
        .filter(|p| !is_left_for_user(p, &accounting.needs_input))
        .map(described)
        .collect();
    if !blocking.is_empty() {
        return Err(blocking);
    }
    let positions = model::layout::layered(&workflow);
    for node in &mut workflow.nodes {
        if let Some(position) = positions.get(&node.id) {
            node.position = *position;
        }
    }
    let steps = reply
        .nodes
        .iter()
        .map(|n| StepExplanation {
            node_id: n.id.clone(),
            kind: n.kind.clone(),
            explanation: n
                .explanation
                .clone()
                .filter(|e| !e.trim().is_empty())
                .or_else(|| n.label.clone())
                .unwrap_or_else(|| n.kind.clone()),
        })
        .collect();
    Ok(Generated {
        planner: PlannerKind::Llm,
        workflow,
        steps,
        providers: accounting.providers,
        missing_connections: accounting.missing_connections,
        needs_input: accounting.needs_input,
        unknown: reply.unknown,
        clarification: reply.question.filter(|q| !q.question.trim().is_empty()),
        problems: all_problems,
        fallback_reason: None,
    })
}

/// The allow-list: a kind of the catalogue, connections of the account.
pub(super) fn allowed(
    catalog: &Catalog,
    connections: &[ConnectionRef],
    id: &str,
    kind: &str,
    config: Option<&Value>,
    problems: &mut Vec<String>,
) {
    let Some(spec) = catalog.kind(kind) else {
        problems.push(format!(
            "node `{id}`: kind `{kind}` does not exist; use only the kinds listed"
        ));
        return;
    };
    let Some(config) = config else {
        return;
    };
    for field in &spec.fields {
        let FieldType::Connection { provider } = &field.ty else {
            continue;
        };
        let Some(value) = config.get(&field.name).filter(|v| !v.is_null() && *v != "") else {
            continue;
        };
        let known = value.as_str().is_some_and(|id| {
            connections
                .iter()
                .any(|c| c.id == id && &c.provider == provider)
        });
        if !known {
            problems.push(format!(
                "node `{id}`, config.{}: `{}` is not one of the account's {provider} connections; use a listed id or leave the field out",
                field.name,
                value.as_str().map_or_else(|| value.to_string(), str::to_owned)
            ));
        }
    }
}

/// The reply's JSON object, or the problem to repair.
pub(super) fn parse<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, Vec<String>> {
    let object = json_object(text).ok_or_else(|| {
        vec!["the answer holds no JSON object; answer with the JSON object only".to_owned()]
    })?;
    serde_json::from_str(object)
        .map_err(|e| vec![format!("the JSON does not have the required shape: {e}")])
}

/// The outermost `{ … }` of a reply (models wrap JSON in fences or prose).
fn json_object(text: &str) -> Option<&str> {
    let start = text.find('{')?;
    let end = text.rfind('}')?;
    (end > start).then(|| &text[start..=end])
}

/// A validator problem as the model reads it: where, then what.
pub(super) fn described(problem: &model::Problem) -> String {
    let place = match (&problem.node_id, &problem.field) {
        (Some(node), Some(field)) => format!("node `{node}`, {field}: "),
        (Some(node), None) => format!("node `{node}`: "),
        (None, Some(field)) => format!("{field}: "),
        (None, None) => String::new(),
    };
    format!("{place}{}", problem.message)
}
