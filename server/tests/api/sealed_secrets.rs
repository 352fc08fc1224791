//! Secrets sealed in workflows: never shown sealed (versions, copies),
//! never accepted sealed from a client, and bound to their workflow and
//! field, so a sealed value copied elsewhere does not open.

use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use serde_json::{Value, json};
use testkit::{Reply, ScriptedServer};
use uuid::Uuid;

use crate::{
    helpers::{TestApp, User, assert_error},
    on_both_backends,
};

on_both_backends!(item9_sealed_secrets_stay_bound_and_hidden);

fn calling(name: &str, url: &str, auth: Value) -> Value {
    json!({
        "name": name,
        "nodes": [
            {"id": "start", "kind": "manual_trigger"},
            {"id": "call", "kind": "http_request", "config": {"url": url, "auth": auth}}
        ],
        "edges": [{"source": "start", "target": "call"}],
        "settings": {"retry": {"max_attempts": 1}}
    })
}

async fn run(user: &User, workflow: &str) -> Value {
    let started: Value = user
        .post(&format!("/workflows/{workflow}/execute"), json!({}))
        .await
        .json()
        .await
        .unwrap();
    user.finished_run(started["execution_id"].as_str().unwrap())
        .await
}

/// The stored (sealed) token of a workflow's `call` node.
async fn stored_token(app: &TestApp, id: &str) -> String {
    let stored = entity::workflow::Entity::find_by_id(Uuid::parse_str(id).unwrap())
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    stored.definition["nodes"][1]["config"]["auth"]["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Writes `definition` into a workflow's row and its current version, as a
/// copy made behind the API's back would.
async fn overwrite(app: &TestApp, id: &str, definition: Value) {
    let id = Uuid::parse_str(id).unwrap();
    let row = entity::workflow::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let version = row.version;
    let mut row: entity::workflow::ActiveModel = row.into();
    row.definition = Set(definition.clone());
    row.update(&app.db).await.unwrap();
    let saved = entity::workflow_version::Entity::find_by_id((id, version))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let mut saved: entity::workflow_version::ActiveModel = saved.into();
    saved.definition = Set(definition);
    saved.update(&app.db).await.unwrap();
}

async fn item9_sealed_secrets_stay_bound_and_hidden(app: TestApp) {
    let server = ScriptedServer::start().await;
    server.script("/api", vec![Reply::json(200, json!({}))]);
    let url = server.url("/api");
    let ada = app.user("ada@example.com").await;
    let bearer = |token: &str| json!({"type": "bearer", "token": token});
    let original = ada
        .create_workflow(calling("Original", &url, bearer("tok-original")))
        .await;
    let sealed = stored_token(&app, &original).await;
    assert!(sealed.starts_with("sealed:"), "{sealed}");

    // Shown masked everywhere, versions included.
    for path in [
        format!("/workflows/{original}"),
        format!("/workflows/{original}/versions/1"),
    ] {
        let shown = ada.get(&path).await.text().await.unwrap();
        assert!(!shown.contains("sealed:"), "{path}: {shown}");
        assert!(shown.contains("••••••"), "{path}: {shown}");
    }

    // Sealed text from a client is refused, naming the field.
    let bob = app.user("bob@example.com").await;
    let pasted = calling("Pasted", &url, bearer(&sealed));
    for response in [
        bob.post("/workflows", pasted.clone()).await,
        ada.put(&format!("/workflows/{original}"), pasted).await,
    ] {
        assert_error(
            response,
            422,
            "invalid",
            Some("nodes.call.config.auth.token"),
        )
        .await;
    }

    // A sealed value copied into another workflow, or another field of the
    // same one, does not open there: the secret is never sent.
    let other = bob
        .create_workflow(calling("Other", &url, bearer("tok-other")))
        .await;
    overwrite(&app, &other, calling("Other", &url, bearer(&sealed))).await;
    let elsewhere = run(&bob, &other).await;
    assert_eq!(elsewhere["status"], "failed", "{elsewhere}");
    let fieldwise = ada
        .create_workflow(calling("Fieldwise", &url, bearer("tok-field")))
        .await;
    let moved = json!({"type": "basic", "username": "ada", "password": stored_token(&app, &fieldwise).await});
    overwrite(&app, &fieldwise, calling("Fieldwise", &url, moved)).await;
    let other_field = run(&ada, &fieldwise).await;
    assert_eq!(other_field["status"], "failed", "{other_field}");
    assert!(server.received("/api").is_empty(), "nothing was sent");

    // A copy gets its own sealed values, which open for it alone.
    let copy = ada
        .post(&format!("/workflows/{original}/duplicate"), json!(null))
        .await;
    assert_eq!(copy.status(), 201);
    let copy: Value = copy.json().await.unwrap();
    assert!(!copy.to_string().contains("sealed:"), "{copy}");
    let copy = copy["id"].as_str().unwrap().to_owned();
    assert_ne!(stored_token(&app, &copy).await, sealed);
    for workflow in [&original, &copy] {
        let ran = run(&ada, workflow).await;
        assert_eq!(ran["status"], "succeeded", "{ran}");
    }
    let sent: Vec<String> = server
        .received("/api")
        .iter()
        .map(|r| r.headers["authorization"].to_str().unwrap().to_owned())
        .collect();
    assert_eq!(sent, ["Bearer tok-original", "Bearer tok-original"]);
}
