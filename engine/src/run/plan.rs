//! A workflow prepared for running: kinds resolved, edges indexed, loop
//! bodies and the expressions' references worked out once.

use std::{collections::HashMap, sync::Arc};

use model::{
    OnError, RetryPolicy, WorkflowDefinition,
    expr::{self, has_templates},
    graph::{Graph, LOOP_BODY_PORT},
    validate::{has_errors, validate},
};
use serde_json::Value;

use crate::nodes::{NodeKind, Registry};

pub struct PlanNode {
    pub id: String,
    pub kind: Arc<dyn NodeKind>,
    pub is_trigger: bool,
    pub is_loop: bool,
    pub is_pure: bool,
    /// The config holds expressions and must be evaluated before each run.
    pub templated: bool,
    /// Steps the config's expressions read (node indices).
    pub reads_steps: Vec<usize>,
    /// `(source node, port)` of each incoming edge.
    pub incoming: Vec<(usize, String)>,
    /// `(target node, port)` of each outgoing edge.
    pub outgoing: Vec<(usize, String)>,
    /// The innermost loop whose body this node belongs to.
    pub frame: Option<usize>,
    pub retry: RetryPolicy,
    pub on_error: OnError,
    /// Config paths whose values are credentials, hidden in stored inputs.
    pub secret_paths: Vec<Vec<String>>,
}

pub struct Plan {
    pub def: WorkflowDefinition,
    pub nodes: Vec<PlanNode>,
    pub trigger: usize,
    /// Every node in dependency order.
    pub order: Vec<usize>,
    /// Nodes of each frame: `None` is the main frame, `Some(loop)` a loop body.
    pub frames: HashMap<Option<usize>, Vec<usize>>,
    /// For each loop: body nodes without successors inside the body; their
    /// outputs make up the item's result.
    pub sinks: HashMap<usize, Vec<usize>>,
}

impl Plan {
    /// Prepares a workflow; refuses one with validation errors.
    pub fn new(def: WorkflowDefinition, registry: &Registry) -> Result<Plan, String> {
        let problems = validate(&def, registry.catalogue());
        if has_errors(&problems) {
            let first = problems
                .iter()
                .find(|p| p.severity == model::Severity::Error)
                .map(|p| p.message.clone());
            return Err(format!(
                "the workflow is not valid: {}",
                first.unwrap_or_default()
            ));
        }
        let graph = Graph::new(&def);
        let order = graph
            .topological_order()
            .map_err(|_| "the workflow has a cycle".to_owned())?;
        let frame_of = graph.innermost_loops();
        let expressions = expr::shared();
        let mut nodes = Vec::with_capacity(def.nodes.len());
        let mut trigger = None;
        for (n, node) in def.nodes.iter().enumerate() {
            let kind = registry
                .get(&node.kind)
                .ok_or_else(|| format!("unknown kind {}", node.kind))?
                .clone();
            let spec = kind.spec();
            if spec.is_trigger() {
                trigger = Some(n);
            }
            let mut reads_steps = Vec::new();
            collect_step_refs(&node.config, expressions, &graph, &mut reads_steps);
            reads_steps.sort_unstable();
            reads_steps.dedup();
            let secret_paths = spec.secret_paths();
            nodes.push(PlanNode {
                id: node.id.clone(),
                is_trigger: spec.is_trigger(),
                is_loop: node.kind == "loop",
                is_pure: kind.is_pure(),
                templated: !spec.is_trigger() && has_templates(&node.config),
                reads_steps,
                incoming: graph.incoming[n]
                    .iter()
                    .map(|&e| (graph.source_of(e), def.edges[e].source_port.clone()))
                    .collect(),
                outgoing: graph.outgoing[n]
                    .iter()
                    .map(|&e| (graph.target_of(e), def.edges[e].source_port.clone()))
                    .collect(),
                frame: frame_of[n],
                retry: def.retry_policy(node).clone(),
                on_error: def.on_error(node),
                secret_paths,
                kind,
            });
        }
        let trigger = trigger.ok_or("the workflow has no trigger")?;
        let mut frames: HashMap<Option<usize>, Vec<usize>> = HashMap::new();
        for (n, frame) in frame_of.iter().enumerate() {
            frames.entry(*frame).or_default().push(n);
        }
        let mut sinks = HashMap::new();
        for (n, node) in nodes.iter().enumerate() {
            if node.is_loop {
                let members = frames.get(&Some(n)).cloned().unwrap_or_default();
                let body_sinks = members
                    .into_iter()
                    .filter(|&m| {
                        nodes[m]
                            .outgoing
                            .iter()
                            .all(|(target, _)| frame_of[*target] != Some(n))
                    })
                    .collect();
                sinks.insert(n, body_sinks);
            }
        }
        for members in frames.values_mut() {
            members.sort_by_key(|m| order.iter().position(|o| o == m));
        }
        Ok(Plan {
            def,
            nodes,
            trigger,
            order,
            frames,
            sinks,
        })
    }

    /// Whether `edge` from `source` (a loop) leads into its body.
    pub fn is_body_edge(&self, source: usize, port: &str) -> bool {
        self.nodes[source].is_loop && port == LOOP_BODY_PORT
    }

    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.id == id)
    }

    pub fn frame_nodes(&self, frame: Option<usize>) -> &[usize] {
        self.frames.get(&frame).map_or(&[], Vec::as_slice)
    }
}

fn collect_step_refs(
    value: &Value,
    expressions: &expr::Expressions,
    graph: &Graph,
    out: &mut Vec<usize>,
) {
    match value {
        Value::String(text) if expr::contains_template(text) => {
            if let Ok(reads) = expressions.check(text) {
                if reads.any {
                    // A step named at run time: any of them may be read.
                    out.extend(0..graph.len());
                }
                out.extend(reads.ids.iter().filter_map(|id| graph.index_of(id)));
            }
        }
        Value::Array(items) => items
            .iter()
            .for_each(|item| collect_step_refs(item, expressions, graph, out)),
        Value::Object(map) => map
            .values()
            .for_each(|item| collect_step_refs(item, expressions, graph, out)),
        _ => {}
    }
}

/// The evaluated config as it may be stored and shown: secret fields,
/// headers (and query parameters) with secret-looking names, and
/// credentials inside URLs hidden.
pub fn redact(node: &PlanNode, config: &Value) -> Value {
    use crate::redact::{MASK, is_secret_header, is_secret_param};
    let mut shown = config.clone();
    for path in &node.secret_paths {
        let pointer: String = path.iter().map(|part| format!("/{part}")).collect();
        if let Some(value) = shown.pointer_mut(&pointer)
            && !value.is_null()
        {
            *value = Value::String(MASK.into());
        }
    }
    for (field, is_secret) in [
        ("headers", is_secret_header as fn(&str) -> bool),
        ("query", is_secret_param),
    ] {
        if let Some(Value::Object(entries)) = shown.get_mut(field) {
            for (name, value) in entries.iter_mut() {
                if is_secret(name) {
                    *value = Value::String(MASK.into());
                }
            }
        }
    }
    crate::redact::json(&mut shown);
    shown
}
