//! Scores the offline planner on the prompt table and prints the figures
//! and every prompt it did not plan perfectly:
//! `cargo run --release -p planner --example score`

#[path = "../tests/common/mod.rs"]
mod common;

use planner::{Request, generate, score};

fn main() {
    let catalog = common::builtin_catalog();
    let table = include_str!("../quality/prompts.json");
    let cases = score::load(table).expect("the prompt table parses");
    let mut scores = Vec::new();
    for case in &cases {
        let answer = generate(
            &catalog,
            &Request {
                prompt: &case.prompt,
                timezone: "UTC",
                connections: &[],
            },
        );
        let result = score::score(&catalog, case, &answer);
        if !result.perfect() {
            println!("✗ {}", case.prompt);
            println!("    {result:?}");
            let edges: Vec<String> = answer
                .workflow
                .edges
                .iter()
                .map(|e| format!("{} -{}-> {}", e.source, e.source_port, e.target))
                .collect();
            println!("    edges: {}", edges.join(", "));
            for node in &answer.workflow.nodes {
                println!("    {} {} {}", node.id, node.kind, node.config);
            }
            if !answer.unknown.is_empty() {
                println!("    unknown: {:?}", answer.unknown);
            }
            if let Some(c) = &answer.clarification {
                println!("    asks: {}", c.question);
            }
        }
        scores.push(result);
    }
    println!("\n{}", score::summarise(&scores));
}
