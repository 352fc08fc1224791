//! Cancelling runs that are running, waiting, finished, or someone else's.

use std::time::Duration;

use engine::store::queue::CancelOutcome;
use serde_json::json;
use testkit::Reply;

use crate::{
    harness::{Harness, http_workflow, workflow},
    on_both_backends,
};

on_both_backends!(
    a_running_call_is_aborted_and_the_run_cancelled,
    a_waiting_run_is_cancelled_at_once
);

async fn a_running_call_is_aborted_and_the_run_cancelled(h: Harness) {
    h.server.script(
        "/slow",
        vec![Reply::json(200, json!({})).after(Duration::from_secs(30))],
    );
    let definition = http_workflow(&h.server.url("/slow"), json!({"timeout_ms": 60_000}));
    let (owner, workflow) = h.workflow(&definition).await;
    let id = h.enqueue(owner, workflow, json!({})).await.id;
    while h.server.received("/slow").is_empty() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        h.engine.cancel(id, uuid::Uuid::new_v4()).await.unwrap(),
        CancelOutcome::NotFound,
        "only the owner can cancel"
    );
    assert!(matches!(
        h.engine.cancel(id, owner).await.unwrap(),
        CancelOutcome::Requested { .. }
    ));
    let run = h.wait(id).await;
    assert_eq!(run.status, "cancelled");
    let call = h.step(id, "call").await;
    assert_eq!(call.status, "failed");
    assert_eq!(call.error.unwrap()["class"], "cancelled");
    assert_eq!(
        h.engine.cancel(id, owner).await.unwrap(),
        CancelOutcome::AlreadyFinished("cancelled".into())
    );
}

async fn a_waiting_run_is_cancelled_at_once(h: Harness) {
    let definition = workflow(
        json!([{"id": "start", "kind": "manual_trigger"}, {"id": "wait", "kind": "delay", "config": {"duration_ms": 3_600_000}}]),
        json!([{"source": "start", "target": "wait"}]),
    );
    let (owner, workflow) = h.workflow(&definition).await;
    let id = h.enqueue(owner, workflow, json!({})).await.id;
    h.wait_for_status(id, &["waiting"]).await;
    assert_eq!(
        h.engine.cancel(id, owner).await.unwrap(),
        CancelOutcome::Cancelled
    );
    assert_eq!(h.wait(id).await.status, "cancelled");
    assert_eq!(
        h.step(id, "wait").await.error.unwrap()["class"],
        "cancelled"
    );
    let last = h.events(id).await.pop().unwrap();
    assert_eq!(last.kind, "execution.cancelled");
}
