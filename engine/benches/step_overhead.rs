//! In-memory orchestration overhead per step: a chain of 100 no-op steps,
//! run by the same driver and state machine as durable runs, minus storage.
//!
//! cargo bench -p engine --bench step_overhead

use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use engine::{
    nodes::{NodeKind, Outcome, Registry, Services, StepFuture, StepInput},
    outbound::{OutboundClient, OutboundPolicy},
    run::{Plan, driver::run_in_memory},
};
use model::{Category, KindSpec, catalogue::single_output};
use serde_json::{Value, json};

const STEPS: usize = 100;

/// Does nothing, asynchronously: the path an I/O step takes.
struct NoOp;

impl NodeKind for NoOp {
    fn spec(&self) -> KindSpec {
        KindSpec {
            kind: "bench.noop".into(),
            label: "No-op".into(),
            category: Category::Action,
            description: String::new(),
            fields: vec![],
            ports: single_output(),
            provider: None,
            output: vec![],
            rules: vec![],
        }
    }

    fn run<'a>(&'a self, _step: StepInput<'a>) -> StepFuture<'a> {
        Box::pin(async { Outcome::out(Value::Null) })
    }
}

fn chain(kind: &str, config: Value) -> model::WorkflowDefinition {
    let mut nodes = vec![json!({"id": "start", "kind": "manual_trigger"})];
    let mut edges = Vec::new();
    for i in 0..STEPS {
        nodes.push(json!({"id": format!("s{i}"), "kind": kind, "config": config}));
        let source = if i == 0 {
            "start".to_owned()
        } else {
            format!("s{}", i - 1)
        };
        edges.push(json!({"source": source, "target": format!("s{i}")}));
    }
    serde_json::from_value(json!({"name": "bench", "nodes": nodes, "edges": edges})).unwrap()
}

fn step_overhead(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut registry = Registry::builtin();
    registry.register(NoOp);
    let services = Services::new(OutboundClient::new(OutboundPolicy::default()));
    let cases = [
        (
            "pure step (transform, constant)",
            chain("transform", json!({"template": 1})),
        ),
        (
            "pure step (transform, one expression)",
            chain("transform", json!({"template": "{{ trigger.n + 1 }}"})),
        ),
        ("async step (no-op future)", chain("bench.noop", json!({}))),
    ];
    let mut group = c.benchmark_group("step_overhead");
    group.throughput(Throughput::Elements(STEPS as u64));
    for (name, def) in cases {
        let plan = Arc::new(Plan::new(def, &registry).unwrap());
        group.bench_function(name, |b| {
            b.iter(|| runtime.block_on(run_in_memory(plan.clone(), json!({"n": 1}), &services)))
        });
    }
    group.finish();
}

criterion_group!(benches, step_overhead);
criterion_main!(benches);
