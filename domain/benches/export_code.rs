//! How long "Export as code" takes to generate the project of a large
//! workflow (500 steps): a chain of transforms reading the trigger and the
//! previous step, with a condition every tenth step and an HTTP request
//! every seventh. Prints the median and the slowest of the runs, and the
//! project's size.
//!
//! cargo bench -p domain --bench export_code -- [steps] [runs]

use std::time::Instant;

use model::WorkflowDefinition;
use serde_json::json;

fn workflow(steps: usize) -> WorkflowDefinition {
    let mut nodes = vec![json!({"id": "start", "kind": "manual_trigger"})];
    let mut edges = Vec::new();
    for i in 1..steps {
        let id = format!("step_{i}");
        let previous = if i == 1 {
            "start".to_owned()
        } else {
            format!("step_{}", i - 1)
        };
        let node = if i % 10 == 0 {
            json!({"id": id, "kind": "condition", "config": {"expression": "{{ trigger.total > 10 and trigger.email is defined }}"}})
        } else if i % 7 == 0 {
            json!({"id": id, "kind": "http_request", "config": {"method": "POST", "url": "https://api.example.com/items/{{ trigger.id }}",
                "body": {"n": "{{ trigger.total + 1 }}", "email": "{{ trigger.email | lower }}"}}})
        } else {
            json!({"id": id, "kind": "transform", "config": {"template": {"total": "{{ trigger.total * 2 }}",
                "text": "Hello {{ trigger.name | title }}, {{ trigger.items | length }} items"}}})
        };
        let port = if (i - 1) % 10 == 0 && i > 1 {
            "true"
        } else {
            "out"
        };
        nodes.push(node);
        edges.push(json!({"source": previous, "source_port": port, "target": id}));
    }
    serde_json::from_value(json!({"name": "Large", "nodes": nodes, "edges": edges}))
        .expect("a workflow")
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let steps = args.first().copied().unwrap_or(500);
    let runs = args.get(1).copied().unwrap_or(20);
    let definition = workflow(steps);
    let mut times = Vec::with_capacity(runs);
    let mut size = 0;
    for _ in 0..runs {
        let started = Instant::now();
        let files = domain::export::typescript("bench", &definition, &[], &[]).expect("exports");
        times.push(started.elapsed());
        size = files.iter().map(|f| f.contents.len()).sum::<usize>();
    }
    times.sort();
    println!(
        "export of {steps} steps: median {:.1} ms, slowest {:.1} ms over {runs} runs; {} KiB of files",
        times[runs / 2].as_secs_f64() * 1000.0,
        times[runs - 1].as_secs_f64() * 1000.0,
        size / 1024
    );
}
