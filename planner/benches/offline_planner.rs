//! Time to plan one description with the offline planner, over the
//! built-in catalogue, for each prompt of the quality table, and what the
//! language-model planner adds around the model:
//! `cargo bench -p planner --bench offline_planner`

#[path = "../tests/common/mod.rs"]
mod common;

use criterion::{Criterion, criterion_group, criterion_main};
use planner::{Request, generate, score};

fn plan(c: &mut Criterion) {
    let catalog = common::builtin_catalog();
    let cases = score::load(include_str!("../quality/prompts.json")).expect("table");
    let prompts: Vec<&str> = cases.iter().map(|c| c.prompt.as_str()).collect();
    let mut index = 0;
    c.bench_function("generate one prompt (cycling through the table)", |b| {
        b.iter(|| {
            let prompt = prompts[index % prompts.len()];
            index += 1;
            generate(
                &catalog,
                &Request {
                    prompt,
                    timezone: "Europe/Paris",
                    connections: &[],
                },
            )
        })
    });
    c.bench_function("build the catalogue index", |b| {
        b.iter(common::builtin_catalog)
    });
    language_model_overhead(c, &catalog);
}

/// What the language-model planner adds around the model's own time: the
/// briefing (retrieval included) and the check of a valid answer.
fn language_model_overhead(c: &mut Criterion, catalog: &planner::Catalog) {
    let prompt =
        "When a new customer signs up in Stripe, add them to Mailchimp and send Slack notification";
    let request = Request {
        prompt,
        timezone: "Europe/Paris",
        connections: &[],
    };
    c.bench_function("language model: briefing for the seed prompt", |b| {
        b.iter(|| {
            let analysis = planner::analyze(catalog, &request);
            let offline = generate(catalog, &request);
            planner::llm::brief(catalog, prompt, "Europe/Paris", &[], &analysis, &offline)
        })
    });
    let draft = generate(catalog, &request);
    let answer = serde_json::json!({
        "name": draft.workflow.name,
        "nodes": draft.workflow.nodes,
        "edges": draft.workflow.edges,
    })
    .to_string();
    c.bench_function("language model: checking a valid answer", |b| {
        b.iter(|| planner::llm::check(catalog, &[], &answer, "Seed").expect("valid"))
    });
}

criterion_group!(benches, plan);
criterion_main!(benches);
