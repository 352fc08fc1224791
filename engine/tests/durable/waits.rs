//! Durable delays: a sleeping run holds no worker and survives restarts.

use serde_json::json;

use crate::{
    harness::{Harness, test_config, wait_for_status, workflow},
    on_both_backends,
};

on_both_backends!(
    a_long_delay_puts_the_run_aside_and_resumes_it,
    a_delay_survives_a_restart_of_the_engine
);

fn delay(ms: u64) -> serde_json::Value {
    workflow(
        json!([
            {"id": "start", "kind": "manual_trigger"},
            {"id": "wait", "kind": "delay", "config": {"duration_ms": ms}},
            {"id": "after", "kind": "transform", "config": {"template": "{{ steps.wait.output.waited_until }}"}}
        ]),
        json!([{"source": "start", "target": "wait"}, {"source": "wait", "target": "after"}]),
    )
}

async fn a_long_delay_puts_the_run_aside_and_resumes_it(h: Harness) {
    let definition = delay(800);
    let (owner, workflow) = h.workflow(&definition).await;
    let id = h.enqueue(owner, workflow, json!({})).await.id;
    assert_eq!(h.wait_for_status(id, &["waiting"]).await.status, "waiting");
    assert_eq!(h.wait(id).await.status, "succeeded");
    let kinds: Vec<String> = h.events(id).await.into_iter().map(|e| e.kind).collect();
    let waiting = kinds
        .iter()
        .position(|k| k == "execution.waiting")
        .expect("the run waited");
    let resumed = kinds
        .iter()
        .position(|k| k == "execution.resumed")
        .expect("the run resumed");
    assert!(waiting < resumed);
    assert!(h.step(id, "after").await.output.unwrap().is_string());
}

async fn a_delay_survives_a_restart_of_the_engine(h: Harness) {
    let definition = delay(1_500);
    let (owner, workflow) = h.workflow(&definition).await;
    let id = h.enqueue(owner, workflow, json!({})).await.id;
    h.wait_for_status(id, &["waiting"]).await;
    h.engine.shutdown(std::time::Duration::from_secs(5)).await;

    let restarted = h.second_engine(test_config()).await;
    let run = wait_for_status(&h.db, id, &["succeeded", "failed"]).await;
    assert_eq!(run.status, "succeeded");
    let resumed = h
        .events(id)
        .await
        .into_iter()
        .find(|e| e.kind == "execution.resumed")
        .unwrap();
    assert_eq!(
        resumed.data["instance"],
        restarted.instance_id(),
        "the new instance finished it"
    );
}
