//! A run drawn on the graph of the workflow version it ran: each node
//! coloured by its step's state (queued, running, retrying with its
//! attempt, succeeded, failed, skipped, or not reached), redrawn live with
//! the rest of the run page. Clicking a node points at its step in the
//! timeline. Read-only: the editor is where graphs change.

use std::collections::HashMap;

use leptos::prelude::*;
use model::{
    Category, Position,
    layout::{NODE_HEIGHT, NODE_WIDTH},
};
use serde::{Deserialize, Serialize};

use super::detail::StepRow;
use crate::components::graph::{category_class, curve, port_y, status_caption, truncate};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GraphNode {
    pub id: String,
    pub title: String,
    pub kind_label: String,
    pub category: Option<Category>,
    pub position: Position,
    pub is_trigger: bool,
    /// Output ports in the order the editor draws them.
    pub ports: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GraphEdge {
    pub source: String,
    pub port: String,
    pub target: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunGraph {
    pub nodes: Vec<GraphNode>,
    pub edges: Vec<GraphEdge>,
}

#[cfg(feature = "ssr")]
impl RunGraph {
    /// The drawing of a workflow document, with labels and ports from the
    /// catalogue, so the browser needs no catalogue to show a run.
    pub fn of(def: &model::WorkflowDefinition, catalogue: &model::Catalogue) -> RunGraph {
        let nodes = def
            .nodes
            .iter()
            .map(|node| {
                let spec = catalogue.get(&node.kind);
                let mut ports = spec
                    .map(|s| s.ports(&node.config))
                    .unwrap_or_else(|| vec![model::definition::DEFAULT_PORT.into()]);
                let routes_errors =
                    node.on_error.unwrap_or(def.settings.on_error) == model::OnError::Route;
                // Edges may leave by ports the kind no longer lists (an old
                // version); they still get a place to start from.
                let extra = def
                    .edges
                    .iter()
                    .filter(|e| e.source == node.id)
                    .map(|e| e.source_port.clone());
                for port in
                    extra.chain(routes_errors.then(|| model::definition::ERROR_PORT.to_owned()))
                {
                    if !ports.contains(&port) {
                        ports.push(port);
                    }
                }
                GraphNode {
                    id: node.id.clone(),
                    title: title_of(node),
                    kind_label: spec
                        .map(|s| s.label.clone())
                        .unwrap_or_else(|| node.kind.clone()),
                    category: spec.map(|s| s.category),
                    position: node.position,
                    is_trigger: spec.is_some_and(|s| s.is_trigger()),
                    ports,
                }
            })
            .collect();
        RunGraph {
            nodes,
            edges: edges_of(def),
        }
    }
}

impl RunGraph {
    /// A drawing of a draft without the catalogue at hand (the browser,
    /// reviewing what a planner drafted): labels from the nodes, ports from
    /// the edges that leave them.
    pub fn sketch(def: &model::WorkflowDefinition) -> RunGraph {
        let nodes = def
            .nodes
            .iter()
            .map(|node| {
                let is_trigger = node.kind.ends_with("trigger");
                // The ports its edges leave by; a node without any has one.
                let mut ports: Vec<String> = Vec::new();
                for edge in def.edges.iter().filter(|e| e.source == node.id) {
                    if !ports.contains(&edge.source_port) {
                        ports.push(edge.source_port.clone());
                    }
                }
                if ports.is_empty() {
                    ports.push(model::definition::DEFAULT_PORT.to_owned());
                }
                GraphNode {
                    id: node.id.clone(),
                    title: title_of(node),
                    kind_label: node.kind.clone(),
                    category: is_trigger.then_some(Category::Trigger),
                    position: node.position,
                    is_trigger,
                    ports,
                }
            })
            .collect();
        RunGraph {
            nodes,
            edges: edges_of(def),
        }
    }
}

/// A node's name on the graph: its label, or its id when it has none.
fn title_of(node: &model::Node) -> String {
    if node.label.is_empty() {
        node.id.clone()
    } else {
        node.label.clone()
    }
}

fn edges_of(def: &model::WorkflowDefinition) -> Vec<GraphEdge> {
    def.edges
        .iter()
        .map(|e| GraphEdge {
            source: e.source.clone(),
            port: e.source_port.clone(),
            target: e.target.clone(),
        })
        .collect()
}

/// One state per node: loops run a node once per item, and the node shows
/// the most telling of them (a failure over a success, work in progress
/// over work done), with the highest attempt count.
pub fn node_states(steps: &[StepRow]) -> HashMap<String, (String, i32)> {
    fn weight(status: &str) -> u8 {
        match status {
            "failed" => 6,
            "running" | "retrying" => 5,
            "pending" | "queued" | "waiting" => 4,
            "succeeded" => 3,
            "skipped" => 2,
            _ => 1,
        }
    }
    let mut states: HashMap<String, (String, i32)> = HashMap::new();
    for step in steps {
        let entry = states
            .entry(step.node_id.clone())
            .or_insert_with(|| (step.status.clone(), step.attempts));
        if weight(&step.status) > weight(&entry.0) {
            entry.0 = step.status.clone();
        }
        entry.1 = entry.1.max(step.attempts);
    }
    states
}

/// The graph's bounding box with room for captions, as an SVG viewBox.
fn view_box(nodes: &[GraphNode]) -> String {
    const MARGIN: f64 = 32.0;
    if nodes.is_empty() {
        return format!("0 0 {NODE_WIDTH} {NODE_HEIGHT}");
    }
    let (mut left, mut top) = (f64::MAX, f64::MAX);
    let (mut right, mut bottom) = (f64::MIN, f64::MIN);
    for node in nodes {
        left = left.min(node.position.x);
        top = top.min(node.position.y);
        right = right.max(node.position.x + NODE_WIDTH);
        bottom = bottom.max(node.position.y + NODE_HEIGHT);
    }
    format!(
        "{:.0} {:.0} {:.0} {:.0}",
        left - MARGIN,
        top - MARGIN,
        right - left + 2.0 * MARGIN,
        bottom - top + 2.0 * MARGIN
    )
}

/// The graph with the run's step states (a draft has no run: `steps` is
/// `None`, and nodes carry no captions); `on_pick` gets a clicked node's id.
#[component]
pub fn RunGraphView(
    graph: RunGraph,
    steps: Option<Vec<StepRow>>,
    on_pick: impl Fn(String) + Clone + Send + Sync + 'static,
) -> impl IntoView {
    let is_run = steps.is_some();
    let states = node_states(steps.as_deref().unwrap_or_default());
    let positions: HashMap<&str, &GraphNode> =
        graph.nodes.iter().map(|n| (n.id.as_str(), n)).collect();
    let edges = graph
        .edges
        .iter()
        .filter_map(|edge| {
            let source = positions.get(edge.source.as_str())?;
            let target = positions.get(edge.target.as_str())?;
            let at = source.ports.iter().position(|p| *p == edge.port).unwrap_or(0);
            let from = (
                source.position.x + NODE_WIDTH,
                source.position.y + port_y(at, source.ports.len().max(1)),
            );
            let to = (target.position.x, target.position.y + NODE_HEIGHT / 2.0);
            // An edge the run went along leads to a node that ran.
            let taken = states.get(&edge.target).is_some_and(|(s, _)| s != "skipped")
                && states.contains_key(&edge.source);
            let label = (edge.port != model::definition::DEFAULT_PORT).then(|| {
                view! { <text class="edge-label" x=from.0 + 10.0 y=from.1 - 6.0>{edge.port.clone()}</text> }
            });
            Some(view! {
                <g class="edge-group" class:taken=taken data-testid="run-edge">
                    <path class="edge" d=curve(from, to) marker-end="url(#run-arrow)" />
                    {label}
                </g>
            })
        })
        .collect_view();
    let nodes = graph
        .nodes
        .iter()
        .map(|node| {
            let (status, attempts) = states.get(&node.id).cloned().unwrap_or_default();
            let caption = match (is_run, status.is_empty()) {
                (false, _) => String::new(),
                (true, true) => "not run".to_owned(),
                (true, false) => status_caption(&status, i64::from(attempts)),
            };
            let (x, y) = (node.position.x, node.position.y);
            let pick = {
                let (id, on_pick) = (node.id.clone(), on_pick.clone());
                move || on_pick(id.clone())
            };
            let pick_by_key = {
                let pick = pick.clone();
                move |event: leptos::ev::KeyboardEvent| {
                    if event.key() == "Enter" || event.key() == " " {
                        event.prevent_default();
                        pick();
                    }
                }
            };
            let ports = node.ports.iter().enumerate().map(|(i, _)| {
                view! { <circle class="port port-out" cx=NODE_WIDTH cy=port_y(i, node.ports.len()) r="5" /> }
            }).collect_view();
            let label = if is_run { format!("{}: {caption}", node.title) } else { format!("{}, {}", node.title, node.kind_label) };
            view! {
                <g
                    class="node run-node"
                    class:not-run=is_run && status.is_empty()
                    transform=format!("translate({x:.1},{y:.1})")
                    tabindex="0"
                    role="button"
                    aria-label=label
                    data-testid="run-node"
                    data-node-id=node.id.clone()
                    data-status=status.clone()
                    on:click=move |_| pick()
                    on:keydown=pick_by_key
                >
                    <rect class="node-box" width=NODE_WIDTH height=NODE_HEIGHT rx="10" />
                    <rect class=format!("node-accent accent-{}", category_class(node.category)) width="6" height=NODE_HEIGHT rx="3" />
                    <text class="node-title" x="18" y="26">{truncate(&node.title, 22)}</text>
                    <text class="node-kind" x="18" y="46">{truncate(&node.kind_label, 26)}</text>
                    {(!node.is_trigger).then(|| view! { <circle class="port port-in" cx="0" cy=NODE_HEIGHT / 2.0 r="5" /> })}
                    {ports}
                    <text class="node-status" x="4" y="-8" data-testid="run-node-status">{caption}</text>
                </g>
            }
        })
        .collect_view();
    view! {
        <svg class="run-graph" viewBox=view_box(&graph.nodes) preserveAspectRatio="xMidYMid meet"
            role="group" aria-label=if is_run { "The run on its workflow graph" } else { "The draft's graph" }
            data-testid=if is_run { "run-graph" } else { "draft-graph" }>
            <defs>
                <marker id="run-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
                    <path d="M0,0 L10,5 L0,10 z" class="edge-arrow" />
                </marker>
            </defs>
            {edges}
            {nodes}
        </svg>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(node: &str, status: &str, attempts: i32) -> StepRow {
        StepRow {
            node_id: node.into(),
            item: String::new(),
            status: status.into(),
            attempts,
            port: None,
            input: None,
            output: None,
            error: None,
            started_at: None,
            finished_at: None,
        }
    }

    #[test]
    fn a_node_shows_its_most_telling_item() {
        let states = node_states(&[
            step("each", "succeeded", 1),
            step("each", "failed", 3),
            step("each", "succeeded", 2),
            step("done", "skipped", 0),
        ]);
        assert_eq!(states["each"], ("failed".to_owned(), 3));
        assert_eq!(states["done"], ("skipped".to_owned(), 0));
        assert!(!states.contains_key("never"));
    }

    #[test]
    fn the_view_box_holds_every_node_with_a_margin() {
        let node = |x: f64, y: f64| GraphNode {
            id: format!("{x}"),
            title: String::new(),
            kind_label: String::new(),
            category: None,
            position: Position { x, y },
            is_trigger: false,
            ports: vec![],
        };
        assert_eq!(
            view_box(&[node(0.0, 0.0), node(300.0, 100.0)]),
            "-32 -32 564 228"
        );
    }
}
