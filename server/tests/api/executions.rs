//! Runs through the REST API: lists with filters and cursors, details,
//! the event log, cancel, re-run, and the dead-letter queue.

use serde_json::{Value, json};
use testkit::{Reply, ScriptedServer};

use crate::{
    helpers::{TestApp, User, assert_error, sample_workflow},
    on_both_backends,
};

on_both_backends!(
    runs_are_listed_filtered_and_paged,
    failed_runs_rerun_and_dead_letters_redrive
);

async fn run(user: &User, workflow: &str, input: Value) -> Value {
    let started: Value = user
        .post(&format!("/workflows/{workflow}/execute"), input)
        .await
        .json()
        .await
        .unwrap();
    user.finished_run(started["execution_id"].as_str().unwrap())
        .await
}

async fn runs_are_listed_filtered_and_paged(app: TestApp) {
    let server = ScriptedServer::start().await;
    server.script("/ok", vec![Reply::json(200, json!({}))]);
    server.script("/bad", vec![Reply::json(400, json!({"error": "nope"}))]);
    let ada = app.user("ada@example.com").await;
    let good = ada
        .create_workflow(sample_workflow("Good", &server.url("/ok")))
        .await;
    let bad = ada
        .create_workflow(sample_workflow("Bad", &server.url("/bad")))
        .await;
    for n in 0..3 {
        run(&ada, &good, json!({ "n": n })).await;
    }
    let failed = run(&ada, &bad, json!({})).await;
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["error"]["status"], 400);

    let all: Value = ada.get("/executions").await.json().await.unwrap();
    assert_eq!(all["items"].as_array().unwrap().len(), 4);
    assert_eq!(all["items"][0]["id"], failed["id"], "newest first");
    let only_failed: Value = ada
        .get("/executions?status=failed")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(only_failed["items"].as_array().unwrap().len(), 1);
    let of_good: Value = ada
        .get(&format!("/executions?workflow_id={good}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(of_good["items"].as_array().unwrap().len(), 3);
    let future: Value = ada
        .get("/executions?since=2999-01-01T00:00:00Z")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(future["items"], json!([]));

    let first: Value = ada.get("/executions?limit=3").await.json().await.unwrap();
    assert_eq!(first["items"].as_array().unwrap().len(), 3);
    let cursor = first["next_cursor"].as_str().expect("a second page");
    let second: Value = ada
        .get(&format!("/executions?limit=3&cursor={cursor}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(second["items"].as_array().unwrap().len(), 1);
    assert!(second["next_cursor"].is_null());

    let id = failed["id"].as_str().unwrap();
    let log: Value = ada
        .get(&format!("/executions/{id}/log"))
        .await
        .json()
        .await
        .unwrap();
    let seqs: Vec<i64> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>());
    let tail: Value = ada
        .get(&format!("/executions/{id}/log?after=2"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(tail[0]["seq"], 3);

    assert_error(
        ada.get("/executions?status=asleep").await,
        400,
        "bad_request",
        None,
    )
    .await;
    assert_error(
        ada.get("/executions?since=yesterday").await,
        400,
        "bad_request",
        None,
    )
    .await;
    assert_error(
        ada.post(&format!("/executions/{id}/cancel"), json!(null))
            .await,
        409,
        "conflict",
        None,
    )
    .await;
    let succeeded = all["items"][1]["id"].as_str().unwrap();
    assert_error(
        ada.post(&format!("/executions/{succeeded}/retry"), json!(null))
            .await,
        409,
        "conflict",
        None,
    )
    .await;
}

async fn failed_runs_rerun_and_dead_letters_redrive(app: TestApp) {
    let server = ScriptedServer::start().await;
    server.script("/flaky", vec![Reply::json(503, json!({}))]);
    let ada = app.user("ada@example.com").await;
    let mut definition = sample_workflow("Flaky", &server.url("/flaky"));
    definition["settings"] =
        json!({"retry": {"max_attempts": 2, "initial_delay_ms": 10, "max_delay_ms": 20}});
    let workflow = ada.create_workflow(definition).await;
    let failed = run(&ada, &workflow, json!({})).await;
    assert_eq!(failed["status"], "failed");
    let letters: Value = ada.get("/dead-letters").await.json().await.unwrap();
    assert_eq!(letters.as_array().unwrap().len(), 1);
    assert_eq!(letters[0]["execution_id"], failed["id"]);
    assert_eq!(letters[0]["node_id"], "call");

    server.script("/flaky", vec![Reply::json(200, json!({"recovered": true}))]);
    let letter = letters[0]["id"].as_str().unwrap();
    let redriven = ada
        .post(&format!("/dead-letters/{letter}/redrive"), json!(null))
        .await;
    assert_eq!(redriven.status(), 202);
    let run = ada.finished_run(failed["id"].as_str().unwrap()).await;
    assert_eq!(run["status"], "succeeded");
    assert_eq!(run["run_count"], 1);
    let open: Value = ada.get("/dead-letters").await.json().await.unwrap();
    assert_eq!(open, json!([]));
    let history: Value = ada
        .get("/dead-letters?all=true")
        .await
        .json()
        .await
        .unwrap();
    assert!(history[0]["redriven_at"].is_string());
    let redrive_all: Value = ada
        .post("/dead-letters/redrive", json!(null))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(redrive_all["redriven"], 0);
}
