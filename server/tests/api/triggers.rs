//! Events and schedules through the API.

use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, User, assert_error},
    on_both_backends,
};

on_both_backends!(
    events_start_the_workflows_that_match,
    schedules_are_checked_and_previewed
);

async fn listener(user: &User, name: &str, filter: Option<&str>) -> String {
    let mut config = json!({"type": "order.created"});
    if let Some(filter) = filter {
        config["filter"] = json!(filter);
    }
    let id = user
        .create_workflow(json!({
            "name": name,
            "nodes": [
                {"id": "on_order", "kind": "event_trigger", "config": config},
                {"id": "note", "kind": "transform", "config": {"template": "{{ trigger.data.total }} from {{ trigger.source }}"}}
            ],
            "edges": [{"source": "on_order", "target": "note"}]
        }))
        .await;
    assert_eq!(
        user.post(&format!("/workflows/{id}/activate"), json!(null))
            .await
            .status(),
        200
    );
    id
}

async fn events_start_the_workflows_that_match(app: TestApp) {
    let ada = app.user("ada@example.com").await;
    let bob = app.user("bob@example.com").await;
    let all_orders = listener(&ada, "All orders", None).await;
    let big_orders = listener(&ada, "Big orders", Some("{{ data.total > 100 }}")).await;
    let bobs = listener(&bob, "Bob's", None).await;

    let small: Value = ada
        .post(
            "/events",
            json!({"type": "order.created", "data": {"total": 50}, "source": "shop"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        small["execution_ids"].as_array().unwrap().len(),
        1,
        "{small}"
    );
    let big = ada
        .post(
            "/events",
            json!({"type": "order.created", "data": {"total": 500}, "source": "shop"}),
        )
        .await;
    assert_eq!(big.status(), 201);
    let big: Value = big.json().await.unwrap();
    assert_eq!(big["execution_ids"].as_array().unwrap().len(), 2);
    let other: Value = ada
        .post("/events", json!({"type": "order.cancelled", "data": {}}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(other["execution_ids"], json!([]));

    for id in big["execution_ids"].as_array().unwrap() {
        let run = ada.finished_run(id.as_str().unwrap()).await;
        assert_eq!(run["status"], "succeeded");
        assert_eq!(run["trigger"], "event");
        let note = run["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["node_id"] == "note")
            .unwrap();
        assert_eq!(note["output"], "500 from shop");
        assert!(
            [all_orders.as_str(), big_orders.as_str()]
                .contains(&run["workflow_id"].as_str().unwrap())
        );
    }
    let listed: Value = ada.get("/events").await.json().await.unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 3);
    assert_eq!(listed[0]["type"], "order.cancelled");
    assert_eq!(listed[1]["execution_ids"], big["execution_ids"]);

    let bobs_runs: Value = bob
        .get(&format!("/executions?workflow_id={bobs}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        bobs_runs["items"],
        json!([]),
        "another account's events start nothing of Bob's"
    );
    assert_eq!(
        bob.get("/events").await.json::<Value>().await.unwrap(),
        json!([])
    );

    assert_error(
        ada.post("/events", json!({"type": "", "data": {}})).await,
        422,
        "invalid",
        Some("type"),
    )
    .await;
    assert_error(
        ada.post("/events", json!({"data": {}})).await,
        422,
        "invalid",
        None,
    )
    .await;
    let anonymous = reqwest::Client::new()
        .post(ada.url("/events"))
        .json(&json!({"type": "x", "data": {}}))
        .send()
        .await
        .unwrap();
    assert_error(anonymous, 401, "unauthorized", None).await;
}

async fn schedules_are_checked_and_previewed(app: TestApp) {
    let ada = app.user("ada@example.com").await;
    let preview: Value = ada
        .post(
            "/schedules/preview",
            json!({"cron": "0 9 * * 1-5", "timezone": "Europe/Berlin"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let next = preview["next"].as_array().unwrap();
    assert_eq!(next.len(), 5);
    assert!(
        next.iter()
            .all(|t| t.as_str().unwrap().contains("T09:00:00+0")),
        "{preview}"
    );
    assert_error(
        ada.post("/schedules/preview", json!({"cron": "every day"}))
            .await,
        422,
        "invalid",
        Some("cron"),
    )
    .await;
    assert_error(
        ada.post(
            "/schedules/preview",
            json!({"cron": "* * * * *", "timezone": "Moon/Base"}),
        )
        .await,
        422,
        "invalid",
        Some("timezone"),
    )
    .await;

    let id = ada
        .create_workflow(json!({
            "name": "Nightly",
            "nodes": [{"id": "tick", "kind": "schedule_trigger", "config": {"cron": "61 * * * *"}}, {"id": "n", "kind": "transform", "config": {"template": 1}}],
            "edges": [{"source": "tick", "target": "n"}]
        }))
        .await;
    let shown: Value = ada
        .get(&format!("/workflows/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        shown["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["node_id"] == "tick" && p["field"] == "config.cron"),
        "{shown}"
    );
    assert_error(
        ada.post(&format!("/workflows/{id}/activate"), json!(null))
            .await,
        422,
        "invalid",
        Some("nodes.tick.config.cron"),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_active_schedule_runs_on_its_own_until_paused() {
    let app = crate::helpers::spawn_app(crate::helpers::Backend::Sqlite)
        .await
        .unwrap();
    let ada = app.user("ada@example.com").await;
    let id = ada
        .create_workflow(json!({
            "name": "Every second",
            "nodes": [{"id": "tick", "kind": "schedule_trigger", "config": {"cron": "* * * * * *"}}, {"id": "n", "kind": "transform", "config": {"template": "{{ trigger.scheduled_at }}"}}],
            "edges": [{"source": "tick", "target": "n"}]
        }))
        .await;
    ada.post(&format!("/workflows/{id}/activate"), json!(null))
        .await;
    let mut seen = 0;
    for _ in 0..200 {
        let runs: Value = ada
            .get(&format!("/executions?workflow_id={id}"))
            .await
            .json()
            .await
            .unwrap();
        seen = runs["items"].as_array().unwrap().len();
        if seen >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(seen >= 2, "the schedule fired by itself");
    ada.post(&format!("/workflows/{id}/pause"), json!(null))
        .await;
    use sea_orm::EntityTrait;
    assert!(
        entity::schedule::Entity::find()
            .all(&app.db)
            .await
            .unwrap()
            .is_empty(),
        "a paused workflow has no schedule"
    );
}
