//! Importing an n8n workflow export: its nodes become Switchyard steps
//! (triggers, HTTP calls, conditions, switches, field mappings, waits,
//! merges, loops and the provider nodes Switchyard has actions for), its
//! connections edges, its expressions Switchyard expressions reading the
//! explicit step `$json` came from. What cannot be translated is kept in
//! place as a step that fails when run (so the draft still validates but
//! never runs as something else) and listed node by node in the report.

mod conditions;
pub mod expression;
pub(crate) mod graph;
mod js;
mod nodes;

use model::{
    Node, Position, WorkflowDefinition,
    workflow_import::{ImportIssue, ImportReport},
};
use serde_json::{Value, json};

use crate::DomainError;
use graph::{Graph, Sourcing};
use nodes::{Context, Translation};

/// A translated workflow and what did not carry over.
pub struct Translated {
    pub workflow: WorkflowDefinition,
    pub report: ImportReport,
}

/// The variable a placeholder reads: undefined, so the step fails with
/// its name when run.
pub const NOT_IMPORTED: &str = "n8n_node_not_imported";
/// The same for an expression that could not be translated.
pub const EXPRESSION_NOT_IMPORTED: &str = "n8n_expression_not_imported";

/// Translates an n8n export (`{"name", "nodes", "connections", …}`).
pub fn translate(export: &Value) -> Result<Translated, DomainError> {
    let graph = Graph::read(export)?;
    let mut report = ImportReport::default();
    let mut steps: Vec<Option<nodes::Step>> = vec![None; graph.nodes.len()];
    // Translate in an order where every node's inputs come first, so that
    // `$json` can be resolved through what its inputs became.
    for index in graph.order() {
        let node = &graph.nodes[index];
        let sourcing = Sourcing::new(&graph, &steps, index);
        let context = Context::new(
            node,
            &graph.ids[index],
            &sourcing,
            graph.timezone.as_deref(),
        );
        let step = match nodes::translate(&context) {
            Translation::Step(step) => step,
            Translation::Unsupported(reason) => {
                context.unsupported(None, reason);
                nodes::placeholder()
            }
        };
        context.finish(&mut report);
        steps[index] = Some(step);
    }
    // `order` lists every node once: every slot is filled.
    let steps: Vec<nodes::Step> = steps.into_iter().flatten().collect();
    let mut workflow = WorkflowDefinition {
        name: export
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.trim().is_empty())
            .unwrap_or("Imported from n8n")
            .chars()
            .take(model::validate::MAX_NAME_CHARS)
            .collect(),
        description: "Imported from n8n.".into(),
        settings: Default::default(),
        nodes: Vec::new(),
        edges: Vec::new(),
    };
    for (index, (node, step)) in graph.nodes.iter().zip(&steps).enumerate() {
        workflow.nodes.push(Node {
            id: graph.ids[index].clone(),
            kind: step.kind.clone(),
            // n8n's names may run longer than a Switchyard label.
            label: if step.placeholder {
                format!("Not imported: {}", node.name)
            } else {
                node.name.clone()
            }
            .chars()
            .take(model::validate::MAX_NAME_CHARS)
            .collect(),
            position: Position {
                x: node.position.0,
                y: node.position.1,
            },
            config: step.config.clone(),
            retry: None,
            on_error: None,
        });
    }
    graph.edges(&steps, &mut workflow, &mut report);
    ensure_trigger(&graph, &steps, &mut workflow, &mut report);
    Ok(Translated { workflow, report })
}

/// Switchyard needs exactly one trigger: a workflow started only by hand
/// (or by another workflow) gets a manual one; extra triggers are reported.
fn ensure_trigger(
    graph: &Graph,
    steps: &[nodes::Step],
    workflow: &mut WorkflowDefinition,
    report: &mut ImportReport,
) {
    let triggers: Vec<usize> = (0..steps.len())
        .filter(|&i| steps[i].is_trigger())
        .collect();
    if triggers.is_empty() {
        let id = graph.fresh_id("start");
        let (x, y) = graph
            .nodes
            .first()
            .map_or((0.0, 0.0), |n| (n.position.0 - 260.0, n.position.1));
        let roots: Vec<String> = (0..graph.nodes.len())
            .filter(|&i| !graph.has_input(i))
            .map(|i| graph.ids[i].clone())
            .collect();
        workflow.nodes.insert(
            0,
            Node {
                id: id.clone(),
                kind: "manual_trigger".into(),
                label: "Start".into(),
                position: Position { x, y },
                config: json!({}),
                retry: None,
                on_error: None,
            },
        );
        for root in &roots {
            workflow.edges.push(model::Edge {
                source: id.clone(),
                source_port: model::definition::DEFAULT_PORT.into(),
                target: root.clone(),
            });
        }
        report.notes.push(ImportIssue {
            node: "Start".into(),
            node_type: "manual_trigger".into(),
            node_id: Some(id),
            field: None,
            message: "the workflow had no trigger Switchyard runs: a manual trigger starts it"
                .into(),
        });
    }
    for &extra in triggers.iter().skip(1) {
        report.unsupported.push(ImportIssue {
            node: graph.nodes[extra].name.clone(),
            node_type: graph.nodes[extra].ty.clone(),
            node_id: Some(graph.ids[extra].clone()),
            field: None,
            message: format!(
                "a Switchyard workflow has one trigger; this one was kept as a step, `{}` starts the workflow",
                graph.nodes[triggers[0]].name
            ),
        });
        if let Some(node) = workflow.nodes.iter_mut().find(|n| n.id == graph.ids[extra]) {
            let placeholder = nodes::placeholder();
            node.kind = placeholder.kind;
            node.config = placeholder.config;
        }
    }
}

#[cfg(test)]
mod tests;
