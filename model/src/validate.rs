//! Validation: every problem in a workflow at once, each with the node and
//! field it concerns and a message for people. Never panics, whatever the
//! input.

mod fields;

use std::collections::{BTreeSet, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::{
    catalogue::Catalogue,
    definition::{Edge, WorkflowDefinition},
    graph::{Graph, LOOP_BODY_PORT},
};

pub const MAX_NODES: usize = 500;
pub const MAX_EDGES: usize = 2_000;
pub const MAX_CONFIG_BYTES: usize = 64 * 1024;
pub const MAX_NAME_CHARS: usize = 200;
pub const MAX_ID_CHARS: usize = 64;
pub const MAX_DESCRIPTION_CHARS: usize = 10_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Severity {
    /// Blocks activation.
    Error,
    /// Worth knowing; does not block.
    Warning,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Problem {
    pub severity: Severity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_id: Option<String>,
    /// `config.url`, `config.cases[1].port`, `edges[3]`, `name`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub message: String,
}

impl Problem {
    fn error(node_id: Option<&str>, field: Option<String>, message: impl Into<String>) -> Problem {
        Problem {
            severity: Severity::Error,
            node_id: node_id.map(str::to_owned),
            field,
            message: message.into(),
        }
    }

    fn warning(
        node_id: Option<&str>,
        field: Option<String>,
        message: impl Into<String>,
    ) -> Problem {
        Problem {
            severity: Severity::Warning,
            node_id: node_id.map(str::to_owned),
            field,
            message: message.into(),
        }
    }
}

/// Whether any problem blocks activation.
pub fn has_errors(problems: &[Problem]) -> bool {
    problems.iter().any(|p| p.severity == Severity::Error)
}

/// A node id usable in expressions: `steps.<id>`.
pub fn is_valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && id.len() <= MAX_ID_CHARS
}

/// Every problem in `def`, measured against the kinds of `catalogue`.
pub fn validate(def: &WorkflowDefinition, catalogue: &Catalogue) -> Vec<Problem> {
    let mut problems = Vec::new();
    check_document(def, &mut problems);
    if def.nodes.len() > MAX_NODES || def.edges.len() > MAX_EDGES {
        // Too big to analyse further at a reasonable cost.
        return problems;
    }
    let step_refs = check_nodes(def, catalogue, &mut problems);
    let graph = Graph::new(def);
    check_edges(def, catalogue, &graph, &mut problems);
    let acyclic = match graph.topological_order() {
        Ok(_) => true,
        Err(cycle) => {
            for node in cycle {
                let id = &def.nodes[node].id;
                problems.push(Problem::error(
                    Some(id),
                    None,
                    format!("`{id}` is part of a cycle; workflows must not loop back"),
                ));
            }
            false
        }
    };
    check_trigger_and_reachability(def, catalogue, &graph, &mut problems);
    if acyclic {
        check_references(def, &graph, &step_refs, &mut problems);
        check_loop_bodies(def, &graph, &mut problems);
    }
    problems
}

fn check_document(def: &WorkflowDefinition, problems: &mut Vec<Problem>) {
    let name = def.name.trim();
    if name.is_empty() {
        problems.push(Problem::error(
            None,
            Some("name".into()),
            "the workflow needs a name",
        ));
    } else if name.chars().count() > MAX_NAME_CHARS {
        problems.push(Problem::error(
            None,
            Some("name".into()),
            format!("the name is longer than {MAX_NAME_CHARS} characters"),
        ));
    }
    if def.description.chars().count() > MAX_DESCRIPTION_CHARS {
        problems.push(Problem::error(
            None,
            Some("description".into()),
            format!("the description is longer than {MAX_DESCRIPTION_CHARS} characters"),
        ));
    }
    if def.nodes.len() > MAX_NODES {
        problems.push(Problem::error(
            None,
            Some("nodes".into()),
            format!(
                "a workflow has at most {MAX_NODES} nodes, this one has {}",
                def.nodes.len()
            ),
        ));
    }
    if def.edges.len() > MAX_EDGES {
        problems.push(Problem::error(
            None,
            Some("edges".into()),
            format!(
                "a workflow has at most {MAX_EDGES} connections, this one has {}",
                def.edges.len()
            ),
        ));
    }
    fields::check_retry(&def.settings.retry, None, "settings.retry", problems);
}

/// Per-node checks; returns the steps each node's expressions refer to.
fn check_nodes(
    def: &WorkflowDefinition,
    catalogue: &Catalogue,
    problems: &mut Vec<Problem>,
) -> Vec<BTreeSet<String>> {
    let mut seen = HashSet::new();
    let mut refs = Vec::with_capacity(def.nodes.len());
    for (i, node) in def.nodes.iter().enumerate() {
        let id = node.id.as_str();
        if !is_valid_id(id) {
            problems.push(Problem::error(
                Some(id),
                Some(format!("nodes[{i}].id")),
                format!("`{id}` is not a valid node id: use letters, digits and _, starting with a letter, at most {MAX_ID_CHARS}"),
            ));
        }
        if !seen.insert(id) {
            problems.push(Problem::error(
                Some(id),
                Some(format!("nodes[{i}].id")),
                format!("two nodes share the id `{id}`"),
            ));
        }
        if node.label.chars().count() > MAX_NAME_CHARS {
            problems.push(Problem::error(
                Some(id),
                Some("label".into()),
                format!("the label is longer than {MAX_NAME_CHARS} characters"),
            ));
        }
        if let Some(retry) = &node.retry {
            fields::check_retry(retry, Some(id), "retry", problems);
        }
        let size = serde_json::to_string(&node.config).map_or(usize::MAX, |s| s.len());
        let mut node_refs = BTreeSet::new();
        if size > MAX_CONFIG_BYTES {
            problems.push(Problem::error(
                Some(id),
                Some("config".into()),
                format!(
                    "the configuration is larger than {} KiB",
                    MAX_CONFIG_BYTES / 1024
                ),
            ));
        } else {
            match catalogue.get(&node.kind) {
                None => problems.push(Problem::error(
                    Some(id),
                    Some("kind".into()),
                    format!("unknown node kind `{}`", node.kind),
                )),
                Some(spec) => {
                    let mut checker = fields::ConfigChecker::new(Some(id), crate::expr::shared());
                    checker.check_spec(spec, &node.config);
                    node_refs = checker.step_refs;
                    problems.extend(checker.problems);
                }
            }
        }
        refs.push(node_refs);
    }
    refs
}

fn check_edges(
    def: &WorkflowDefinition,
    catalogue: &Catalogue,
    graph: &Graph,
    problems: &mut Vec<Problem>,
) {
    let mut seen: HashMap<&Edge, usize> = HashMap::new();
    for (e, edge) in def.edges.iter().enumerate() {
        let field = Some(format!("edges[{e}]"));
        let source = graph.index_of(&edge.source);
        let target = graph.index_of(&edge.target);
        if source.is_none() {
            problems.push(Problem::error(
                None,
                field.clone(),
                format!(
                    "a connection starts at `{}`, which does not exist",
                    edge.source
                ),
            ));
        }
        if target.is_none() {
            problems.push(Problem::error(
                source.map(|_| edge.source.as_str()),
                field.clone(),
                format!(
                    "a connection ends at `{}`, which does not exist",
                    edge.target
                ),
            ));
        }
        if edge.source == edge.target {
            problems.push(Problem::error(
                Some(&edge.source),
                field.clone(),
                "a node cannot connect to itself",
            ));
        }
        if let Some(first) = seen.insert(edge, e) {
            problems.push(Problem::error(
                Some(&edge.source),
                field.clone(),
                format!(
                    "duplicate of connection {first} ({} → {})",
                    edge.source, edge.target
                ),
            ));
        }
        if let Some(source) = source {
            let node = &def.nodes[source];
            if let Some(spec) = catalogue.get(&node.kind) {
                let routes = def.on_error(node) == crate::definition::OnError::Route;
                if !spec.has_port(&node.config, &edge.source_port, routes) {
                    let ports = spec.ports(&node.config);
                    let hint = if edge.source_port == crate::definition::ERROR_PORT {
                        "set on_error to `route` to use the error port".to_owned()
                    } else if ports.is_empty() {
                        format!("{} nodes have no outputs", spec.label)
                    } else {
                        format!("its ports are: {}", ports.join(", "))
                    };
                    problems.push(Problem::error(
                        Some(&node.id),
                        field.clone(),
                        format!("`{}` has no port `{}`; {hint}", node.id, edge.source_port),
                    ));
                }
            }
        }
        if let Some(target) = target
            && catalogue
                .get(&def.nodes[target].kind)
                .is_some_and(|spec| spec.is_trigger())
        {
            problems.push(Problem::error(
                Some(&edge.target),
                field,
                "a trigger starts the workflow; nothing can connect into it",
            ));
        }
    }
}

fn check_trigger_and_reachability(
    def: &WorkflowDefinition,
    catalogue: &Catalogue,
    graph: &Graph,
    problems: &mut Vec<Problem>,
) {
    let triggers: Vec<usize> = (0..def.nodes.len())
        .filter(|&n| {
            catalogue
                .get(&def.nodes[n].kind)
                .is_some_and(|spec| spec.is_trigger())
        })
        .collect();
    match triggers.as_slice() {
        [] => problems.push(Problem::error(
            None,
            Some("nodes".into()),
            "the workflow needs a trigger: add a manual, webhook, schedule or event trigger",
        )),
        [trigger] => {
            let reachable = graph.reachable_from(*trigger);
            for (n, node) in def.nodes.iter().enumerate() {
                if !reachable[n] {
                    problems.push(Problem::warning(
                        Some(&node.id),
                        None,
                        format!(
                            "`{}` is not connected to the trigger and will never run",
                            node.id
                        ),
                    ));
                }
            }
        }
        several => {
            for &n in &several[1..] {
                let id = &def.nodes[n].id;
                problems.push(Problem::error(
                    Some(id),
                    Some("kind".into()),
                    format!("a workflow has exactly one trigger; `{}` is another", id),
                ));
            }
        }
    }
}

fn check_references(
    def: &WorkflowDefinition,
    graph: &Graph,
    refs: &[BTreeSet<String>],
    problems: &mut Vec<Problem>,
) {
    for (n, node_refs) in refs.iter().enumerate() {
        if node_refs.is_empty() {
            continue;
        }
        let ancestors = graph.ancestors(n);
        let id = &def.nodes[n].id;
        for step in node_refs {
            match graph.index_of(step) {
                None => problems.push(Problem::error(Some(id), Some("config".into()), format!("refers to step `{step}`, which does not exist"))),
                Some(s) if !ancestors[s] => problems.push(Problem::error(
                    Some(id),
                    Some("config".into()),
                    format!("refers to step `{step}`, which does not run before `{id}`; connect it upstream first"),
                )),
                Some(_) => {}
            }
        }
    }
}

fn check_loop_bodies(def: &WorkflowDefinition, graph: &Graph, problems: &mut Vec<Problem>) {
    for (n, node) in def.nodes.iter().enumerate() {
        if node.kind != "loop" {
            continue;
        }
        let body = graph.loop_body(n);
        let mut in_body = vec![false; graph.len()];
        for &b in &body {
            in_body[b] = true;
        }
        for &b in &body {
            for &e in &graph.incoming[b] {
                let source = graph.source_of(e);
                let from_loop_body_port = source == n && def.edges[e].source_port == LOOP_BODY_PORT;
                if !in_body[source] && !from_loop_body_port {
                    problems.push(Problem::error(
                        Some(&def.nodes[b].id),
                        Some(format!("edges[{e}]")),
                        format!("`{}` runs once per item of loop `{}` and cannot also be reached from `{}`", def.nodes[b].id, node.id, def.nodes[source].id),
                    ));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
