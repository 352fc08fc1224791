//! Scores the offline planner on the prompt table and prints the figures
//! and every prompt it did not plan perfectly:
//! `cargo run --release -p planner --example score`

#[path = "../tests/common/mod.rs"]
mod common;

use planner::score;

fn main() {
    let catalog = common::builtin_catalog();
    let table = include_str!("../quality/prompts.json");
    let cases = score::load(table).expect("the prompt table parses");
    let results = score::run(&catalog, &cases);
    for (case, (result, answer)) in cases.iter().zip(&results) {
        if result.perfect() {
            continue;
        }
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
    let scores: Vec<_> = results.into_iter().map(|(s, _)| s).collect();
    println!("\n{}", score::summarise(&scores));
}
