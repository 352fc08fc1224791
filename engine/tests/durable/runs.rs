//! Runs from queue to end: every step and event stored, idempotency, caps.

use engine::{EngineConfig, EngineError};
use serde_json::{Value, json};
use testkit::Reply;

use crate::{
    harness::{Harness, http_workflow, test_config, workflow},
    on_both_backends,
};

on_both_backends!(
    a_run_stores_every_step_and_a_gapless_event_log,
    a_repeated_idempotency_key_returns_the_first_run,
    an_invalid_workflow_is_refused_with_its_problems,
    retries_send_the_same_idempotency_key,
    step_outputs_are_stored_exactly_as_produced,
);

fn five_steps(url: &str) -> Value {
    workflow(
        json!([
            {"id": "start", "kind": "manual_trigger"},
            {"id": "shape", "kind": "transform", "config": {"template": {"email": "{{ trigger.email | lower }}"}}},
            {"id": "check", "kind": "condition", "config": {"expression": "{{ steps.shape.output.email != '' }}"}},
            {"id": "call", "kind": "http_request", "config": {"method": "POST", "url": url, "body": {"email": "{{ steps.shape.output.email }}"}}},
            {"id": "summary", "kind": "transform", "config": {"template": {"created": "{{ steps.call.output.body.id }}"}}},
            {"id": "join", "kind": "merge"}
        ]),
        json!([
            {"source": "start", "target": "shape"}, {"source": "shape", "target": "check"},
            {"source": "check", "source_port": "true", "target": "call"}, {"source": "call", "target": "summary"},
            {"source": "summary", "target": "join"}
        ]),
    )
}

async fn a_run_stores_every_step_and_a_gapless_event_log(h: Harness) {
    h.server
        .script("/customers", vec![Reply::json(201, json!({"id": "cus_1"}))]);
    let mut live = h.engine.subscribe();
    let run = h
        .run(
            five_steps(&h.server.url("/customers")),
            json!({"email": "Ada@Example.com"}),
        )
        .await;
    assert_eq!(run.status, "succeeded", "{:?}", run.error);

    let steps = h.steps(run.id).await;
    assert_eq!(steps.len(), 6);
    assert!(
        steps
            .iter()
            .all(|s| s.status == "succeeded" && s.attempts == 1),
        "{steps:#?}"
    );
    let call = h.step(run.id, "call").await;
    assert_eq!(call.output.as_ref().unwrap()["status"], 201);
    assert_eq!(
        call.output.as_ref().unwrap()["body"],
        json!({"id": "cus_1"})
    );
    assert_eq!(
        call.input.as_ref().unwrap()["body"],
        json!({"email": "ada@example.com"}),
        "input is the evaluated config"
    );
    assert_eq!(
        h.step(run.id, "join").await.output.unwrap(),
        json!({"summary": {"created": "cus_1"}})
    );
    let received = h.server.received("/customers");
    assert_eq!(received.len(), 1);
    assert_eq!(
        serde_json::from_slice::<Value>(&received[0].body).unwrap(),
        json!({"email": "ada@example.com"})
    );

    let events = h.events(run.id).await;
    let seqs: Vec<i32> = events.iter().map(|e| e.seq).collect();
    assert_eq!(
        seqs,
        (1..=events.len() as i32).collect::<Vec<_>>(),
        "sequence numbers have no gaps"
    );
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds.first(), Some(&"execution.queued"));
    assert_eq!(kinds[1], "execution.started");
    assert_eq!(kinds.last(), Some(&"execution.succeeded"));
    assert_eq!(kinds.iter().filter(|k| **k == "step.succeeded").count(), 6);
    assert!(
        kinds.contains(&"step.started"),
        "the HTTP step announces its start"
    );

    // The live stream carried the same events, in order.
    let mut streamed = Vec::new();
    while streamed.len() < events.len() {
        let event = tokio::time::timeout(std::time::Duration::from_secs(10), live.recv())
            .await
            .unwrap()
            .unwrap();
        if event.row.execution_id == run.id {
            streamed.push(event.row.seq);
        }
    }
    assert_eq!(streamed, seqs);
}

async fn a_repeated_idempotency_key_returns_the_first_run(h: Harness) {
    h.server.script("/ok", vec![Reply::json(200, json!({}))]);
    let definition = http_workflow(&h.server.url("/ok"), json!({}));
    let (owner, workflow) = h.workflow(&definition).await;
    let mut new = Harness::new_run(owner, workflow, json!({}));
    new.idempotency_key = Some("order-42".into());
    let first = h.engine.enqueue(new.clone()).await.unwrap();
    let second = h.engine.enqueue(new).await.unwrap();
    assert!(first.created && !second.created);
    assert_eq!(first.id, second.id);
    h.wait(first.id).await;
    assert_eq!(h.server.received("/ok").len(), 1, "one key, one run");
}

async fn an_invalid_workflow_is_refused_with_its_problems(h: Harness) {
    let definition = workflow(
        json!([{"id": "start", "kind": "manual_trigger"}, {"id": "a", "kind": "http_request", "config": {}}]),
        json!([{"source": "start", "target": "a"}]),
    );
    let (owner, workflow) = h.workflow(&definition).await;
    match h
        .engine
        .enqueue(Harness::new_run(owner, workflow, json!({})))
        .await
    {
        Err(EngineError::Invalid(problems)) => {
            assert!(
                problems.iter().any(|p| p.node_id.as_deref() == Some("a")
                    && p.field.as_deref() == Some("config.url"))
            );
        }
        other => panic!("expected the workflow to be refused, got {other:?}"),
    }
}

async fn retries_send_the_same_idempotency_key(h: Harness) {
    h.server.script(
        "/charge",
        vec![
            Reply::json(500, json!({})),
            Reply::json(200, json!({"charged": true})),
        ],
    );
    let run = h
        .run(
            http_workflow(
                &h.server.url("/charge"),
                json!({"send_idempotency_key": true}),
            ),
            json!({}),
        )
        .await;
    assert_eq!(run.status, "succeeded");
    let keys: Vec<String> = h
        .server
        .received("/charge")
        .iter()
        .map(|r| r.headers["idempotency-key"].to_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        keys,
        [format!("{}:call", run.id), format!("{}:call", run.id)]
    );
}

#[tokio::test]
async fn outputs_over_the_cap_are_stored_truncated_with_their_size() {
    let config = EngineConfig {
        output_cap_bytes: 1_000,
        ..test_config()
    };
    let h = Harness::start_with(testkit::Backend::Sqlite, config)
        .await
        .unwrap();
    h.server.script(
        "/big",
        vec![Reply::json(200, json!({"text": "x".repeat(5_000)}))],
    );
    let definition = workflow(
        json!([
            {"id": "start", "kind": "manual_trigger"},
            {"id": "call", "kind": "http_request", "config": {"url": h.server.url("/big")}},
            {"id": "size", "kind": "transform", "config": {"template": "{{ steps.call.output.body.text | length }}"}}
        ]),
        json!([{"source": "start", "target": "call"}, {"source": "call", "target": "size"}]),
    );
    let run = h.run(definition, json!({})).await;
    assert_eq!(run.status, "succeeded");
    let call = h.step(run.id, "call").await.output.unwrap();
    assert_eq!(call["_truncated"], true);
    assert!(call["original_size"].as_u64().unwrap() > 5_000);
    assert!(call["preview"].as_str().unwrap().starts_with("{\"body\""));
    assert_eq!(
        h.step(run.id, "size").await.output.unwrap(),
        json!(5_000),
        "the run itself saw the whole output"
    );
}

/// A JSON `null` output stays `null` (not "no output"), and text with
/// quotes, backslashes, newlines and non-ASCII survives the trip to the
/// database and back, in the steps and in the event log.
async fn step_outputs_are_stored_exactly_as_produced(h: Harness) {
    let tricky =
        json!({"text": "it's \"quoted\" \\ back\nslash ✓", "none": null, "list": [1, 2.5, true]});
    let run = h
        .run(
            workflow(
                json!([
                    {"id": "start", "kind": "manual_trigger"},
                    {"id": "nothing", "kind": "transform", "config": {"template": "{{ trigger.none }}"}},
                    {"id": "tricky", "kind": "transform", "config": {"template": tricky}}
                ]),
                json!([
                    {"source": "start", "target": "nothing"},
                    {"source": "nothing", "target": "tricky"}
                ]),
            ),
            json!({"none": null}),
        )
        .await;
    assert_eq!(run.status, "succeeded", "{:?}", run.error);
    assert_eq!(h.step(run.id, "nothing").await.output, Some(Value::Null));
    assert_eq!(h.step(run.id, "tricky").await.output, Some(tricky.clone()));
    let events = h.events(run.id).await;
    assert!(
        events
            .iter()
            .any(|e| e.data.to_string().contains("back\\nslash ✓")),
        "{events:#?}"
    );
}
