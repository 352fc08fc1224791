//! The shape of an n8n export: nodes by name, `connections` from each
//! node's numbered outputs to other nodes; Switchyard ids for the nodes,
//! and where `$json` comes from at each of them.

use std::collections::HashSet;

use model::{
    Edge, WorkflowDefinition,
    workflow_import::{ImportIssue, ImportReport},
};
use serde_json::Value;

use super::{
    expression::Sources,
    nodes::{Data, Step},
};
use crate::DomainError;

pub struct N8nNode {
    pub name: String,
    pub ty: String,
    pub version: f64,
    pub parameters: Value,
    pub position: (f64, f64),
    pub credentials: Option<Value>,
    pub disabled: bool,
}

/// A connection from output `output` of `source` to input `input` of
/// `target`.
#[derive(Clone, Debug)]
pub struct Link {
    pub source: usize,
    pub output: usize,
    pub target: usize,
    pub input: usize,
}

pub struct Graph {
    pub nodes: Vec<N8nNode>,
    pub ids: Vec<String>,
    pub links: Vec<Link>,
    /// The workflow's time zone (`settings.timezone`), when it has one.
    pub timezone: Option<String>,
}

const MAX_NODES: usize = model::validate::MAX_NODES;

fn invalid(field: &str, message: impl Into<String>) -> DomainError {
    DomainError::invalid(field, message)
}

impl Graph {
    pub fn read(export: &Value) -> Result<Graph, DomainError> {
        let list = export
            .get("nodes")
            .and_then(Value::as_array)
            .ok_or_else(|| invalid("workflow.nodes", "an n8n export has a list of nodes"))?;
        if list.len() > MAX_NODES {
            return Err(invalid(
                "workflow.nodes",
                format!("at most {MAX_NODES} nodes, this one has {}", list.len()),
            ));
        }
        let mut nodes = Vec::with_capacity(list.len());
        for (i, node) in list.iter().enumerate() {
            let text = |key: &str| node.get(key).and_then(Value::as_str).map(str::to_owned);
            let field = |key: &str| format!("workflow.nodes[{i}].{key}");
            let name = text("name")
                .filter(|n| !n.is_empty())
                .ok_or_else(|| invalid(&field("name"), "every node has a name"))?;
            let ty =
                text("type").ok_or_else(|| invalid(&field("type"), "every node has a type"))?;
            let position = node
                .get("position")
                .and_then(Value::as_array)
                .map(|p| {
                    (
                        p.first().and_then(Value::as_f64).unwrap_or(0.0),
                        p.get(1).and_then(Value::as_f64).unwrap_or(0.0),
                    )
                })
                .unwrap_or((i as f64 * 260.0, 0.0));
            if nodes.iter().any(|n: &N8nNode| n.name == name) {
                return Err(invalid(
                    &field("name"),
                    format!("two nodes are named `{name}`"),
                ));
            }
            nodes.push(N8nNode {
                name,
                ty,
                version: node
                    .get("typeVersion")
                    .and_then(Value::as_f64)
                    .unwrap_or(1.0),
                parameters: node
                    .get("parameters")
                    .cloned()
                    .filter(Value::is_object)
                    .unwrap_or_else(|| Value::Object(Default::default())),
                position,
                credentials: node.get("credentials").cloned(),
                disabled: node
                    .get("disabled")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            });
        }
        let ids = assign_ids(&nodes);
        let mut links = Vec::new();
        if let Some(connections) = export.get("connections").and_then(Value::as_object) {
            for (source_name, kinds) in connections {
                let Some(source) = nodes.iter().position(|n| &n.name == source_name) else {
                    continue; // n8n keeps connections of deleted nodes at times
                };
                let outputs = kinds
                    .get("main")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                for (output, targets) in outputs.iter().enumerate() {
                    for target in targets.as_array().into_iter().flatten() {
                        let Some(name) = target.get("node").and_then(Value::as_str) else {
                            continue;
                        };
                        let input =
                            target.get("index").and_then(Value::as_u64).unwrap_or(0) as usize;
                        if let Some(target) = nodes.iter().position(|n| n.name == name) {
                            links.push(Link {
                                source,
                                output,
                                target,
                                input,
                            });
                        }
                    }
                }
            }
        }
        let timezone = export
            .pointer("/settings/timezone")
            .and_then(Value::as_str)
            .filter(|tz| !tz.is_empty() && *tz != "DEFAULT")
            .map(str::to_owned);
        let mut graph = Graph {
            nodes,
            ids,
            links,
            timezone,
        };
        graph.drop_loop_backs();
        Ok(graph)
    }

    /// The connection back into a Loop Over Items node from the end of its
    /// loop is how n8n loops; Switchyard's loop body ends by itself.
    fn drop_loop_backs(&mut self) {
        let loops: Vec<usize> = (0..self.nodes.len())
            .filter(|&i| self.nodes[i].ty.ends_with(".splitInBatches"))
            .collect();
        for l in loops {
            let within = self.reachable_from(l);
            self.links
                .retain(|link| !(link.target == l && within.contains(&link.source)));
        }
    }

    fn reachable_from(&self, start: usize) -> HashSet<usize> {
        // Successors once, so that a search is linear in the graph.
        let mut next: Vec<Vec<usize>> = vec![Vec::new(); self.nodes.len()];
        for link in &self.links {
            next[link.source].push(link.target);
        }
        let mut seen = HashSet::new();
        let mut stack = next[start].clone();
        while let Some(n) = stack.pop() {
            if seen.insert(n) {
                stack.extend(&next[n]);
            }
        }
        seen
    }

    /// Whether `node` is reached from output `output` of `start`.
    pub fn within_output(&self, start: usize, output: usize, node: usize) -> bool {
        self.links
            .iter()
            .filter(|l| l.source == start && l.output == output)
            .any(|l| l.target == node || self.reachable_from(l.target).contains(&node))
    }

    /// Whether `earlier` is upstream of `later`.
    pub fn runs_before(&self, earlier: usize, later: usize) -> bool {
        self.reachable_from(earlier).contains(&later)
    }

    pub fn inputs(&self, node: usize) -> Vec<&Link> {
        self.links.iter().filter(|l| l.target == node).collect()
    }

    pub fn has_input(&self, node: usize) -> bool {
        self.links.iter().any(|l| l.target == node)
    }

    /// Nodes with their inputs first (what a cycle leaves goes last).
    pub fn order(&self) -> Vec<usize> {
        let n = self.nodes.len();
        let mut waiting = vec![0usize; n];
        let mut outgoing: Vec<Vec<usize>> = vec![Vec::new(); n];
        for link in self.links.iter().filter(|l| l.source != l.target) {
            waiting[link.target] += 1;
            outgoing[link.source].push(link.target);
        }
        let mut ready: std::collections::VecDeque<usize> =
            (0..n).filter(|&i| waiting[i] == 0).collect();
        let mut order = Vec::with_capacity(n);
        let mut placed = vec![false; n];
        while let Some(node) = ready.pop_front() {
            placed[node] = true;
            order.push(node);
            for &next in &outgoing[node] {
                waiting[next] -= 1;
                if waiting[next] == 0 {
                    ready.push_back(next);
                }
            }
        }
        order.extend((0..n).filter(|&i| !placed[i]));
        order
    }

    /// An id not taken by any node.
    pub fn fresh_id(&self, base: &str) -> String {
        let mut id = base.to_owned();
        let mut n = 2;
        while self.ids.contains(&id) {
            id = format!("{base}_{n}");
            n += 1;
        }
        id
    }

    /// The edges: each n8n output to the port its step has for it.
    pub fn edges(
        &self,
        steps: &[Step],
        workflow: &mut WorkflowDefinition,
        report: &mut ImportReport,
    ) {
        let mut seen = HashSet::new();
        for link in &self.links {
            let step = &steps[link.source];
            let ports: Vec<&str> = match step.ports.get(link.output) {
                Some(ports) => ports.iter().map(String::as_str).collect(),
                None => Vec::new(),
            };
            if ports.is_empty() {
                let node = &self.nodes[link.source];
                report.unsupported.push(ImportIssue {
                    node: node.name.clone(),
                    node_type: node.ty.clone(),
                    node_id: Some(self.ids[link.source].clone()),
                    field: None,
                    message: format!(
                        "its output {} to `{}` has no counterpart in Switchyard and was not connected",
                        link.output + 1,
                        self.nodes[link.target].name
                    ),
                });
                continue;
            }
            for port in ports {
                if seen.insert((link.source, port.to_owned(), link.target)) {
                    workflow.edges.push(Edge {
                        source: self.ids[link.source].clone(),
                        source_port: port.to_owned(),
                        target: self.ids[link.target].clone(),
                    });
                }
            }
        }
    }
}

/// `Get customer!` → `get_customer`: lower-case letters, digits and single
/// `_` between them.
pub fn slug(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect::<String>()
        .split('_')
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("_")
}

/// `Get customer` → `get_customer`; unique, starting with a letter.
fn assign_ids(nodes: &[N8nNode]) -> Vec<String> {
    let mut taken: HashSet<String> = HashSet::new();
    nodes
        .iter()
        .map(|node| {
            let mut base = slug(&node.name);
            base.truncate(48);
            if !base.starts_with(|c: char| c.is_ascii_alphabetic()) {
                base = format!("n_{base}");
            }
            // `a b` and `a_b` slug alike, and a node may be named `a_b_2`:
            // count up until the id is free.
            let mut id = base.clone();
            let mut n = 2;
            while !taken.insert(id.clone()) {
                id = format!("{base}_{n}");
                n += 1;
            }
            id
        })
        .collect()
}

/// Where `$json` comes from at one node, through what its inputs became.
pub struct Sourcing<'a> {
    graph: &'a Graph,
    steps: &'a [Option<Step>],
    node: usize,
}

impl<'a> Sourcing<'a> {
    pub fn new(graph: &'a Graph, steps: &'a [Option<Step>], node: usize) -> Sourcing<'a> {
        Sourcing { graph, steps, node }
    }

    /// The data node `index` passes on.
    fn output_of(&self, index: usize, key: Option<&str>, depth: usize) -> Result<String, String> {
        if depth > MAX_NODES {
            return Err("`$json` goes round in a cycle".into());
        }
        let name = &self.graph.nodes[index].name;
        let Some(step) = self.steps[index].as_ref() else {
            return Err(format!(
                "`{name}` runs after this node, so its data is not there yet"
            ));
        };
        match &step.data {
            Data::Trigger => Ok(join("trigger", key)),
            Data::Delivery => Ok(join("trigger.body", key)),
            Data::Schedule => match key {
                None => Ok("trigger".into()),
                Some("timestamp") => Ok("trigger.scheduled_at".into()),
                Some(other) => Err(format!(
                    "the schedule's `{other}`: Switchyard's schedule gives scheduled_at, scheduled_unix and fired_at"
                )),
            },
            Data::Output(base) => Ok(join(base, key)),
            Data::Fields { base, names } => match key {
                Some(k) if names.iter().any(|n| n == k) => Ok(join(base, key)),
                Some(_) => self.input_of(index, key, depth + 1),
                None => Err(format!(
                    "all of `{name}`'s fields (it keeps its input's other fields): name the field"
                )),
            },
            Data::PassThrough => self.input_of(index, key, depth + 1),
            Data::FromInput(input) => match self
                .graph
                .links
                .iter()
                .find(|l| l.target == index && l.input == *input)
            {
                Some(link) => self.output_of(link.source, key, depth + 1),
                None => Err(format!("`{name}` has no input {}", input + 1)),
            },
            Data::Loop { .. } => Err(format!("the items `{name}` has looped over")),
            Data::Merged => Err(format!(
                "`$json` after the merge `{name}`: read the branch with $('Name')"
            )),
            Data::Nothing => Err(format!("`{name}` gives no data Switchyard keeps")),
        }
    }

    /// The data that reaches node `index` through its one input.
    fn input_of(&self, index: usize, key: Option<&str>, depth: usize) -> Result<String, String> {
        let inputs = self.graph.inputs(index);
        let name = &self.graph.nodes[index].name;
        match inputs.as_slice() {
            [] => Err(format!("`{name}` has no input")),
            [link] => {
                if let Some(Step {
                    data: Data::Loop { body_output, field },
                    ..
                }) = self.steps[link.source].as_ref()
                    && link.output == *body_output
                {
                    return Ok(item_key(key, field.as_deref()));
                }
                self.output_of(link.source, key, depth + 1)
            }
            _ => Err(format!(
                "`$json` at `{name}`, which has several inputs: read one with $('Name')"
            )),
        }
    }
}

/// `item`, or its field; the field a Split Out split is the item itself.
fn item_key(key: Option<&str>, field: Option<&str>) -> String {
    match (key, field) {
        (Some(k), Some(f)) if k == f => "item".to_owned(),
        _ => join("item", key),
    }
}

fn join(base: &str, key: Option<&str>) -> String {
    match key {
        None => base.to_owned(),
        Some(k) => super::expression::attribute(base, k),
    }
}

impl Sources for Sourcing<'_> {
    fn current(&self, key: Option<&str>) -> Result<String, String> {
        self.input_of(self.node, key, 0)
    }

    fn node(&self, name: &str, key: Option<&str>) -> Result<String, String> {
        let index = self
            .graph
            .nodes
            .iter()
            .position(|n| n.name == name)
            .ok_or_else(|| format!("there is no node `{name}`"))?;
        if !self.graph.runs_before(index, self.node) {
            return Err(format!("`{name}` does not run before this node"));
        }
        // A loop named from within its body: the item at hand.
        if let Some(Step {
            data: Data::Loop { body_output, field },
            ..
        }) = self.steps[index].as_ref()
            && self.graph.within_output(index, *body_output, self.node)
        {
            return Ok(item_key(key, field.as_deref()));
        }
        self.output_of(index, key, 0)
    }
}
