//! Issue #13 through the API: webhooks racing a batch that fails in part
//! queue each accepted run exactly once, and a run with a long loop is
//! shown without loading every step.

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::{helpers::TestApp, on_both_backends};

on_both_backends!(
    item2_concurrent_webhooks_with_failing_neighbours_queue_each_accepted_run_once,
    item5_a_run_with_a_long_loop_is_shown_in_pages
);

async fn hook_workflow(app: &TestApp, user: &crate::helpers::User, name: &str) -> (String, String) {
    let created: Value = user
        .post(
            "/workflows",
            json!({
                "name": name,
                "nodes": [{"id": "hook", "kind": "webhook_trigger", "config": {}}],
                "edges": []
            }),
        )
        .await
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    let activated = user
        .post(&format!("/workflows/{id}/activate"), json!(null))
        .await;
    assert_eq!(activated.status(), 200);
    let url = created["webhook_url"].as_str().unwrap().to_owned();
    assert!(url.starts_with(&app.address));
    (id, url)
}

async fn item2_concurrent_webhooks_with_failing_neighbours_queue_each_accepted_run_once(
    app: TestApp,
) {
    let ada = app.user("ada@example.com").await;
    let (kept, kept_url) = hook_workflow(&app, &ada, "Kept").await;
    let (doomed, doomed_url) = hook_workflow(&app, &ada, "Deleted").await;
    let client = reqwest::Client::new();
    let pad = "p".repeat(1_000);
    let mut sends = Vec::new();
    for i in 0..80 {
        let (url, body) = match i % 8 {
            3 => (
                doomed_url.clone(),
                json!({ "i": i, "pad": pad }).to_string(),
            ),
            5 => (
                kept_url.clone(),
                format!(r#"{{"i": {i}, "text": "nul \u0000 byte"}}"#),
            ),
            _ => (kept_url.clone(), json!({ "i": i, "pad": pad }).to_string()),
        };
        let client = client.clone();
        sends.push(tokio::spawn(async move {
            let response = client
                .post(url)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            (
                i,
                status,
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }));
        if i == 40 {
            let deleted = ada.delete(&format!("/workflows/{doomed}")).await;
            assert_eq!(deleted.status(), 204);
        }
    }
    let mut accepted = HashSet::new();
    for send in sends {
        let (i, status, body) = send.await.unwrap();
        match (i % 8, status) {
            (3, 202 | 404 | 409) => {}
            (5, 422) => assert_eq!(body["error"]["fields"][0]["field"], "body", "{body}"),
            (_, 202) => {
                let id = body["execution_id"].as_str().unwrap().to_owned();
                assert!(accepted.insert(id), "one id answered twice");
            }
            (kind, status) => panic!("request {i} ({kind}) answered {status}: {body}"),
        }
    }
    assert_eq!(accepted.len(), 60);
    let listed: Value = ada
        .get(&format!("/executions?workflow_id={kept}&limit=200"))
        .await
        .json()
        .await
        .unwrap();
    let stored: HashSet<String> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|run| run["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        listed["items"].as_array().unwrap().len(),
        60,
        "no run twice"
    );
    assert_eq!(stored, accepted);
}

async fn item5_a_run_with_a_long_loop_is_shown_in_pages(app: TestApp) {
    let ada = app.user("ada@example.com").await;
    let workflow = ada
        .create_workflow(json!({
            "name": "Long loop",
            "nodes": [
                {"id": "start", "kind": "manual_trigger"},
                {"id": "each", "kind": "loop", "config": {"items": "{{ range(1500) | list }}", "concurrency": 50}},
                {"id": "double", "kind": "transform", "config": {"template": "{{ item * 2 }}"}},
                {"id": "done", "kind": "transform", "config": {"template": "{{ steps.each.output | length }}"}}
            ],
            "edges": [
                {"source": "start", "target": "each"},
                {"source": "each", "source_port": "body", "target": "double"},
                {"source": "each", "source_port": "out", "target": "done"}
            ]
        }))
        .await;
    let started: Value = ada
        .post(&format!("/workflows/{workflow}/execute"), json!({}))
        .await
        .json()
        .await
        .unwrap();
    let id = started["execution_id"].as_str().unwrap();
    let run = ada.finished_run(id).await;
    assert_eq!(run["status"], "succeeded", "{}", run["error"]);
    assert_eq!(run["step_count"], 1_503);
    let shown = run["steps"].as_array().unwrap();
    assert_eq!(
        shown.len(),
        3 + 100,
        "every main step and the first loop steps"
    );
    assert_eq!(run["steps_omitted"], 1_400);
    assert!(
        shown
            .iter()
            .any(|s| s["node_id"] == "done" && s["output"] == 1_500)
    );

    let mut seen = HashSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(cursor) => format!("/executions/{id}/steps?limit=200&cursor={cursor}"),
            None => format!("/executions/{id}/steps?limit=200"),
        };
        let page: Value = ada.get(&path).await.json().await.unwrap();
        for step in page["items"].as_array().unwrap() {
            let key = format!("{}@{}", step["node_id"], step["item"]);
            assert!(seen.insert(key), "a step on two pages");
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 1_503);
    let bad = ada
        .get(&format!("/executions/{id}/steps?cursor=nonsense"))
        .await;
    assert_eq!(bad.status(), 422);
}
