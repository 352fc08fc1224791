//! Liveness, readiness, request ids and JSON errors under /api.

use serde_json::Value;

use crate::{helpers::TestApp, on_both_backends};

on_both_backends!(
    liveness_answers_ok,
    readiness_reports_the_database,
    every_response_carries_a_request_id,
    unknown_api_paths_answer_json_404,
    migrations_are_applied_at_start,
);

async fn liveness_answers_ok(app: TestApp) {
    let response = app.get("/health").await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
}

async fn readiness_reports_the_database(app: TestApp) {
    let response = app.get("/health/ready").await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ready");
    assert_eq!(body["database"]["status"], "up");
    assert!(body["database"]["latency_ms"].as_f64().unwrap() >= 0.0);

    app.db.clone().close().await.unwrap();
    let response = app.get("/health/ready").await;
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "unavailable");
    assert_eq!(body["database"]["status"], "down");
}

async fn every_response_carries_a_request_id(app: TestApp) {
    let response = app.get("/health").await;
    let generated = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(uuid::Uuid::parse_str(&generated).is_ok(), "{generated}");

    let response = app.get("/no/such/page").await;
    assert!(response.headers().contains_key("x-request-id"));

    let echoed = app
        .client
        .get(app.url("/health"))
        .header("x-request-id", "client-chosen-42")
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.headers()["x-request-id"], "client-chosen-42");

    let replaced = app
        .client
        .get(app.url("/health"))
        .header("x-request-id", "not acceptable!")
        .send()
        .await
        .unwrap();
    assert_ne!(replaced.headers()["x-request-id"], "not acceptable!");
}

async fn unknown_api_paths_answer_json_404(app: TestApp) {
    let response = app.get("/api/v1/no-such-thing").await;
    assert_eq!(response.status(), 404);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
    assert!(body["error"]["message"].is_string());
    assert!(body["error"]["fields"].is_array());
}

async fn migrations_are_applied_at_start(app: TestApp) {
    use sea_orm::{EntityTrait, PaginatorTrait};
    assert_eq!(
        entity::user::Entity::find().count(&app.db).await.unwrap(),
        0
    );
    assert_eq!(
        entity::workflow::Entity::find()
            .count(&app.db)
            .await
            .unwrap(),
        0
    );
    let version = migration::database::schema_version(&app.db).await.unwrap();
    assert_eq!(
        version.as_deref(),
        Some(crate::helpers::newest_migration().as_str())
    );
}
