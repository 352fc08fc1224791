//! A save and a step in flight that need the same resource: the database
//! pool of one connection that SQLite runs with. A step halfway through a
//! query of its own holds the connection until it is polled again, so a
//! drive that awaited its save without polling its steps waited for
//! itself (until the pool's acquire timeout, then ran the steps again).

use std::{sync::Arc, time::Duration};

use model::{Category, KindSpec, catalogue::single_output};
use serde_json::json;
use tokio::sync::Semaphore;

use super::{
    Plan, RunEnd, RunState,
    driver::{DriveEnd, Persistence, Stop, drive},
};
use crate::{
    nodes::{NodeKind, Outcome, Registry, Services, StepFuture, StepInput},
    outbound::{OutboundClient, OutboundPolicy},
    time::now_ms,
};

/// Takes the one connection, and gives it back only after being polled
/// a few more times, as a query's future does.
struct Query(Arc<Semaphore>);

impl NodeKind for Query {
    fn spec(&self) -> KindSpec {
        KindSpec {
            kind: "test.query".into(),
            label: "Query".into(),
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
        Box::pin(async move {
            let connection = self.0.acquire().await.expect("open");
            for _ in 0..3 {
                tokio::task::yield_now().await;
            }
            drop(connection);
            Outcome::out(json!("queried"))
        })
    }
}

/// Finishes after one turn.
struct Quick;

impl NodeKind for Quick {
    fn spec(&self) -> KindSpec {
        KindSpec {
            kind: "test.quick".into(),
            ..Query(Arc::new(Semaphore::new(1))).spec()
        }
    }

    fn run<'a>(&'a self, _step: StepInput<'a>) -> StepFuture<'a> {
        Box::pin(async move {
            tokio::task::yield_now().await;
            Outcome::out(json!("quick"))
        })
    }
}

/// Saves through the same one connection, giving up as a pool does.
struct PooledSaves(Arc<Semaphore>);

impl Persistence for PooledSaves {
    async fn save(&mut self, state: &mut RunState) -> Result<(), Stop> {
        let connection = tokio::time::timeout(Duration::from_secs(30), self.0.acquire())
            .await
            .map_err(|_| Stop::Store("the pool timed out".into()))?
            .expect("open");
        state.take_dirty();
        state.events.clear();
        drop(connection);
        Ok(())
    }

    async fn stopped(&mut self) -> Stop {
        std::future::pending().await
    }
}

#[tokio::test]
async fn a_save_does_not_wait_for_a_step_it_does_not_poll() {
    let pool = Arc::new(Semaphore::new(1));
    let mut registry = Registry::builtin();
    registry.register(Query(pool.clone()));
    registry.register(Quick);
    let definition = serde_json::from_value(json!({
        "name": "Parallel",
        "nodes": [
            {"id": "start", "kind": "manual_trigger"},
            {"id": "quick", "kind": "test.quick"},
            {"id": "query", "kind": "test.query"}
        ],
        "edges": [
            {"source": "start", "target": "quick"},
            {"source": "start", "target": "query"}
        ]
    }))
    .unwrap();
    let plan = Arc::new(Plan::new(definition, &registry).expect("valid"));
    let mut state = RunState::new(plan, "run".into(), "workflow".into(), json!({}), now_ms());
    let services = Services::new(OutboundClient::new(OutboundPolicy::default()));
    let end = drive(
        &mut state,
        &services,
        &mut PooledSaves(pool),
        i64::MAX,
        None,
    )
    .await;
    assert!(matches!(end, DriveEnd::Ended(RunEnd::Succeeded)), "{end:?}");
}
