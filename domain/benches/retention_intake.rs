//! Does pruning slow intake? Fills the database with finished runs past
//! their retention (each with a step and two events), then queues runs one
//! after another through the engine, first alone and then while a pruning
//! pass deletes the old ones, and prints the enqueue latency percentiles of
//! both phases and the pass's pace.
//!
//! cargo bench -p domain --bench retention_intake -- [old_runs] [sqlite]
//!
//! Postgres comes from SWITCHYARD_TEST_POSTGRES_URL (default
//! postgres://postgres@127.0.0.1:5432); a fresh database is created and
//! dropped.

use std::time::{Duration, Instant};

use domain::retention::{RetentionPolicy, prune};
use engine::{Engine, EngineConfig, Registry, store::NewExecution};
use serde_json::json;
use testkit::{
    Backend, TestDatabase,
    database::seed_workflow,
    fixtures::{fixture_runs, insert_runs},
};
use uuid::Uuid;

const DAY: i64 = 24 * 60 * 60 * 1000;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let old_runs: i64 = args.first().and_then(|a| a.parse().ok()).unwrap_or(50_000);
    let backend = if args.iter().any(|a| a == "sqlite") {
        Backend::Sqlite
    } else {
        Backend::Postgres
    };
    let database = TestDatabase::create(backend)
        .await
        .expect("the database is reachable");
    let db = database.connect_migrated(None).await;
    let definition = json!({
        "name": "Intake",
        "nodes": [
            {"id": "start", "kind": "manual_trigger"},
            {"id": "note", "kind": "transform", "config": {"template": "{{ trigger.n }}"}}
        ],
        "edges": [{"source": "start", "target": "note"}]
    });
    let (owner, workflow) = seed_workflow(&db, &definition).await;
    let now = chrono::Utc::now().timestamp_millis();
    let filling = Instant::now();
    let old = fixture_runs(workflow, owner, "succeeded", old_runs, |i| {
        now - 20 * DAY - i * 1_000
    });
    insert_runs(&db, &old).await;
    println!(
        "{backend:?}: {old_runs} old runs (+ {} step and event rows) written in {:.1} s",
        old_runs * 3,
        filling.elapsed().as_secs_f64()
    );

    let engine = Engine::start(db.clone(), Registry::builtin(), EngineConfig::default())
        .await
        .unwrap();
    let enqueue = |n: usize| {
        let engine = engine.clone();
        async move {
            let started = Instant::now();
            engine
                .enqueue(NewExecution {
                    workflow_id: workflow,
                    owner_id: owner,
                    workflow_version: 1,
                    trigger_kind: "manual".into(),
                    payload: json!({ "n": n }),
                    idempotency_key: Some(Uuid::new_v4().to_string()),
                })
                .await
                .unwrap();
            started.elapsed()
        }
    };

    let mut alone = Vec::new();
    for n in 0..2_000 {
        alone.push(enqueue(n).await);
    }
    report("enqueue, nothing pruned", &mut alone);

    let policy = RetentionPolicy {
        max_runs_per_workflow: 0,
        ..RetentionPolicy::default()
    };
    let pass_started = Instant::now();
    let mut pass = std::pin::pin!(prune(&db, &policy, now, None, false));
    let mut during = Vec::new();
    let pruned = loop {
        tokio::select! {
            done = &mut pass => break done.unwrap(),
            latency = enqueue(during.len()) => during.push(latency),
        }
    };
    let took = pass_started.elapsed();
    report("enqueue, while pruning", &mut during);
    println!(
        "pass: {} runs (+ {} step and event rows) in {:.1} s: {:.0} runs/s",
        pruned.runs,
        pruned.runs * 3,
        took.as_secs_f64(),
        pruned.runs as f64 / took.as_secs_f64()
    );
    engine.shutdown(Duration::from_secs(10)).await;
}

fn report(what: &str, latencies: &mut [Duration]) {
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 - 1.0) * q) as usize].as_secs_f64() * 1e3;
    println!(
        "{what}: {} enqueues, p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        latencies.len(),
        at(0.5),
        at(0.95),
        at(0.99),
        at(1.0)
    );
}
