//! `POST /workflows/import` with n8n exports: the draft validates, the
//! report lists what did not carry over, and an imported workflow runs:
//! its webhook, condition, HTTP call and Slack message against local
//! servers standing in for the CRM and Slack.

use serde_json::{Value, json};
use testkit::{Reply, ScriptedServer};

use crate::{
    helpers::{TestApp, assert_error},
    integrations::{connect, header, json_body},
    on_both_backends,
};

fn export(name: &str) -> Value {
    let path = format!(
        "{}/../domain/tests/n8n/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

on_both_backends!(
    an_imported_n8n_workflow_validates_and_runs,
    unsupported_parts_are_listed_and_bad_imports_named
);

async fn an_imported_n8n_workflow_validates_and_runs(app: TestApp) {
    let ada = app.user("ada@example.com").await;
    let remote = ScriptedServer::start().await;
    remote.script(
        "/crm/api/customers",
        vec![Reply::json(201, json!({"id": "crm_77"}))],
    );
    remote.script(
        "/slack/chat.postMessage",
        vec![Reply::json(
            200,
            json!({"ok": true, "channel": "C0123SALES", "ts": "1.2"}),
        )],
    );
    connect(
        &ada,
        "slack",
        json!({"token": "xoxb-import"}),
        &remote,
        "/slack",
    )
    .await;

    let imported = ada
        .post(
            "/workflows/import",
            json!({"format": "n8n", "workflow": export("signup-webhook")}),
        )
        .await;
    assert_eq!(imported.status(), 201, "{}", imported.text().await.unwrap());
    let imported: Value = imported.json().await.unwrap();
    assert_eq!(imported["report"]["unsupported"], json!([]));
    assert_eq!(imported["report"]["missing_connections"], json!([]));
    let notes = imported["report"]["notes"].to_string();
    assert!(notes.contains("CRM API key"), "{notes}");
    let id = imported["workflow_id"].as_str().unwrap();

    let draft: Value = ada
        .get(&format!("/workflows/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(draft["status"], "draft");
    assert_eq!(draft["problems"], json!([]), "the draft validates");

    // The CRM's address is the one thing to change: here, the stand-in.
    let mut definition = draft.clone();
    for key in [
        "id",
        "status",
        "version",
        "problems",
        "webhook_path",
        "webhook_url",
        "paused_reason",
        "created_at",
        "updated_at",
    ] {
        definition.as_object_mut().unwrap().remove(key);
    }
    for node in definition["nodes"].as_array_mut().unwrap() {
        if node["id"] == "create_crm_customer" {
            node["config"]["url"] = json!(remote.url("/crm/api/customers"));
        }
    }
    let saved = ada.put(&format!("/workflows/{id}"), definition).await;
    assert_eq!(saved.status(), 200, "{}", saved.text().await.unwrap());
    let activated = ada
        .post(&format!("/workflows/{id}/activate"), json!(null))
        .await;
    assert_eq!(
        activated.status(),
        200,
        "{}",
        activated.text().await.unwrap()
    );
    let hook = draft["webhook_url"].as_str().unwrap().to_owned();

    let delivered = ada
        .client
        .post(&hook)
        .json(&json!({"email": "Grace@Example.com", "plan": "pro", "seats": 3}))
        .send()
        .await
        .unwrap();
    assert_eq!(delivered.status(), 202);
    let started: Value = delivered.json().await.unwrap();
    let run = ada
        .finished_run(started["execution_id"].as_str().unwrap())
        .await;
    assert_eq!(run["status"], "succeeded", "{run}");

    let created = &remote.received("/crm/api/customers")[0];
    assert_eq!(header(created, "x-source"), Some("n8n"));
    assert_eq!(
        json_body(created),
        json!({"email": "grace@example.com", "plan": "pro", "seats": 3})
    );
    let posted = json_body(&remote.received("/slack/chat.postMessage")[0]);
    assert_eq!(posted["channel"], "C0123SALES");
    assert_eq!(
        posted["text"],
        "New pro customer Grace@Example.com (CRM id crm_77)"
    );
}

async fn unsupported_parts_are_listed_and_bad_imports_named(app: TestApp) {
    let ada = app.user("ada@example.com").await;
    let imported: Value = ada
        .post(
            "/workflows/import",
            json!({"format": "n8n", "workflow": export("mixed")}),
        )
        .await
        .json()
        .await
        .unwrap();
    let mut listed: Vec<String> = imported["report"]["unsupported"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            format!(
                "{} ({})",
                i["node"].as_str().unwrap(),
                i["node_type"].as_str().unwrap()
            )
        })
        .collect();
    listed.sort();
    assert_eq!(
        listed,
        [
            "Custom scoring (n8n-nodes-base.code)",
            "Greeting (n8n-nodes-base.set)",
            "Legacy function (n8n-nodes-base.function)",
            "Log to sheet (n8n-nodes-base.googleSheets)",
            "Route by plan (n8n-nodes-base.switch)",
        ]
    );
    let id = imported["workflow_id"].as_str().unwrap();
    let draft: Value = ada
        .get(&format!("/workflows/{id}"))
        .await
        .json()
        .await
        .unwrap();
    let errors: Vec<&Value> = draft["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["severity"] == "error")
        .collect();
    assert!(errors.is_empty(), "{errors:?}");

    // A run stops at the first step that was not imported, naming it.
    let started: Value = ada
        .post(
            &format!("/workflows/{id}/execute"),
            json!({"name": "Ada", "plan": "free", "items": [{"id": 1}]}),
        )
        .await
        .json()
        .await
        .unwrap();
    let run = ada
        .finished_run(started["execution_id"].as_str().unwrap())
        .await;
    assert_eq!(run["status"], "failed");
    assert_eq!(run["error"]["node_id"], "greeting");
    assert!(
        run["error"]["message"]
            .as_str()
            .unwrap()
            .contains("n8n_expression_not_imported"),
        "{run}"
    );

    // `$now` is the run's start, `$execution.id` the run.
    let stamped: Value = ada
        .post(
            "/workflows/import",
            json!({"format": "n8n", "workflow": {
                "name": "Stamp",
                "nodes": [
                    {"name": "Start", "type": "n8n-nodes-base.manualTrigger", "typeVersion": 1, "position": [0, 0], "parameters": {}},
                    {"name": "Stamp", "type": "n8n-nodes-base.set", "typeVersion": 3.4, "position": [200, 0], "parameters": {
                        "assignments": {"assignments": [
                            {"id": "a", "name": "at", "value": "={{ $now }}", "type": "string"},
                            {"id": "b", "name": "run", "value": "={{ $execution.id }}", "type": "string"}
                        ]}, "options": {}}}
                ],
                "connections": {"Start": {"main": [[{"node": "Stamp", "type": "main", "index": 0}]]}}
            }}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(stamped["report"]["unsupported"], json!([]));
    let started: Value = ada
        .post(
            &format!(
                "/workflows/{}/execute",
                stamped["workflow_id"].as_str().unwrap()
            ),
            json!({}),
        )
        .await
        .json()
        .await
        .unwrap();
    let run = ada
        .finished_run(started["execution_id"].as_str().unwrap())
        .await;
    assert_eq!(run["status"], "succeeded", "{run}");
    let output = &crate::integrations::step(&run, "stamp")["output"];
    assert_eq!(output["run"], run["id"]);
    let at = chrono::DateTime::parse_from_rfc3339(output["at"].as_str().unwrap()).unwrap();
    let started_at =
        chrono::DateTime::parse_from_rfc3339(run["started_at"].as_str().unwrap()).unwrap();
    assert_eq!(at.timestamp_millis(), started_at.timestamp_millis());

    let bad = ada
        .post(
            "/workflows/import",
            json!({"format": "zapier", "workflow": {}}),
        )
        .await;
    assert_error(bad, 422, "invalid", Some("format")).await;
    let bad = ada
        .post(
            "/workflows/import",
            json!({"format": "n8n", "workflow": {"nodes": {}}}),
        )
        .await;
    assert_error(bad, 422, "invalid", Some("workflow.nodes")).await;
    let own = ada
        .post(
            "/workflows/import",
            json!({"format": "switchyard", "workflow": {"name": "Mine", "nodes": [{"id": "start", "kind": "manual_trigger"}]}}),
        )
        .await;
    assert_eq!(own.status(), 201);
}
