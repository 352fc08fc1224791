//! How long an n8n import's translation takes for the largest workflow
//! accepted (500 nodes): a chain of Set nodes, each reading the previous
//! one's `$json` and the first node by name, with a condition every tenth
//! node. Prints the median and the slowest of the runs.
//!
//! cargo bench -p domain --bench n8n_import -- [nodes] [runs]

use std::time::Instant;

use serde_json::{Value, json};

fn export(nodes: usize) -> Value {
    let mut list = vec![
        json!({"name": "Start", "type": "n8n-nodes-base.manualTrigger", "typeVersion": 1, "position": [0, 0], "parameters": {}}),
    ];
    let mut connections = serde_json::Map::new();
    for i in 1..nodes {
        let name = format!("Step {i}");
        let node = if i % 10 == 0 {
            json!({"name": name, "type": "n8n-nodes-base.if", "typeVersion": 2.2, "position": [i * 200, 0], "parameters": {
                "conditions": {"options": {"caseSensitive": true}, "combinator": "and", "conditions": [
                    {"leftValue": "={{ $json.total }}", "rightValue": 10, "operator": {"type": "number", "operation": "gt"}}]}}})
        } else {
            json!({"name": name, "type": "n8n-nodes-base.set", "typeVersion": 3.4, "position": [i * 200, 0], "parameters": {
                "assignments": {"assignments": [
                    {"id": "a", "name": "total", "value": "={{ $json.total + 1 }}", "type": "number"},
                    {"id": "b", "name": "email", "value": "={{ $('Start').item.json.email.toLowerCase() }}", "type": "string"}]},
                "includeOtherFields": true, "options": {}}})
        };
        list.push(node);
        let previous = if i == 1 {
            "Start".to_owned()
        } else {
            format!("Step {}", i - 1)
        };
        connections.insert(
            previous,
            json!({"main": [[{"node": format!("Step {i}"), "type": "main", "index": 0}]]}),
        );
    }
    json!({"name": "Large", "nodes": list, "connections": connections})
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let nodes = args.first().copied().unwrap_or(500);
    let runs = args.get(1).copied().unwrap_or(20);
    let document = export(nodes);
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        let translated = domain::n8n::translate(&document).expect("translates");
        times.push(started.elapsed());
        assert_eq!(translated.workflow.nodes.len(), nodes);
        assert!(translated.report.unsupported.is_empty());
    }
    times.sort();
    println!(
        "n8n import of {nodes} nodes: median {:.1} ms, slowest {:.1} ms ({runs} runs)",
        times[runs / 2].as_secs_f64() * 1000.0,
        times[runs - 1].as_secs_f64() * 1000.0
    );
}
