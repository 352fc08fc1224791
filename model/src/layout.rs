//! Automatic layout of a workflow graph, left to right: a layered
//! (Sugiyama-style) DAG layout. Nodes go into columns by longest path from
//! the roots, columns are reordered by the barycentre of their neighbours
//! to cut crossings, and each column is centred. Edges closing a cycle
//! (possible while editing) are ignored for layering.

use std::collections::HashMap;

use crate::{Position, WorkflowDefinition};

/// Size of a node on the canvas, shared by the layout and the editor.
pub const NODE_WIDTH: f64 = 200.0;
pub const NODE_HEIGHT: f64 = 64.0;
const COLUMN_GAP: f64 = 90.0;
const ROW_GAP: f64 = 40.0;
const SWEEPS: usize = 8;

/// Where a node added to `def` goes: at `preferred` if nothing is there,
/// otherwise in the nearest free place below it (then in the next columns
/// to the right), so that a new node never lands on top of another.
pub fn free_spot(def: &WorkflowDefinition, preferred: Position) -> Position {
    let overlaps = |x: f64, y: f64| {
        def.nodes.iter().any(|n| {
            (n.position.x - x).abs() < NODE_WIDTH + ROW_GAP / 2.0
                && (n.position.y - y).abs() < NODE_HEIGHT + ROW_GAP / 2.0
        })
    };
    // A bounded search: past it, the preferred place is as good as any.
    for column in 0..20 {
        let x = preferred.x + column as f64 * (NODE_WIDTH + COLUMN_GAP);
        for row in 0..50 {
            let y = preferred.y + row as f64 * (NODE_HEIGHT + ROW_GAP);
            if !overlaps(x, y) {
                return Position { x, y };
            }
        }
    }
    preferred
}

/// The place beside `id` (to its right) where a node added after it goes,
/// before [`free_spot`] moves it clear of others.
pub fn beside(def: &WorkflowDefinition, id: &str) -> Option<Position> {
    let node = def.nodes.iter().find(|n| n.id == id)?;
    Some(Position {
        x: node.position.x + NODE_WIDTH + COLUMN_GAP,
        y: node.position.y,
    })
}

/// New positions for every node, keyed by id.
pub fn layered(def: &WorkflowDefinition) -> HashMap<String, Position> {
    let count = def.nodes.len();
    let index: HashMap<&str, usize> = def
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.id.as_str(), i))
        .collect();
    let mut successors = vec![Vec::new(); count];
    for edge in &def.edges {
        if let (Some(&s), Some(&t)) = (
            index.get(edge.source.as_str()),
            index.get(edge.target.as_str()),
        ) && s != t
            && !successors[s].contains(&t)
        {
            successors[s].push(t);
        }
    }
    let successors = without_back_edges(&successors);
    let mut predecessors = vec![Vec::new(); count];
    for (s, targets) in successors.iter().enumerate() {
        for &t in targets {
            predecessors[t].push(s);
        }
    }

    let layer_of = longest_path_layers(&successors, &predecessors);
    let layer_count = layer_of.iter().copied().max().map_or(0, |l| l + 1);
    let mut layers: Vec<Vec<usize>> = vec![Vec::new(); layer_count];
    for (node, &layer) in layer_of.iter().enumerate() {
        layers[layer].push(node);
    }
    order_by_barycentre(&mut layers, &successors, &predecessors);

    let tallest = layers.iter().map(Vec::len).max().unwrap_or(0) as f64;
    let full_height = tallest * (NODE_HEIGHT + ROW_GAP);
    let mut positions = HashMap::with_capacity(count);
    for (column, nodes) in layers.iter().enumerate() {
        let height = nodes.len() as f64 * (NODE_HEIGHT + ROW_GAP);
        let top = (full_height - height) / 2.0;
        for (row, &node) in nodes.iter().enumerate() {
            positions.insert(
                def.nodes[node].id.clone(),
                Position {
                    x: 40.0 + column as f64 * (NODE_WIDTH + COLUMN_GAP),
                    y: 40.0 + top + row as f64 * (NODE_HEIGHT + ROW_GAP),
                },
            );
        }
    }
    positions
}

/// Lays the graph out when nodes sit on top of one another, as in a
/// document written by hand or through the API without positions; says
/// whether it did. Positions a person chose are left alone.
pub fn arrange_if_stacked(def: &mut WorkflowDefinition) -> bool {
    let mut seen = std::collections::HashSet::new();
    let stacked = def
        .nodes
        .iter()
        .any(|n| !seen.insert((n.position.x.to_bits(), n.position.y.to_bits())));
    if !stacked {
        return false;
    }
    let positions = layered(def);
    for node in &mut def.nodes {
        if let Some(position) = positions.get(&node.id) {
            node.position = *position;
        }
    }
    true
}

/// The graph with every edge that closes a cycle (found by depth-first
/// search in node order) removed.
fn without_back_edges(successors: &[Vec<usize>]) -> Vec<Vec<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    let mut marks = vec![Mark::New; successors.len()];
    let mut kept: Vec<Vec<usize>> = vec![Vec::new(); successors.len()];
    for root in 0..successors.len() {
        if marks[root] != Mark::New {
            continue;
        }
        // (node, index of the next successor to look at)
        let mut stack = vec![(root, 0usize)];
        marks[root] = Mark::Open;
        while let Some((node, next)) = stack.last_mut() {
            let node = *node;
            if let Some(&target) = successors[node].get(*next) {
                *next += 1;
                match marks[target] {
                    Mark::Open => {} // a back edge: dropped
                    Mark::Done => kept[node].push(target),
                    Mark::New => {
                        kept[node].push(target);
                        marks[target] = Mark::Open;
                        stack.push((target, 0));
                    }
                }
            } else {
                marks[node] = Mark::Done;
                stack.pop();
            }
        }
    }
    kept
}

/// Each node's column: one more than its furthest predecessor's.
fn longest_path_layers(successors: &[Vec<usize>], predecessors: &[Vec<usize>]) -> Vec<usize> {
    let mut waiting: Vec<usize> = predecessors.iter().map(Vec::len).collect();
    let mut ready: Vec<usize> = (0..successors.len()).filter(|&n| waiting[n] == 0).collect();
    let mut layer = vec![0usize; successors.len()];
    while let Some(node) = ready.pop() {
        for &next in &successors[node] {
            layer[next] = layer[next].max(layer[node] + 1);
            waiting[next] -= 1;
            if waiting[next] == 0 {
                ready.push(next);
            }
        }
    }
    layer
}

/// Reorders each column by the mean row of its neighbours in the column
/// before (sweeping right) or after (sweeping left).
fn order_by_barycentre(
    layers: &mut [Vec<usize>],
    successors: &[Vec<usize>],
    predecessors: &[Vec<usize>],
) {
    let node_count = successors.len();
    let mut row = vec![0.0f64; node_count];
    let remember = |layers: &[Vec<usize>], row: &mut Vec<f64>| {
        for nodes in layers {
            for (i, &n) in nodes.iter().enumerate() {
                row[n] = i as f64;
            }
        }
    };
    remember(layers, &mut row);
    for sweep in 0..SWEEPS {
        let rightwards = sweep % 2 == 0;
        let columns: Vec<usize> = if rightwards {
            (1..layers.len()).collect()
        } else {
            (0..layers.len().saturating_sub(1)).rev().collect()
        };
        for column in columns {
            let neighbours = if rightwards { predecessors } else { successors };
            let mut keyed: Vec<(f64, usize)> = layers[column]
                .iter()
                .map(|&n| {
                    let around = &neighbours[n];
                    let key = if around.is_empty() {
                        row[n]
                    } else {
                        around.iter().map(|&m| row[m]).sum::<f64>() / around.len() as f64
                    };
                    (key, n)
                })
                .collect();
            keyed.sort_by(|a, b| a.0.total_cmp(&b.0));
            layers[column] = keyed.into_iter().map(|(_, n)| n).collect();
            for (i, &n) in layers[column].iter().enumerate() {
                row[n] = i as f64;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn definition(nodes: &[&str], edges: &[(&str, &str)]) -> WorkflowDefinition {
        serde_json::from_value(json!({
            "name": "layout",
            "nodes": nodes.iter().map(|id| json!({"id": id, "kind": "transform"})).collect::<Vec<_>>(),
            "edges": edges.iter().map(|(s, t)| json!({"source": s, "target": t})).collect::<Vec<_>>(),
        }))
        .unwrap()
    }

    #[test]
    fn item15_added_nodes_never_land_on_others() {
        let mut def = definition(&["a"], &[]);
        def.nodes[0].position = Position { x: 100.0, y: 100.0 };
        for n in 0..3 {
            let preferred = beside(&def, "a").unwrap();
            let at = free_spot(&def, preferred);
            let mut node = def.nodes[0].clone();
            node.id = format!("added_{n}");
            node.position = at;
            def.nodes.push(node);
        }
        for (i, a) in def.nodes.iter().enumerate() {
            for b in &def.nodes[i + 1..] {
                let apart = (a.position.x - b.position.x).abs() >= NODE_WIDTH
                    || (a.position.y - b.position.y).abs() >= NODE_HEIGHT;
                assert!(apart, "{} and {} overlap", a.id, b.id);
            }
        }
        assert!(
            def.nodes[1..]
                .iter()
                .all(|n| n.position.x > 100.0 + NODE_WIDTH),
            "next to the selection, on its right"
        );
        let empty = definition(&[], &[]);
        let here = Position { x: 5.0, y: 7.0 };
        assert_eq!(free_spot(&empty, here), here);
    }

    #[test]
    fn columns_follow_the_longest_path() {
        let def = definition(
            &["a", "b", "c", "d"],
            &[("a", "b"), ("b", "c"), ("a", "c"), ("c", "d")],
        );
        let at = layered(&def);
        assert!(at["a"].x < at["b"].x && at["b"].x < at["c"].x && at["c"].x < at["d"].x);
    }

    #[test]
    fn branches_share_a_column_without_overlapping() {
        let def = definition(
            &["t", "yes", "no", "join"],
            &[("t", "yes"), ("t", "no"), ("yes", "join"), ("no", "join")],
        );
        let at = layered(&def);
        assert_eq!(at["yes"].x, at["no"].x);
        assert!((at["yes"].y - at["no"].y).abs() >= NODE_HEIGHT);
        assert!(at["join"].x > at["yes"].x);
    }

    #[test]
    fn crossings_are_undone() {
        // a→d and b→c drawn in the order a, b / c, d would cross.
        let def = definition(&["a", "b", "c", "d"], &[("a", "d"), ("b", "c")]);
        let at = layered(&def);
        assert_eq!(at["a"].y < at["b"].y, at["d"].y < at["c"].y);
    }

    #[test]
    fn cycles_and_unknown_ends_do_not_stop_it() {
        let def = definition(
            &["a", "b", "c"],
            &[
                ("a", "b"),
                ("b", "c"),
                ("c", "a"),
                ("a", "ghost"),
                ("b", "b"),
            ],
        );
        let at = layered(&def);
        assert_eq!(at.len(), 3);
        assert!(at["a"].x < at["b"].x && at["b"].x < at["c"].x);
    }

    #[test]
    fn only_stacked_graphs_are_rearranged() {
        let mut stacked = definition(&["a", "b"], &[("a", "b")]);
        assert!(arrange_if_stacked(&mut stacked));
        assert!(stacked.nodes[0].position.x < stacked.nodes[1].position.x);

        let mut placed = stacked.clone();
        placed.nodes[1].position = Position { x: -500.0, y: 7.0 };
        assert!(!arrange_if_stacked(&mut placed));
        assert_eq!(placed.nodes[1].position, Position { x: -500.0, y: 7.0 });
    }

    #[test]
    fn a_large_graph_is_laid_out_without_overlap() {
        let ids: Vec<String> = (0..300).map(|i| format!("n{i}")).collect();
        let nodes: Vec<&str> = ids.iter().map(String::as_str).collect();
        let edges: Vec<(&str, &str)> = (1..300).map(|i| (nodes[(i - 1) / 3], nodes[i])).collect();
        let at = layered(&definition(&nodes, &edges));
        let mut seen: Vec<(i64, i64)> = at.values().map(|p| (p.x as i64, p.y as i64)).collect();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 300);
    }
}
