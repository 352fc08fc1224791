//! Durable throughput on Postgres: N executions of a five-step workflow
//! (transform → condition → HTTP call to a local server → transform →
//! merge), every step persisted. Prints executions per second and the
//! end-to-end latency (queued → finished) percentiles.
//!
//! cargo bench -p engine --bench durable_throughput -- [runs] [sqlite] [rate=N] [intake=off]
//!
//! With `rate=N` the runs are queued at N per second instead of all at once,
//! to measure latency below saturation.
//!
//! Postgres comes from SWITCHYARD_TEST_POSTGRES_URL (default
//! postgres://postgres@127.0.0.1:5432); a fresh database is created and
//! dropped.

use std::time::Instant;

use engine::{Engine, EngineConfig, Registry, outbound::OutboundPolicy, store::NewExecution};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;
use testkit::{Backend, Reply, ScriptedServer, TestDatabase, database::seed_workflow};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let runs: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let backend = if args.iter().any(|a| a == "sqlite") {
        Backend::Sqlite
    } else {
        Backend::Postgres
    };
    let rate: Option<f64> = args
        .iter()
        .find_map(|a| a.strip_prefix("rate="))
        .and_then(|r| r.parse().ok());
    let database = TestDatabase::create(backend)
        .await
        .expect("the benchmark needs Postgres");
    let db = database
        .connect_migrated(if backend == Backend::Postgres {
            Some(16)
        } else {
            None
        })
        .await;
    let server = ScriptedServer::start().await;
    server.script(
        "/customers",
        vec![Reply::json(200, json!({"id": "cus_1", "tier": "pro"}))],
    );
    let definition = json!({
        "name": "bench",
        "nodes": [
            {"id": "start", "kind": "manual_trigger"},
            {"id": "shape", "kind": "transform", "config": {"template": {"email": "{{ trigger.email }}", "n": "{{ trigger.n }}"}}},
            {"id": "check", "kind": "condition", "config": {"expression": "{{ steps.shape.output.n >= 0 }}"}},
            {"id": "call", "kind": "http_request", "config": {"method": "POST", "url": server.url("/customers"), "body": {"email": "{{ steps.shape.output.email }}"}}},
            {"id": "summary", "kind": "transform", "config": {"template": {"id": "{{ steps.call.output.body.id }}"}}},
            {"id": "join", "kind": "merge"}
        ],
        "edges": [
            {"source": "start", "target": "shape"}, {"source": "shape", "target": "check"},
            {"source": "check", "source_port": "true", "target": "call"}, {"source": "call", "target": "summary"},
            {"source": "summary", "target": "join"}
        ]
    });
    let (owner, workflow) = seed_workflow(&db, &definition).await;
    let config = EngineConfig {
        concurrency: 512,
        // `intake=off`: always every worker, however slow enqueueing gets.
        intake_target: if args.iter().any(|a| a == "intake=off") {
            None
        } else {
            EngineConfig::default().intake_target
        },
        outbound: OutboundPolicy::parse("127.0.0.1/32").unwrap(),
        ..EngineConfig::default()
    };
    let engine = Engine::start(db.clone(), Registry::builtin(), config)
        .await
        .unwrap();
    let mut finished_events = engine.subscribe();

    eprintln!("running {runs} executions on {backend:?}…");
    let started = Instant::now();
    let producers = 64;
    let mut tasks = Vec::new();
    for p in 0..producers {
        let engine = engine.clone();
        tasks.push(tokio::spawn(async move {
            // At a fixed rate, each producer queues every `producers`-th run on schedule.
            // Producers start one by one, so the runs arrive evenly, not in bursts.
            if let Some(rate) = rate {
                tokio::time::sleep(std::time::Duration::from_secs_f64(p as f64 / rate)).await;
            }
            let mut ticks = rate.map(|rate| {
                let mut interval = tokio::time::interval(std::time::Duration::from_secs_f64(
                    producers as f64 / rate,
                ));
                interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                interval
            });
            for n in (p..runs).step_by(producers) {
                if let Some(ticks) = ticks.as_mut() {
                    ticks.tick().await;
                }
                let new = NewExecution {
                    workflow_id: workflow,
                    owner_id: owner,
                    workflow_version: 1,
                    trigger_kind: "manual".into(),
                    payload: json!({"email": format!("user{n}@example.com"), "n": n}),
                    idempotency_key: None,
                };
                engine.enqueue(new).await.unwrap();
            }
        }));
    }
    let mut done = 0;
    while done < runs {
        let event = finished_events.recv().await.expect("event stream");
        if event.row.kind.starts_with("execution.")
            && matches!(
                event.row.kind.as_str(),
                "execution.succeeded" | "execution.failed"
            )
        {
            done += 1;
        }
    }
    let elapsed = started.elapsed();
    for task in tasks {
        task.await.unwrap();
    }

    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT status, finished_at - created_at AS latency FROM executions",
        ))
        .await
        .unwrap();
    let mut latencies: Vec<i64> = rows
        .iter()
        .map(|r| r.try_get::<i64>("", "latency").unwrap())
        .collect();
    let succeeded = rows
        .iter()
        .filter(|r| r.try_get::<String>("", "status").unwrap() == "succeeded")
        .count();
    let steps = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM step_runs",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap();
    latencies.sort_unstable();
    let percentile =
        |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "{runs} executions{} ({succeeded} succeeded, {steps} steps persisted) in {:.2} s: {:.0} executions/s, latency p50 {} ms, p99 {} ms",
        rate.map(|r| format!(" queued at {r}/s"))
            .unwrap_or_default(),
        elapsed.as_secs_f64(),
        runs as f64 / elapsed.as_secs_f64(),
        percentile(0.5),
        percentile(0.99),
    );
    if std::env::var_os("SWITCHYARD_BENCH_TIMELINE").is_some() {
        // Where the time of a typical run goes: each event after the queued one.
        let rows = db
            .query_all_raw(Statement::from_string(
                db.get_database_backend(),
                "SELECT e.kind, AVG(e.created_at - x.created_at) AS after_ms FROM execution_events e \
                 JOIN executions x ON x.id = e.execution_id GROUP BY e.kind ORDER BY 2",
            ))
            .await
            .unwrap();
        for row in rows {
            let kind: String = row.try_get("", "kind").unwrap();
            let after: f64 = row
                .try_get::<sea_orm::prelude::Decimal>("", "after_ms")
                .map(|d| d.to_string().parse().unwrap())
                .or_else(|_| row.try_get::<f64>("", "after_ms"))
                .unwrap_or(-1.0);
            println!("  {kind:<22} {after:>8.1} ms after queued");
        }
    }
    engine.shutdown(std::time::Duration::from_secs(5)).await;
}
