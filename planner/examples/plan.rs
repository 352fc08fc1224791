//! Plans one description and prints the answer as JSON:
//! `cargo run -p planner --example plan -- "when …"`

#[path = "../tests/common/mod.rs"]
mod common;

fn main() {
    let prompt = std::env::args().skip(1).collect::<Vec<_>>().join(" ");
    let catalog = common::builtin_catalog();
    let request = planner::Request {
        prompt: &prompt,
        timezone: "UTC",
        connections: &[],
    };
    let analysis = planner::analyze(&catalog, &request);
    println!("{}", serde_json::to_string_pretty(&analysis).unwrap());
    let answer = planner::generate(&catalog, &request);
    println!("{}", serde_json::to_string_pretty(&answer).unwrap());
    if let Ok(node) = std::env::var("SUGGEST_AFTER") {
        let next = planner::suggest::suggest_next(&catalog, &answer.workflow, &node);
        println!("{}", serde_json::to_string_pretty(&next).unwrap());
    }
}
