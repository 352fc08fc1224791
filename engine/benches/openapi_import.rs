//! Importing Stripe's OpenAPI document (4.2 MB of YAML, 468 operations):
//! parse, describe, write the description that is stored, and read it
//! back into the provider whose node kinds are registered.
//!
//! cargo bench -p engine --bench openapi_import

use criterion::{Criterion, criterion_group, criterion_main};
use engine::{
    Registry,
    providers::{
        self,
        openapi::{self, ApiDescription},
    },
};

fn import(c: &mut Criterion) {
    let yaml = testkit::openapi_document("stripe-2023-09.yaml");
    let json = testkit::openapi_document("github.json");
    let mut group = c.benchmark_group("openapi_import");
    group.sample_size(10);
    group.bench_function(
        "stripe-2023-09.yaml: parse, describe, store, register",
        |b| {
            b.iter(|| {
                let api = openapi::import(&yaml, "stripe_api", None).expect("imports");
                let stored = serde_json::to_string(&api).expect("serializes");
                let loaded: ApiDescription = serde_json::from_str(&stored).expect("reads back");
                let mut registry = Registry::default();
                providers::register(&mut registry, vec![loaded.provider()]);
                assert_eq!(api.operations.len() + api.skipped.len(), 468);
                registry
            })
        },
    );
    group.bench_function(
        "github.json (5.7 MB JSON, 845 operations): parse and describe",
        |b| b.iter(|| openapi::import(&json, "github_api", None).expect("imports")),
    );
    group.finish();
}

criterion_group!(benches, import);
criterion_main!(benches);
