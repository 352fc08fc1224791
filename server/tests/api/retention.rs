//! `GET /retention`: the operator's settings and a dry run over the
//! signed-in account's data only.

use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use testkit::{Reply, ScriptedServer};

use crate::{
    helpers::{TestApp, assert_error, sample_workflow},
    on_both_backends,
};

on_both_backends!(retention_shows_the_policy_and_what_would_go);

async fn retention_shows_the_policy_and_what_would_go(app: TestApp) {
    assert_error(
        app.get("/api/v1/retention").await,
        401,
        "unauthorized",
        None,
    )
    .await;
    let provider = ScriptedServer::start().await;
    provider.script("/ok", vec![Reply::json(200, json!({}))]);
    let ada = app.user("ada@example.com").await;
    let bob = app.user("bob@example.com").await;
    let workflow = ada
        .create_workflow(sample_workflow("Kept briefly", &provider.url("/ok")))
        .await;
    let mut ids = Vec::new();
    for n in 0..2 {
        let started: Value = ada
            .post(&format!("/workflows/{workflow}/execute"), json!({ "n": n }))
            .await
            .json()
            .await
            .unwrap();
        let id = started["execution_id"].as_str().unwrap().to_owned();
        assert_eq!(ada.finished_run(&id).await["status"], "succeeded");
        ids.push(id);
    }
    // One of the two ended 20 days ago.
    let twenty_days_ago = chrono::Utc::now().timestamp_millis() - 20 * 24 * 3_600_000;
    let backend = app.db.get_database_backend();
    let placeholder = if backend == sea_orm::DbBackend::Postgres {
        "$1"
    } else {
        "?"
    };
    let id = uuid::Uuid::parse_str(&ids[0]).unwrap();
    let sql =
        format!("UPDATE executions SET finished_at = {twenty_days_ago} WHERE id = {placeholder}");
    app.db
        .execute_raw(sea_orm::Statement::from_sql_and_values(
            backend,
            sql,
            [id.into()],
        ))
        .await
        .unwrap();

    let preview: Value = ada.get("/retention").await.json().await.unwrap();
    assert_eq!(
        preview["policy"],
        json!({"run_days": 14, "max_runs_per_workflow": 10000, "payload_days": 3, "dead_letter_days": 90, "audit_days": 365})
    );
    assert_eq!(preview["would_delete"]["runs"], 1);
    assert_eq!(
        preview["would_delete"]["by_workflow"],
        json!([{"workflow_id": workflow, "runs": 1}])
    );
    let others: Value = bob.get("/retention").await.json().await.unwrap();
    assert_eq!(others["would_delete"]["runs"], 0);
    // A dry run: both runs are still there.
    for id in &ids {
        assert_eq!(ada.get(&format!("/executions/{id}")).await.status(), 200);
    }
}
