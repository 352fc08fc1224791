//! Error classes against a real HTTP server: what is retried, how long it
//! waits, what fails at once, and the dead-letter queue.

use engine::store::queue::RequeueOutcome;
use sea_orm::EntityTrait;
use serde_json::json;
use std::time::Duration;
use testkit::Reply;

use crate::{
    harness::{Harness, http_workflow, workflow},
    on_both_backends,
};

on_both_backends!(
    server_errors_are_retried_until_success,
    rate_limits_wait_as_long_as_retry_after_says,
    client_errors_fail_at_once_without_a_dead_letter,
    refused_credentials_fail_at_once_as_auth_errors,
    exhausted_retries_land_in_the_dead_letter_queue_and_can_be_redriven,
    a_failed_run_reruns_from_the_failed_step,
);

async fn retrying_events(h: &Harness, id: uuid::Uuid) -> Vec<serde_json::Value> {
    h.events(id)
        .await
        .into_iter()
        .filter(|e| e.kind == "step.retrying")
        .map(|e| e.data)
        .collect()
}

async fn server_errors_are_retried_until_success(h: Harness) {
    h.server.script(
        "/flaky",
        vec![
            Reply::json(500, json!({})),
            Reply::json(502, json!({})),
            Reply::json(200, json!({"ok": true})),
        ],
    );
    let run = h
        .run(http_workflow(&h.server.url("/flaky"), json!({})), json!({}))
        .await;
    assert_eq!(run.status, "succeeded");
    assert_eq!(h.step(run.id, "call").await.attempts, 3);
    let retries = retrying_events(&h, run.id).await;
    assert_eq!(retries.len(), 2);
    assert_eq!(retries[0]["attempt"], 1);
    assert_eq!(retries[0]["error"]["class"], "transient");
    assert_eq!(retries[0]["error"]["status"], 500);
    assert_eq!(retries[1]["attempt"], 2);
    // Exponential backoff without jitter: 20 ms, then 40 ms.
    assert_eq!(retries[0]["next_attempt_in_ms"], 20);
    assert_eq!(retries[1]["next_attempt_in_ms"], 40);
}

async fn rate_limits_wait_as_long_as_retry_after_says(h: Harness) {
    h.server.script(
        "/limited",
        vec![
            Reply::json(429, json!({})).header("Retry-After", "1"),
            Reply::json(503, json!({})).header("Retry-After", "0"),
            Reply::json(200, json!({})),
        ],
    );
    let run = h
        .run(
            http_workflow(&h.server.url("/limited"), json!({})),
            json!({}),
        )
        .await;
    assert_eq!(run.status, "succeeded");
    let retries = retrying_events(&h, run.id).await;
    assert_eq!(retries[0]["error"]["class"], "rate_limit");
    assert_eq!(retries[0]["next_attempt_in_ms"], 1_000);
    assert_eq!(retries[1]["error"]["status"], 503);
    assert_eq!(retries[1]["next_attempt_in_ms"], 0);
}

async fn client_errors_fail_at_once_without_a_dead_letter(h: Harness) {
    h.server.script(
        "/bad",
        vec![Reply::json(400, json!({"error": "email is invalid"}))],
    );
    let run = h
        .run(http_workflow(&h.server.url("/bad"), json!({})), json!({}))
        .await;
    assert_eq!(run.status, "failed");
    let error = run.error.unwrap();
    assert_eq!(error["class"], "validation");
    assert_eq!(error["status"], 400);
    assert_eq!(error["node_id"], "call");
    assert!(
        error["details"]["body"]
            .as_str()
            .unwrap()
            .contains("email is invalid")
    );
    assert_eq!(h.step(run.id, "call").await.attempts, 1);
    assert!(
        entity::dead_letter::Entity::find()
            .all(&h.db)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn refused_credentials_fail_at_once_as_auth_errors(h: Harness) {
    h.server
        .script("/private", vec![Reply::json(401, json!({}))]);
    let run = h
        .run(
            http_workflow(
                &h.server.url("/private"),
                json!({"auth": {"type": "bearer", "token": "t0k3n"}}),
            ),
            json!({}),
        )
        .await;
    assert_eq!(run.status, "failed");
    assert_eq!(run.error.unwrap()["class"], "auth");
    let call = h.step(run.id, "call").await;
    assert_eq!(call.attempts, 1);
    assert_eq!(
        call.input.unwrap()["auth"]["token"],
        "••••••",
        "credentials are not stored"
    );
    let sent = &h.server.received("/private")[0];
    assert_eq!(sent.headers["authorization"], "Bearer t0k3n");
}

async fn exhausted_retries_land_in_the_dead_letter_queue_and_can_be_redriven(h: Harness) {
    h.server.script(
        "/slow",
        vec![Reply::json(200, json!({})).after(Duration::from_secs(5))],
    );
    let definition = http_workflow(&h.server.url("/slow"), json!({"timeout_ms": 100}));
    let (owner, workflow) = h.workflow(&definition).await;
    let id = h.enqueue(owner, workflow, json!({})).await.id;
    let run = h.wait(id).await;
    assert_eq!(run.status, "failed");
    assert!(
        run.error.unwrap()["message"]
            .as_str()
            .unwrap()
            .contains("no response within 100 ms")
    );
    let letters = entity::dead_letter::Entity::find()
        .all(&h.db)
        .await
        .unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].execution_id, id);
    assert_eq!(letters[0].node_id, "call");
    assert!(
        letters[0].reason.contains("after 3 attempts"),
        "{}",
        letters[0].reason
    );

    h.server
        .script("/slow", vec![Reply::json(200, json!({"finally": true}))]);
    assert_eq!(h.engine.redrive_all(owner).await.unwrap(), 1);
    assert_eq!(
        h.wait_for_status(id, &["succeeded"]).await.status,
        "succeeded"
    );
    let letter = entity::dead_letter::Entity::find()
        .one(&h.db)
        .await
        .unwrap()
        .unwrap();
    assert!(letter.redriven_at.is_some());
    assert_eq!(
        h.engine.redrive_all(owner).await.unwrap(),
        0,
        "a redriven letter is not redriven twice"
    );
    let kinds: Vec<String> = h.events(id).await.into_iter().map(|e| e.kind).collect();
    assert!(kinds.contains(&"execution.requeued".to_owned()));
}

async fn a_failed_run_reruns_from_the_failed_step(h: Harness) {
    h.server.script(
        "/lookup",
        vec![Reply::json(200, json!({"customer": "cus_1"}))],
    );
    h.server.script(
        "/charge",
        vec![
            Reply::json(422, json!({"error": "card declined"})),
            Reply::json(200, json!({"charged": true})),
        ],
    );
    let definition = workflow(
        json!([
            {"id": "start", "kind": "manual_trigger"},
            {"id": "lookup", "kind": "http_request", "config": {"url": h.server.url("/lookup")}},
            {"id": "charge", "kind": "http_request", "config": {"method": "POST", "url": h.server.url("/charge"), "body": {"c": "{{ steps.lookup.output.body.customer }}"}}},
            {"id": "done", "kind": "transform", "config": {"template": "{{ steps.charge.output.body.charged }}"}}
        ]),
        json!([{"source": "start", "target": "lookup"}, {"source": "lookup", "target": "charge"}, {"source": "charge", "target": "done"}]),
    );
    let (owner, workflow) = h.workflow(&definition).await;
    let id = h.enqueue(owner, workflow, json!({})).await.id;
    assert_eq!(h.wait(id).await.status, "failed");

    assert_eq!(
        h.engine.rerun(id, uuid::Uuid::new_v4()).await.unwrap(),
        RequeueOutcome::NotFound,
        "only the owner can rerun"
    );
    assert_eq!(
        h.engine.rerun(id, owner).await.unwrap(),
        RequeueOutcome::Requeued
    );
    assert_eq!(
        h.wait_for_status(id, &["succeeded"]).await.status,
        "succeeded"
    );
    assert_eq!(
        h.server.received("/lookup").len(),
        1,
        "the step that succeeded is not run again"
    );
    assert_eq!(h.server.received("/charge").len(), 2);
    assert_eq!(h.step(id, "done").await.output.unwrap(), json!(true));
    assert_eq!(
        h.engine.rerun(id, owner).await.unwrap(),
        RequeueOutcome::NotRerunnable("succeeded".into())
    );
}
