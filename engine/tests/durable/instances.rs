//! Several instances on one Postgres share the work; no run executes twice.

use std::collections::HashMap;

use serde_json::json;
use testkit::{Backend, Reply};

use crate::harness::{Harness, http_workflow, test_config, wait_for_status};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_the_work_and_run_each_execution_once() {
    let Some(h) = Harness::start(Backend::Postgres).await else {
        return;
    };
    let second = h.second_engine(test_config()).await;
    h.server.script(
        "/work",
        vec![Reply::json(200, json!({})).after(std::time::Duration::from_millis(20))],
    );
    let definition = http_workflow(
        &h.server.url("/work"),
        json!({"send_idempotency_key": true}),
    );
    let (owner, workflow) = h.workflow(&definition).await;

    let mut ids = Vec::new();
    for i in 0..120 {
        let engine = if i % 2 == 0 { &h.engine } else { &second };
        ids.push(
            engine
                .enqueue(Harness::new_run(owner, workflow, json!({ "n": i })))
                .await
                .unwrap()
                .id,
        );
    }
    let mut instances: HashMap<String, usize> = HashMap::new();
    for id in &ids {
        assert_eq!(
            wait_for_status(&h.db, *id, &["succeeded", "failed"])
                .await
                .status,
            "succeeded"
        );
        let started = h
            .events(*id)
            .await
            .into_iter()
            .filter(|e| e.kind == "execution.started")
            .collect::<Vec<_>>();
        assert_eq!(started.len(), 1, "run {id} started once");
        *instances
            .entry(started[0].data["instance"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    let mut calls: HashMap<String, usize> = HashMap::new();
    for request in h.server.received("/work") {
        *calls
            .entry(
                request.headers["idempotency-key"]
                    .to_str()
                    .unwrap()
                    .to_owned(),
            )
            .or_default() += 1;
    }
    assert_eq!(calls.len(), 120);
    assert!(
        calls.values().all(|&n| n == 1),
        "every step ran exactly once"
    );
    assert_eq!(
        instances.len(),
        2,
        "both instances took work: {instances:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_instance_streams_every_event_in_order() {
    let Some(h) = Harness::start(Backend::Postgres).await else {
        return;
    };
    let second = h.second_engine(test_config()).await;
    let mut first_stream = h.engine.subscribe();
    let mut second_stream = second.subscribe();
    h.server.script("/ok", vec![Reply::json(200, json!({}))]);
    let definition = http_workflow(&h.server.url("/ok"), json!({}));
    let (owner, workflow) = h.workflow(&definition).await;
    let mut ids = Vec::new();
    for i in 0..20 {
        let engine = if i % 2 == 0 { &h.engine } else { &second };
        ids.push(
            engine
                .enqueue(Harness::new_run(owner, workflow, json!({})))
                .await
                .unwrap()
                .id,
        );
    }
    for id in &ids {
        wait_for_status(&h.db, *id, &["succeeded"]).await;
    }
    let stored: usize = {
        let mut total = 0;
        for id in &ids {
            total += h.events(*id).await.len();
        }
        total
    };
    for stream in [&mut first_stream, &mut second_stream] {
        let mut last_id = 0;
        let mut per_run: HashMap<uuid::Uuid, Vec<i32>> = HashMap::new();
        let mut seen = 0;
        while seen < stored {
            let event = tokio::time::timeout(std::time::Duration::from_secs(10), stream.recv())
                .await
                .expect("events keep coming")
                .unwrap();
            assert!(event.id > last_id, "events arrive in log order");
            last_id = event.id;
            per_run
                .entry(event.row.execution_id)
                .or_default()
                .push(event.row.seq);
            seen += 1;
        }
        for id in &ids {
            let seqs = &per_run[id];
            assert_eq!(
                seqs,
                &(1..=seqs.len() as i32).collect::<Vec<_>>(),
                "no gaps and no repeats"
            );
        }
    }
}
