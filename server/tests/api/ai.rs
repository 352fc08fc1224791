//! The AI builder over REST: a description becomes a draft that, once the
//! user has created the connections it names and filled in what it left
//! open, saves, activates and runs against local stand-ins of the
//! providers; bad input gets a clear error; the streaming variant reports
//! progress, then the same answer.

use serde_json::{Value, json};
use testkit::{Reply, ScriptedServer};

use crate::{
    helpers::{TestApp, assert_error},
    integrations::{json_body, step},
    on_both_backends,
    provider_triggers::stripe_signature,
};

on_both_backends!(the_seed_prompt_becomes_a_workflow_that_runs);

const SEED: &str =
    "When a new customer signs up in Stripe, add them to Mailchimp and send Slack notification";

async fn the_seed_prompt_becomes_a_workflow_that_runs(app: TestApp) {
    let ada = app.user("ada@example.com").await;
    let first: Value = ada
        .post(
            "/ai/generate",
            json!({"prompt": SEED, "timezone": "Europe/Paris"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first["planner"], "offline");
    let kinds: Vec<&str> = first["workflow"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "stripe.trigger",
            "mailchimp.add_member",
            "slack.post_message"
        ]
    );
    let missing: Vec<&str> = first["missing_connections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["provider"].as_str().unwrap())
        .collect();
    assert_eq!(missing, ["stripe", "mailchimp", "slack"]);
    assert_eq!(first["steps"].as_array().unwrap().len(), 3);

    // The user creates the connections it asked for, pointed at stand-ins.
    let remote = ScriptedServer::start().await;
    remote.script(
        "/lists/list_1/members/9f528ceb410182ebd9d490172948f11f",
        vec![Reply::json(
            200,
            json!({"id": "9f52", "email_address": "grace@example.com", "status": "subscribed"}),
        )],
    );
    remote.script(
        "/chat.postMessage",
        vec![Reply::json(
            200,
            json!({"ok": true, "channel": "C1", "ts": "1.2"}),
        )],
    );
    let connect = |kind: &str, fields: Value| {
        let mut fields = fields;
        fields["base_url"] = json!(remote.url(""));
        ada.post(
            "/connections",
            json!({"name": kind, "kind": kind, "fields": fields}),
        )
    };
    let mailchimp: Value = connect("mailchimp", json!({"api_key": "key-us21"}))
        .await
        .json()
        .await
        .unwrap();
    let slack: Value = connect("slack", json!({"token": "xoxb-secret-token"}))
        .await
        .json()
        .await
        .unwrap();

    let second: Value = ada
        .post("/ai/generate", json!({"prompt": SEED}))
        .await
        .json()
        .await
        .unwrap();
    let mut draft = second["workflow"].clone();
    assert_eq!(draft["nodes"][1]["config"]["connection"], mailchimp["id"]);
    assert_eq!(draft["nodes"][2]["config"]["connection"], slack["id"]);
    assert_eq!(
        second["missing_connections"],
        json!([{"provider": "stripe", "provider_name": "Stripe", "node_ids": ["trigger"]}])
    );
    let text = second.to_string();
    assert!(
        !text.contains("key-us21") && !text.contains("xoxb-secret-token"),
        "no secret in a draft"
    );

    // What it left open, the user fills in; then save, activate, deliver.
    let needs: Vec<&str> = second["needs_input"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["field"].as_str().unwrap())
        .collect();
    assert_eq!(needs, ["config.list_id", "config.channel"]);
    draft["nodes"][0]["config"]["secret"] = json!("whsec_test");
    draft["nodes"][1]["config"]["list_id"] = json!("list_1");
    draft["nodes"][2]["config"]["channel"] = json!("#new-customers");
    let created = ada.post("/workflows", draft).await;
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    let id = created["id"].as_str().unwrap();
    let activated = ada
        .post(&format!("/workflows/{id}/activate"), json!(null))
        .await;
    assert_eq!(
        activated.status(),
        200,
        "{}",
        activated.text().await.unwrap()
    );

    let event = json!({
        "id": "evt_1", "type": "customer.created",
        "data": {"object": {"id": "cus_1", "email": "grace@example.com", "name": "Grace"}}
    })
    .to_string();
    let accepted = reqwest::Client::new()
        .post(created["webhook_url"].as_str().unwrap())
        .header("content-type", "application/json")
        .header("Stripe-Signature", stripe_signature("whsec_test", &event))
        .body(event)
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), 202);
    let run_id = accepted.json::<Value>().await.unwrap()["execution_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let run = ada.finished_run(&run_id).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(step(&run, "mailchimp_add_member")["status"], "succeeded");

    let member = &remote.received("/lists/list_1/members/9f528ceb410182ebd9d490172948f11f")[0];
    assert_eq!(member.method, "PUT");
    assert_eq!(json_body(member)["email_address"], "grace@example.com");
    let message = &remote.received("/chat.postMessage")[0];
    let message = json_body(message);
    assert_eq!(message["channel"], "#new-customers");
    assert!(
        message["text"]
            .as_str()
            .unwrap()
            .contains("grace@example.com"),
        "{message}"
    );
}

#[tokio::test]
async fn analysis_names_what_it_found_and_what_it_did_not() {
    let app = crate::helpers::spawn_app(testkit::Backend::Sqlite)
        .await
        .unwrap();
    let ada = app.user("ada@example.com").await;
    let analysis: Value = ada
        .post(
            "/ai/analyze",
            json!({"prompt": "when a github issue is opened, create a trello card and text +14155550100"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(analysis["trigger"]["kind"], "github.trigger");
    assert_eq!(analysis["trigger"]["events"], json!(["issues"]));
    assert_eq!(analysis["intents"][0]["kind"], "twilio.send_sms");
    assert_eq!(
        analysis["entities"],
        json!([{"kind": "phone", "value": "+14155550100"}])
    );
    let providers: Vec<&str> = analysis["providers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(providers, ["github", "twilio"]);
    assert!(
        analysis["unknown"][0]
            .as_str()
            .unwrap()
            .starts_with("trello"),
        "{analysis}"
    );

    let vague: Value = ada
        .post("/ai/generate", json!({"prompt": "send me a daily summary"}))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        vague["clarification"]["question"].as_str().is_some(),
        "{vague}"
    );
    assert_eq!(vague["workflow"]["nodes"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn bad_descriptions_are_refused_by_field_and_calls_are_limited() {
    let app = crate::helpers::spawn_app(testkit::Backend::Sqlite)
        .await
        .unwrap();
    let anonymous = reqwest::Client::new()
        .post(app.url("/api/v1/ai/generate"))
        .json(&json!({"prompt": SEED}))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let ada = app.user("ada@example.com").await;
    assert_error(
        ada.post("/ai/generate", json!({"prompt": "  "})).await,
        422,
        "invalid",
        Some("prompt"),
    )
    .await;
    assert_error(
        ada.post("/ai/generate", json!({"prompt": "x".repeat(4_001)}))
            .await,
        422,
        "invalid",
        Some("prompt"),
    )
    .await;
    assert_error(
        ada.post(
            "/ai/analyze",
            json!({"prompt": SEED, "timezone": "Mars/Olympus"}),
        )
        .await,
        422,
        "invalid",
        Some("timezone"),
    )
    .await;
    let unknown_field = ada
        .post("/ai/generate", json!({"prompt": SEED, "model": "gpt"}))
        .await;
    assert!(unknown_field.status().is_client_error());
    // 30 calls a minute per account (the refused ones above did not count).
    for _ in 0..30 {
        assert_eq!(
            ada.post("/ai/analyze", json!({"prompt": SEED}))
                .await
                .status(),
            200
        );
    }
    let limited = ada.post("/ai/analyze", json!({"prompt": SEED})).await;
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().contains_key("retry-after"));
    // Another account is not affected.
    let grace = app.user("grace@example.com").await;
    assert_eq!(
        grace
            .post("/ai/analyze", json!({"prompt": SEED}))
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn the_stream_reports_progress_then_the_same_draft() {
    let app = crate::helpers::spawn_app(testkit::Backend::Sqlite)
        .await
        .unwrap();
    let ada = app.user("ada@example.com").await;
    let response = ada
        .post("/ai/generate/stream", json!({"prompt": SEED}))
        .await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let events = sse_events(&response.text().await.unwrap());
    let stages: Vec<&str> = events
        .iter()
        .filter(|(name, _)| name == "progress")
        .map(|(_, data)| data["stage"].as_str().unwrap())
        .collect();
    assert_eq!(stages, ["understanding", "checking", "done"]);
    let (name, result) = events.last().unwrap();
    assert_eq!(name, "result");
    let direct: Value = ada
        .post("/ai/generate", json!({"prompt": SEED}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(result, &direct);
}

#[tokio::test]
async fn a_described_change_comes_back_as_operations_and_bad_ones_are_refused() {
    let app = crate::helpers::spawn_app(testkit::Backend::Sqlite)
        .await
        .unwrap();
    let ada = app.user("ada@example.com").await;
    let draft: Value = ada
        .post("/ai/generate", json!({"prompt": SEED}))
        .await
        .json()
        .await
        .unwrap();
    let workflow = draft["workflow"].clone();

    let change = ada
        .post("/ai/modify", json!({"workflow": workflow, "instruction": "put a delay of 2 days before the Slack message"}))
        .await;
    assert_eq!(change.status(), 200);
    let change: Value = change.json().await.unwrap();
    assert_eq!(change["operations"][0]["op"], "insert_between");
    assert_eq!(change["operations"][0]["source"], "mailchimp_add_member");
    assert_eq!(change["operations"][0]["target"], "slack_post_message");
    assert_eq!(
        change["operations"][0]["node"]["config"]["duration_ms"],
        172_800_000
    );
    let edges = change["workflow"]["edges"].to_string();
    assert!(
        !edges.contains(
            r#"{"source":"mailchimp_add_member","source_port":"out","target":"slack_post_message"}"#
        ),
        "{edges}"
    );

    // The user accepts a subset: operations apply as given.
    let applied: Value = ada
        .post("/ai/modify", json!({"workflow": workflow, "operations": [{"op": "remove_node", "id": "slack_post_message"}]}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(applied["workflow"]["nodes"].as_array().unwrap().len(), 2);

    // A change that would break the workflow is refused with the problem.
    let cycle = ada
        .post(
            "/ai/modify",
            json!({"workflow": workflow, "operations": [{"op": "connect", "source": "slack_post_message", "target": "mailchimp_add_member"}]}),
        )
        .await;
    assert_error(cycle, 422, "invalid", None).await;
    let missing = ada
        .post(
            "/ai/modify",
            json!({"workflow": workflow, "operations": [{"op": "remove_node", "id": "ghost"}]}),
        )
        .await;
    assert_error(missing, 422, "invalid", Some("operations")).await;
    assert_error(
        ada.post("/ai/modify", json!({"workflow": workflow})).await,
        422,
        "invalid",
        Some("instruction"),
    )
    .await;

    let next: Value = ada
        .post(
            "/ai/suggest-next",
            json!({"workflow": workflow, "node_id": "trigger"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let kinds: Vec<&str> = next["suggestions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["kind"].as_str().unwrap())
        .collect();
    let email = kinds
        .iter()
        .position(|k| *k == "smtp.send_email")
        .expect("e-mail suggested");
    assert_eq!(
        next["suggestions"][email]["config"]["to"],
        "{{ trigger.body.data.object.email }}"
    );
    assert_error(
        ada.post(
            "/ai/suggest-next",
            json!({"workflow": workflow, "node_id": "ghost"}),
        )
        .await,
        422,
        "invalid",
        Some("node_id"),
    )
    .await;
}

/// The events of a server-sent event stream: (name, JSON data).
pub fn sse_events(text: &str) -> Vec<(String, Value)> {
    text.split("\n\n")
        .filter(|block| !block.trim().is_empty())
        .map(|block| {
            let field = |name: &str| {
                block
                    .lines()
                    .find_map(|l| l.strip_prefix(name))
                    .map(|v| v.trim().to_owned())
                    .unwrap_or_default()
            };
            (
                field("event:"),
                serde_json::from_str(&field("data:")).unwrap(),
            )
        })
        .collect()
}
