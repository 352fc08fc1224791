//! The workflow as a graph: edges by node, topological order, cycles,
//! ancestry and loop bodies. Used by the validator and by the engine.

use std::collections::HashMap;

use crate::definition::WorkflowDefinition;

/// Port of a `loop` node whose edges lead into the per-item sub-path.
pub const LOOP_BODY_PORT: &str = "body";

pub struct Graph<'a> {
    pub def: &'a WorkflowDefinition,
    index: HashMap<&'a str, usize>,
    /// Edge indices leaving each node.
    pub outgoing: Vec<Vec<usize>>,
    /// Edge indices entering each node.
    pub incoming: Vec<Vec<usize>>,
}

impl<'a> Graph<'a> {
    /// Indexes the definition. Edges whose ends do not exist are left out
    /// (the validator reports them); with duplicate node ids the first wins.
    pub fn new(def: &'a WorkflowDefinition) -> Graph<'a> {
        let mut index = HashMap::with_capacity(def.nodes.len());
        for (i, node) in def.nodes.iter().enumerate() {
            index.entry(node.id.as_str()).or_insert(i);
        }
        let mut outgoing = vec![Vec::new(); def.nodes.len()];
        let mut incoming = vec![Vec::new(); def.nodes.len()];
        for (e, edge) in def.edges.iter().enumerate() {
            if let (Some(&s), Some(&t)) = (
                index.get(edge.source.as_str()),
                index.get(edge.target.as_str()),
            ) {
                outgoing[s].push(e);
                incoming[t].push(e);
            }
        }
        Graph {
            def,
            index,
            outgoing,
            incoming,
        }
    }

    pub fn len(&self) -> usize {
        self.def.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.def.nodes.is_empty()
    }

    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    pub fn source_of(&self, edge: usize) -> usize {
        self.index[self.def.edges[edge].source.as_str()]
    }

    pub fn target_of(&self, edge: usize) -> usize {
        self.index[self.def.edges[edge].target.as_str()]
    }

    pub fn successors(&self, node: usize) -> impl Iterator<Item = usize> + '_ {
        self.outgoing[node].iter().map(|&e| self.target_of(e))
    }

    pub fn predecessors(&self, node: usize) -> impl Iterator<Item = usize> + '_ {
        self.incoming[node].iter().map(|&e| self.source_of(e))
    }

    /// Nodes in dependency order, or the nodes that sit on a cycle.
    pub fn topological_order(&self) -> Result<Vec<usize>, Vec<usize>> {
        let mut remaining: Vec<usize> = self.incoming.iter().map(Vec::len).collect();
        let mut ready: Vec<usize> = (0..self.len()).filter(|&n| remaining[n] == 0).collect();
        let mut order = Vec::with_capacity(self.len());
        while let Some(node) = ready.pop() {
            order.push(node);
            for next in self.successors(node) {
                remaining[next] -= 1;
                if remaining[next] == 0 {
                    ready.push(next);
                }
            }
        }
        if order.len() == self.len() {
            return Ok(order);
        }
        // Left over: nodes on a cycle and nodes downstream of one. Keep those
        // that can reach themselves.
        let left: Vec<bool> = (0..self.len()).map(|n| remaining[n] > 0).collect();
        let on_cycle = (0..self.len())
            .filter(|&n| left[n] && self.reaches(n, n, &left))
            .collect();
        Err(on_cycle)
    }

    /// Whether `to` can be reached from `from` by at least one edge,
    /// moving only through nodes where `allowed` is true.
    fn reaches(&self, from: usize, to: usize, allowed: &[bool]) -> bool {
        let mut seen = vec![false; self.len()];
        let mut stack: Vec<usize> = self.successors(from).collect();
        while let Some(node) = stack.pop() {
            if node == to {
                return true;
            }
            if !allowed[node] || std::mem::replace(&mut seen[node], true) {
                continue;
            }
            stack.extend(self.successors(node));
        }
        false
    }

    /// Every node reachable from `start` (itself included).
    pub fn reachable_from(&self, start: usize) -> Vec<bool> {
        let mut seen = vec![false; self.len()];
        let mut stack = vec![start];
        while let Some(node) = stack.pop() {
            if !std::mem::replace(&mut seen[node], true) {
                stack.extend(self.successors(node));
            }
        }
        seen
    }

    /// Every node upstream of `node` (itself excluded).
    pub fn ancestors(&self, node: usize) -> Vec<bool> {
        let mut seen = vec![false; self.len()];
        let mut stack: Vec<usize> = self.predecessors(node).collect();
        while let Some(current) = stack.pop() {
            if !std::mem::replace(&mut seen[current], true) {
                stack.extend(self.predecessors(current));
            }
        }
        seen
    }

    /// For each node, the innermost loop whose body holds it (nested bodies
    /// are smaller, so the smallest body wins); `None` outside loops.
    pub fn innermost_loops(&self) -> Vec<Option<usize>> {
        let mut frame = vec![None; self.len()];
        let mut size = vec![usize::MAX; self.len()];
        for (n, node) in self.def.nodes.iter().enumerate() {
            if node.kind != "loop" {
                continue;
            }
            let body = self.loop_body(n);
            for &member in &body {
                if body.len() < size[member] {
                    size[member] = body.len();
                    frame[member] = Some(n);
                }
            }
        }
        frame
    }

    /// The nodes of a loop's per-item sub-path: everything reachable from
    /// its `body` port edges.
    pub fn loop_body(&self, loop_node: usize) -> Vec<usize> {
        let mut seen = vec![false; self.len()];
        let mut stack: Vec<usize> = self.outgoing[loop_node]
            .iter()
            .filter(|&&e| self.def.edges[e].source_port == LOOP_BODY_PORT)
            .map(|&e| self.target_of(e))
            .collect();
        let mut body = Vec::new();
        while let Some(node) = stack.pop() {
            if node == loop_node || std::mem::replace(&mut seen[node], true) {
                continue;
            }
            body.push(node);
            stack.extend(self.successors(node));
        }
        body.sort_unstable();
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::definition::Edge;
    use serde_json::json;

    fn def(edges: &[(&str, &str)]) -> WorkflowDefinition {
        let mut ids: Vec<&str> = edges.iter().flat_map(|(a, b)| [*a, *b]).collect();
        ids.sort();
        ids.dedup();
        serde_json::from_value(json!({
            "name": "g",
            "nodes": ids.iter().map(|id| json!({"id": id, "kind": "transform"})).collect::<Vec<_>>(),
            "edges": edges.iter().map(|(a, b)| Edge { source: a.to_string(), source_port: "out".into(), target: b.to_string() }).collect::<Vec<_>>(),
        }))
        .unwrap()
    }

    #[test]
    fn orders_dependencies_first() {
        let d = def(&[("a", "b"), ("b", "c"), ("a", "c")]);
        let g = Graph::new(&d);
        let order: Vec<&str> = g
            .topological_order()
            .unwrap()
            .iter()
            .map(|&i| d.nodes[i].id.as_str())
            .collect();
        assert_eq!(order, ["a", "b", "c"]);
    }

    #[test]
    fn reports_only_nodes_on_cycles() {
        let d = def(&[("a", "b"), ("b", "c"), ("c", "b"), ("c", "d")]);
        let g = Graph::new(&d);
        let cycle: Vec<&str> = g
            .topological_order()
            .unwrap_err()
            .iter()
            .map(|&i| d.nodes[i].id.as_str())
            .collect();
        assert_eq!(cycle, ["b", "c"]);
    }

    #[test]
    fn ancestry() {
        let d = def(&[("a", "b"), ("b", "c"), ("x", "c")]);
        let g = Graph::new(&d);
        let c = g.index_of("c").unwrap();
        let ancestors: Vec<&str> = (0..g.len())
            .filter(|&i| g.ancestors(c)[i])
            .map(|i| d.nodes[i].id.as_str())
            .collect();
        assert_eq!(ancestors, ["a", "b", "x"]);
    }
}
