//! Time to plan one description with the offline planner, over the
//! built-in catalogue, for each prompt of the quality table:
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
}

criterion_group!(benches, plan);
criterion_main!(benches);
