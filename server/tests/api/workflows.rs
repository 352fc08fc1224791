//! Workflows through the REST API: create, read, save versions, lifecycle,
//! validation, manual runs, audit log, and every kind of bad input.

use serde_json::{Value, json};
use testkit::{Reply, ScriptedServer};

use crate::{
    helpers::{TestApp, assert_error, sample_workflow},
    on_both_backends,
};

on_both_backends!(
    a_workflow_goes_from_draft_to_run,
    saves_make_versions_and_detect_conflicts,
    activation_requires_a_valid_workflow,
    bad_bodies_get_clear_errors,
    lists_filter_and_search,
);

async fn a_workflow_goes_from_draft_to_run(app: TestApp) {
    let server = ScriptedServer::start().await;
    server.script("/hook", vec![Reply::json(200, json!({"ok": true}))]);
    let ada = app.user("ada@example.com").await;
    let created: Value = ada
        .post("/workflows", sample_workflow("Sync", &server.url("/hook")))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(created["status"], "draft");
    assert_eq!(created["version"], 1);
    assert_eq!(
        created["edges"][0]["source_port"], "out",
        "the port defaults to out"
    );
    assert_eq!(created["problems"], json!([]));
    let id = created["id"].as_str().unwrap();

    let read: Value = ada
        .get(&format!("/workflows/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read["nodes"].as_array().unwrap().len(), 3);

    let active: Value = ada
        .post(&format!("/workflows/{id}/activate"), json!(null))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(active["status"], "active");

    let started = ada
        .post(&format!("/workflows/{id}/execute"), json!({"n": 7}))
        .await;
    assert_eq!(started.status(), 202);
    let started: Value = started.json().await.unwrap();
    let run = ada
        .finished_run(started["execution_id"].as_str().unwrap())
        .await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["workflow_id"], id);
    assert_eq!(run["input"], json!({"n": 7}));
    let call = run["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["node_id"] == "call")
        .unwrap();
    assert_eq!(call["output"]["body"], json!({"ok": true}));
    assert_eq!(call["attempts"], 1);

    // An empty body runs with {} as input.
    let bare = ada
        .client
        .post(ada.url(&format!("/workflows/{id}/execute")))
        .send()
        .await
        .unwrap();
    assert_eq!(bare.status(), 202);

    let paused: Value = ada
        .post(&format!("/workflows/{id}/pause"), json!(null))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(paused["status"], "paused");
    assert_eq!(
        ada.post(&format!("/workflows/{id}/pause"), json!(null))
            .await
            .status(),
        200,
        "pausing twice is harmless"
    );

    let audit: Value = ada
        .get(&format!("/workflows/{id}/audit"))
        .await
        .json()
        .await
        .unwrap();
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["workflow.paused", "workflow.activated", "workflow.created"]
    );
    assert_eq!(audit[0]["actor_id"], ada.id);

    assert_eq!(ada.delete(&format!("/workflows/{id}")).await.status(), 204);
    assert_error(
        ada.get(&format!("/workflows/{id}")).await,
        404,
        "not_found",
        None,
    )
    .await;
}

async fn saves_make_versions_and_detect_conflicts(app: TestApp) {
    let ada = app.user("ada@example.com").await;
    let id = ada
        .create_workflow(sample_workflow("First", "https://api.example.com/a"))
        .await;
    let save = |name: &str, if_match: Option<&str>| {
        let mut request = ada
            .client
            .put(ada.url(&format!("/workflows/{id}")))
            .json(&sample_workflow(name, "https://api.example.com/b"));
        if let Some(version) = if_match {
            request = request.header("If-Match", version);
        }
        request.send()
    };
    let saved: Value = save("Second", Some("\"1\""))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(saved["version"], 2);
    assert_eq!(saved["name"], "Second");
    let stale = save("Third", Some("1")).await.unwrap();
    let body = assert_error(stale, 409, "conflict", None).await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("version 2"),
        "{body}"
    );
    assert_error(
        save("Third", Some("abc")).await.unwrap(),
        400,
        "bad_request",
        None,
    )
    .await;
    assert_eq!(save("Third", None).await.unwrap().status(), 200);

    let versions: Value = ada
        .get(&format!("/workflows/{id}/versions"))
        .await
        .json()
        .await
        .unwrap();
    let numbers: Vec<i64> = versions
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, [3, 2, 1]);
    let first: Value = ada
        .get(&format!("/workflows/{id}/versions/1"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first["name"], "First");
    assert_error(
        ada.get(&format!("/workflows/{id}/versions/9")).await,
        404,
        "not_found",
        None,
    )
    .await;
}

async fn activation_requires_a_valid_workflow(app: TestApp) {
    let ada = app.user("ada@example.com").await;
    let broken = json!({
        "name": "Broken",
        "nodes": [
            {"id": "start", "kind": "manual_trigger"},
            {"id": "a", "kind": "transform", "config": {"template": 1}},
            {"id": "b", "kind": "http_request", "config": {}}
        ],
        "edges": [{"source": "start", "target": "a"}, {"source": "a", "target": "b"}, {"source": "b", "target": "a"}]
    });
    let id = ada.create_workflow(broken).await;
    let report: Value = ada
        .post(&format!("/workflows/{id}/validate"), json!(null))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(report["valid"], false);
    let problems = report["problems"].as_array().unwrap();
    assert!(
        problems
            .iter()
            .any(|p| p["node_id"] == "b" && p["field"] == "config.url")
    );
    assert!(
        problems
            .iter()
            .any(|p| p["node_id"] == "a" && p["message"].as_str().unwrap().contains("cycle"))
    );

    let refused = assert_error(
        ada.post(&format!("/workflows/{id}/activate"), json!(null))
            .await,
        422,
        "invalid",
        Some("nodes.b.config.url"),
    )
    .await;
    let fields = refused["error"]["fields"].as_array().unwrap();
    assert!(fields.iter().any(|f| f["node_id"] == "a"), "{refused}");
    let run = ada
        .post(&format!("/workflows/{id}/execute"), json!({}))
        .await;
    assert_error(run, 422, "invalid", None).await;

    let workflow: Value = ada
        .get(&format!("/workflows/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        workflow["status"], "draft",
        "a refused activation changes nothing"
    );
    assert_error(
        ada.post(&format!("/workflows/{id}/pause"), json!(null))
            .await,
        409,
        "conflict",
        None,
    )
    .await;
}

async fn bad_bodies_get_clear_errors(app: TestApp) {
    let ada = app.user("ada@example.com").await;
    let post_raw = |body: &'static str, content_type: &'static str| {
        ada.client
            .post(ada.url("/workflows"))
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    assert_error(
        post_raw("{\"name\": ", "application/json").await.unwrap(),
        400,
        "malformed_json",
        None,
    )
    .await;
    assert_error(
        post_raw("name=x", "application/x-www-form-urlencoded")
            .await
            .unwrap(),
        415,
        "unsupported_media_type",
        None,
    )
    .await;
    assert_error(
        ada.post("/workflows", json!({"description": "no name"}))
            .await,
        422,
        "invalid",
        None,
    )
    .await;
    assert_error(
        ada.post("/workflows", json!({"name": "  ", "nodes": []}))
            .await,
        422,
        "invalid",
        Some("name"),
    )
    .await;
    assert_error(
        ada.post("/workflows", json!({"name": "x", "nodes": "many"}))
            .await,
        422,
        "invalid",
        Some("nodes"),
    )
    .await;
    assert_error(
        ada.post("/workflows", json!({"name": "x", "nodes": [{"id": "a"}]}))
            .await,
        422,
        "invalid",
        Some("nodes[0]"),
    )
    .await;
    assert_error(
        ada.post("/workflows", json!({"name": "x", "colour": "red"}))
            .await,
        422,
        "invalid",
        None,
    )
    .await;
    // The server answers without reading the body and closes the
    // connection; a separate client keeps that from the other requests.
    let big = json!({"name": "x", "description": "y".repeat(2 * 1024 * 1024)});
    let token: Value = ada
        .post("/tokens", json!({"name": "big"}))
        .await
        .json()
        .await
        .unwrap();
    let oversized = reqwest::Client::new()
        .post(ada.url("/workflows"))
        .bearer_auth(token["token"].as_str().unwrap())
        .json(&big)
        .send()
        .await
        .unwrap();
    assert_error(oversized, 413, "payload_too_large", None).await;
    assert_error(
        ada.get("/workflows/not-a-uuid").await,
        404,
        "not_found",
        None,
    )
    .await;
    assert_error(
        ada.get("/workflows?limit=0").await,
        400,
        "bad_request",
        None,
    )
    .await;
    assert_error(
        ada.get("/workflows?status=sleeping").await,
        400,
        "bad_request",
        None,
    )
    .await;
    assert_error(
        ada.get("/workflows?colour=red").await,
        400,
        "bad_request",
        None,
    )
    .await;
    assert_error(
        ada.client
            .patch(ada.url("/workflows"))
            .send()
            .await
            .unwrap(),
        405,
        "method_not_allowed",
        None,
    )
    .await;
    let anonymous = reqwest::Client::new();
    assert_error(
        anonymous.get(ada.url("/workflows")).send().await.unwrap(),
        401,
        "unauthorized",
        None,
    )
    .await;
}

async fn lists_filter_and_search(app: TestApp) {
    let ada = app.user("ada@example.com").await;
    for name in ["Stripe to Slack", "Nightly report", "Slack digest"] {
        ada.create_workflow(sample_workflow(name, "https://api.example.com/x"))
            .await;
    }
    let ada = &ada;
    let list = |query: &str| {
        let path = format!("/workflows{query}");
        async move { ada.get(&path).await }
    };
    let all: Value = list("").await.json().await.unwrap();
    assert_eq!(all["total"], 3);
    assert_eq!(
        all["items"][0]["name"], "Slack digest",
        "most recently changed first"
    );
    assert_eq!(all["items"][0]["trigger_kind"], "manual_trigger");
    let slack: Value = list("?search=SLACK").await.json().await.unwrap();
    assert_eq!(slack["total"], 2);
    let page: Value = list("?limit=1&offset=1").await.json().await.unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["items"][0]["name"], "Nightly report");
    let drafts: Value = list("?status=draft").await.json().await.unwrap();
    assert_eq!(drafts["total"], 3);
    let active: Value = list("?status=active").await.json().await.unwrap();
    assert_eq!(active["total"], 0);
}
