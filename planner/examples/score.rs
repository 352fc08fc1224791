//! Scores the offline planner on the prompt table and prints the figures,
//! every prompt it did not plan perfectly and the time per prompt:
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
    latency(&catalog, &cases);
}

/// Time per prompt over 50 passes of the table: p50, p99 and the worst.
fn latency(catalog: &planner::Catalog, cases: &[score::Case]) {
    let mut times = Vec::new();
    for _ in 0..50 {
        for case in cases {
            let request = planner::Request {
                prompt: &case.prompt,
                timezone: "UTC",
                connections: &[],
            };
            let started = std::time::Instant::now();
            std::hint::black_box(planner::generate(catalog, &request));
            times.push(started.elapsed());
        }
    }
    times.sort();
    let at = |q: f64| times[((times.len() - 1) as f64 * q) as usize];
    println!(
        "latency per prompt over {} plans: p50 {:?}, p99 {:?}, max {:?}",
        times.len(),
        at(0.5),
        at(0.99),
        times[times.len() - 1]
    );
}
