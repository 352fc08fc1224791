//! The AI builder with a language model: a local server speaking the
//! chat-completions protocol answers from a script. A valid draft is the
//! answer; invented kinds and connections and broken JSON go back for
//! repair; garbage, a slow model, a 429 and a 500 fall back to the offline
//! planner with the reason; nothing the model receives holds a secret.

use std::time::Duration;

use serde_json::{Value, json};
use testkit::{ModelReply, ModelServer};

use crate::{
    ai::sse_events,
    helpers::{TestApp, User, assert_error, spawn_app_with},
};

const SEED: &str =
    "When a new customer signs up in Stripe, add them to Mailchimp and send Slack notification";
/// The seed prompt's draft, trigger first.
const SEED_KINDS: [&str; 3] = [
    "stripe.trigger",
    "mailchimp.add_member",
    "slack.post_message",
];
const API_KEY: &str = "sk-test-model-key";
const SLACK_TOKEN: &str = "xoxb-connection-secret-4242";

async fn app_with_model(model: &ModelServer, timeout_secs: u64) -> TestApp {
    let base_url = model.base_url();
    spawn_app_with(testkit::Backend::Sqlite, move |config| {
        config.llm_base_url = Some(base_url.parse().unwrap());
        config.llm_api_key = Some(API_KEY.parse().unwrap());
        config.llm_model = "test-model".into();
        config.llm_timeout = timeout_secs;
        config.llm_max_repairs = 2;
    })
    .await
    .unwrap()
}

/// A user with a Slack connection (its token is the secret to look for).
async fn user_with_slack(app: &TestApp) -> (User, String) {
    let ada = app.user("ada@example.com").await;
    let slack: Value = ada
        .post(
            "/connections",
            json!({"name": "Team", "kind": "slack", "fields": {"token": SLACK_TOKEN}}),
        )
        .await
        .json()
        .await
        .unwrap();
    (ada, slack["id"].as_str().unwrap().to_owned())
}

fn seed_reply(mailchimp_kind: &str, slack_connection: &str) -> String {
    json!({
        "name": "New Stripe customers to Mailchimp and Slack",
        "nodes": [
            {"id": "new_customer", "kind": "stripe.trigger", "label": "New customer",
             "config": {"events": ["customer.created"]},
             "explanation": "Starts when Stripe creates a customer."},
            {"id": "subscribe", "kind": mailchimp_kind, "label": "Subscribe",
             "config": {"list_id": "list_1",
                        "email_address": "{{ trigger.body.data.object.email }}"},
             "explanation": "Adds the customer's email to the Mailchimp audience."},
            {"id": "announce", "kind": "slack.post_message", "label": "Announce",
             "config": {"connection": slack_connection, "channel": "#sales",
                        "text": "New customer: {{ trigger.body.data.object.email }}"},
             "explanation": "Tells #sales about the new customer."}
        ],
        "edges": [
            {"source": "new_customer", "source_port": "out", "target": "subscribe"},
            {"source": "subscribe", "source_port": "out", "target": "announce"}
        ],
        "unknown": [],
        "question": null
    })
    .to_string()
}

fn kinds(draft: &Value) -> Vec<&str> {
    draft["workflow"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap())
        .collect()
}

async fn generate(user: &User, body: Value) -> Value {
    let response = user.post("/ai/generate", body).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// Nothing of the account's secrets (nor the server's own) in a request.
fn assert_no_secret(model: &ModelServer) {
    for request in model.requests() {
        let raw = String::from_utf8_lossy(&request.raw);
        assert!(
            !raw.contains(SLACK_TOKEN),
            "a connection's token reached the model"
        );
        assert!(!raw.contains(API_KEY));
        assert_eq!(
            request.headers["authorization"],
            format!("Bearer {API_KEY}").as_str()
        );
    }
}

fn messages(request: &testkit::ModelRequest) -> Vec<(String, String)> {
    request.body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["role"].as_str().unwrap().to_owned(),
                m["content"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_valid_model_draft_is_the_answer() {
    let model = ModelServer::start(vec![]).await;
    let app = app_with_model(&model, 30).await;
    let (ada, slack) = user_with_slack(&app).await;
    model.script(vec![ModelReply::Content(seed_reply(
        "mailchimp.add_member",
        &slack,
    ))]);
    let draft = generate(&ada, json!({"prompt": SEED})).await;
    assert_eq!(draft["planner"], "llm");
    assert!(draft.get("fallback_reason").is_none());
    assert_eq!(kinds(&draft), SEED_KINDS);
    assert_eq!(
        draft["workflow"]["name"],
        "New Stripe customers to Mailchimp and Slack"
    );
    assert_eq!(
        draft["workflow"]["nodes"][1]["config"]["email_address"],
        "{{ trigger.body.data.object.email }}"
    );
    let missing: Vec<&str> = draft["missing_connections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["provider"].as_str().unwrap())
        .collect();
    assert_eq!(missing, ["stripe", "mailchimp"]);
    assert_eq!(
        draft["steps"][2]["explanation"],
        "Tells #sales about the new customer."
    );

    let requests = model.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.body["model"], "test-model");
    assert_eq!(request.body["response_format"]["type"], "json_schema");
    assert_eq!(
        request.body["response_format"]["json_schema"]["schema"]["required"],
        json!(["nodes", "edges"])
    );
    let said = messages(request);
    assert_eq!(said[0].0, "system");
    // Retrieval: the providers of the description in full, with the
    // account's connection by id; the description itself to the user.
    assert!(said[0].1.contains("### mailchimp.add_member"));
    assert!(
        said[0]
            .1
            .contains(&format!("id `{slack}`: slack connection"))
    );
    assert!(!said[0].1.contains("### twilio.send_sms"));
    assert!(said[1].1.contains(SEED));
    assert_no_secret(&model);
}

#[tokio::test]
async fn an_invented_kind_goes_back_for_repair() {
    let model = ModelServer::start(vec![]).await;
    let app = app_with_model(&model, 30).await;
    let (ada, slack) = user_with_slack(&app).await;
    model.script(vec![
        ModelReply::Content(seed_reply("mailchimp.subscribe_forever", &slack)),
        ModelReply::Content(seed_reply("mailchimp.add_member", &slack)),
    ]);
    let draft = generate(&ada, json!({"prompt": SEED})).await;
    assert_eq!(draft["planner"], "llm");
    assert_eq!(kinds(&draft)[1], "mailchimp.add_member");
    let requests = model.requests();
    assert_eq!(requests.len(), 2);
    let said = messages(&requests[1]);
    assert_eq!(said.len(), 4, "system, user, the first answer, the repair");
    assert_eq!(said[2].0, "assistant");
    assert!(said[2].1.contains("mailchimp.subscribe_forever"));
    assert_eq!(said[3].0, "user");
    assert!(
        said[3]
            .1
            .contains("node `subscribe`: kind `mailchimp.subscribe_forever` does not exist"),
        "{}",
        said[3].1
    );
    assert_no_secret(&model);
}

#[tokio::test]
async fn an_invented_connection_goes_back_for_repair() {
    let model = ModelServer::start(vec![]).await;
    let app = app_with_model(&model, 30).await;
    let (ada, slack) = user_with_slack(&app).await;
    model.script(vec![
        ModelReply::Content(seed_reply("mailchimp.add_member", "conn_invented_123")),
        ModelReply::Content(seed_reply("mailchimp.add_member", &slack)),
    ]);
    let draft = generate(&ada, json!({"prompt": SEED})).await;
    assert_eq!(draft["planner"], "llm");
    assert_eq!(
        draft["workflow"]["nodes"][2]["config"]["connection"],
        slack.as_str()
    );
    let said = messages(&model.requests()[1]);
    assert!(
        said[3].1.contains(
            "node `announce`, config.connection: `conn_invented_123` is not one of the account's slack connections"
        ),
        "{}",
        said[3].1
    );
}

#[tokio::test]
async fn answers_that_stay_broken_fall_back_to_the_offline_draft() {
    let model = ModelServer::start(vec![ModelReply::Content(
        "I'm sorry, I can only help with cooking.".into(),
    )])
    .await;
    let app = app_with_model(&model, 30).await;
    let (ada, _) = user_with_slack(&app).await;
    let draft = generate(&ada, json!({"prompt": SEED})).await;
    assert_eq!(draft["planner"], "offline");
    assert_eq!(kinds(&draft), SEED_KINDS);
    assert_eq!(
        draft["fallback_reason"],
        "the model's answer still had problems after 2 repair attempt(s): the answer holds no JSON object; answer with the JSON object only"
    );
    // The first attempt and two repairs, no more.
    assert_eq!(model.requests().len(), 3);
}

#[tokio::test]
async fn a_server_that_does_not_speak_the_protocol_falls_back() {
    let model =
        ModelServer::start(vec![ModelReply::Garbage("<html>bad gateway</html>".into())]).await;
    let app = app_with_model(&model, 30).await;
    let (ada, _) = user_with_slack(&app).await;
    let draft = generate(&ada, json!({"prompt": SEED})).await;
    assert_eq!(draft["planner"], "offline");
    assert_eq!(
        draft["fallback_reason"],
        "the model's server sent something that is not a chat completion"
    );
    assert_eq!(model.requests().len(), 1);
}

#[tokio::test]
async fn a_model_slower_than_the_timeout_falls_back_at_the_timeout() {
    let model = ModelServer::start(vec![ModelReply::Slow(
        Duration::from_secs(30),
        seed_reply("mailchimp.add_member", ""),
    )])
    .await;
    let app = app_with_model(&model, 1).await;
    let (ada, _) = user_with_slack(&app).await;
    let draft = generate(&ada, json!({"prompt": SEED})).await;
    assert_eq!(draft["planner"], "offline");
    assert_eq!(
        draft["fallback_reason"],
        "the model did not answer within 1 s"
    );
    assert_eq!(kinds(&draft).len(), 3);
}

#[tokio::test]
async fn a_rate_limited_model_falls_back_without_retrying() {
    let model = ModelServer::start(vec![ModelReply::Error(
        429,
        json!({"error": {"message": "Rate limit reached for test-model on requests per min", "type": "requests", "code": "rate_limit_exceeded"}}),
    )])
    .await;
    let app = app_with_model(&model, 30).await;
    let (ada, _) = user_with_slack(&app).await;
    let draft = generate(&ada, json!({"prompt": SEED})).await;
    assert_eq!(draft["planner"], "offline");
    assert_eq!(
        draft["fallback_reason"],
        "the model's server is rate limiting requests: Rate limit reached for test-model on requests per min"
    );
    assert_eq!(model.requests().len(), 1, "a 429 is not hammered");
}

#[tokio::test]
async fn a_failing_model_server_falls_back() {
    let model = ModelServer::start(vec![ModelReply::Error(
        500,
        json!({"error": {"message": "The server had an error while processing your request."}}),
    )])
    .await;
    let app = app_with_model(&model, 30).await;
    let (ada, _) = user_with_slack(&app).await;
    let draft = generate(&ada, json!({"prompt": SEED})).await;
    assert_eq!(draft["planner"], "offline");
    let reason = draft["fallback_reason"].as_str().unwrap();
    assert!(
        reason.starts_with("the model's server answered with an error: ")
            && reason.contains("The server had an error while processing your request."),
        "{reason}"
    );
    assert_eq!(model.requests().len(), 1);
}

#[tokio::test]
async fn a_server_without_json_schema_is_asked_in_json_mode() {
    let model = ModelServer::start(vec![]).await;
    let app = app_with_model(&model, 30).await;
    let (ada, slack) = user_with_slack(&app).await;
    model.script(vec![
        ModelReply::Error(
            400,
            json!({"error": {"message": "response_format of type json_schema is not supported", "param": "response_format", "type": "invalid_request_error"}}),
        ),
        ModelReply::Content(seed_reply("mailchimp.add_member", &slack)),
    ]);
    let draft = generate(&ada, json!({"prompt": SEED})).await;
    assert_eq!(draft["planner"], "llm");
    let requests = model.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].body["response_format"]["type"], "json_schema");
    assert_eq!(requests[1].body["response_format"]["type"], "json_object");
    // Remembered: the next description goes in JSON mode straight away.
    generate(&ada, json!({"prompt": SEED})).await;
    assert_eq!(
        model.requests()[2].body["response_format"]["type"],
        "json_object"
    );
}

#[tokio::test]
async fn the_stream_reports_each_attempt_as_it_happens() {
    let model = ModelServer::start(vec![]).await;
    let app = app_with_model(&model, 30).await;
    let (ada, slack) = user_with_slack(&app).await;
    model.script(vec![
        ModelReply::Content("{\"nodes\": [".into()),
        ModelReply::Content(seed_reply("mailchimp.add_member", &slack)),
    ]);
    let response = ada
        .post("/ai/generate/stream", json!({"prompt": SEED}))
        .await;
    assert_eq!(response.status(), 200);
    let events = sse_events(&response.text().await.unwrap());
    let mut stages: Vec<&str> = events
        .iter()
        .filter(|(name, _)| name == "progress")
        .map(|(_, data)| data["stage"].as_str().unwrap())
        .collect();
    // A stage reports again as the model's answer arrives.
    stages.dedup();
    assert_eq!(
        stages,
        [
            "understanding",
            "choosing_apis",
            "drafting",
            "checking",
            "repairing",
            "checking",
            "done"
        ]
    );
    let messages: Vec<&str> = events
        .iter()
        .map(|(_, data)| data["message"].as_str().unwrap_or_default())
        .collect();
    assert!(
        messages.contains(&"Choosing the APIs: Stripe, Mailchimp, Slack"),
        "{messages:?}"
    );
    assert!(messages.contains(&"Repairing the workflow (attempt 1 of 2)"));
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("Receiving the model's answer (") && m.ends_with(" kB so far)")),
        "{messages:?}"
    );
    let (name, result) = events.last().unwrap();
    assert_eq!(name, "result");
    assert_eq!(result["planner"], "llm");
    // Streamed from the model too.
    assert!(model.requests().iter().all(|r| r.body["stream"] == true));
    assert_no_secret(&model);
}

#[tokio::test]
async fn the_planner_can_be_chosen_and_an_absent_model_is_named() {
    let model = ModelServer::start(vec![ModelReply::Content("{}".into())]).await;
    let app = app_with_model(&model, 30).await;
    let (ada, _) = user_with_slack(&app).await;
    let draft = generate(&ada, json!({"prompt": SEED, "planner": "offline"})).await;
    assert_eq!(draft["planner"], "offline");
    assert!(draft.get("fallback_reason").is_none());
    assert!(model.requests().is_empty());

    let plain = crate::helpers::spawn_app(testkit::Backend::Sqlite)
        .await
        .unwrap();
    let bob = plain.user("bob@example.com").await;
    let response = bob
        .post("/ai/generate", json!({"prompt": SEED, "planner": "llm"}))
        .await;
    let body = assert_error(response, 422, "invalid", Some("planner")).await;
    assert!(
        body.to_string().contains("no language model is configured"),
        "{body}"
    );
}

/// The seed workflow as the offline planner drafts it.
async fn offline_seed(user: &User) -> Value {
    generate(user, json!({"prompt": SEED, "planner": "offline"})).await["workflow"].clone()
}

#[tokio::test]
async fn a_described_change_from_the_model_is_checked_repaired_and_applied() {
    let model = ModelServer::start(vec![]).await;
    let app = app_with_model(&model, 30).await;
    let (ada, _) = user_with_slack(&app).await;
    let workflow = offline_seed(&ada).await;
    let wait = |kind: &str| {
        json!({"operations": [{"op": "insert_between", "source": "mailchimp_add_member", "source_port": "out",
            "target": "slack_post_message",
            "node": {"id": "wait_two_days", "kind": kind, "label": "Wait", "config": {"duration_ms": 172_800_000}}}],
            "unknown": []})
        .to_string()
    };
    model.script(vec![
        ModelReply::Content(wait("sleep")),
        ModelReply::Content(wait("delay")),
    ]);
    let response = ada
        .post(
            "/ai/modify",
            json!({"workflow": workflow, "instruction": "hold off two days before telling Slack"}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let change: Value = response.json().await.unwrap();
    assert_eq!(change["planner"], "llm");
    assert_eq!(change["operations"][0]["op"], "insert_between");
    let edges: Vec<(String, String)> = change["workflow"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["source"].as_str().unwrap().to_owned(),
                e["target"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(edges.contains(&("wait_two_days".into(), "slack_post_message".into())));
    assert!(!edges.contains(&("mailchimp_add_member".into(), "slack_post_message".into())));
    let requests = model.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(
        requests[0].body["response_format"]["json_schema"]["name"],
        "workflow_change"
    );
    let said = messages(&requests[0]);
    // The model sees the workflow as it is and the instruction.
    assert!(said[1].1.contains("\"id\":\"slack_post_message\""));
    assert!(said[1].1.contains("hold off two days before telling Slack"));
    let repair = &messages(&requests[1])[3].1;
    assert!(
        repair.contains("node `wait_two_days`: kind `sleep` does not exist"),
        "{repair}"
    );
    assert_no_secret(&model);
}

#[tokio::test]
async fn a_model_change_that_stays_broken_falls_back_to_the_offline_one() {
    let model = ModelServer::start(vec![ModelReply::Content(
        json!({"operations": [{"op": "connect", "source": "slack_post_message", "source_port": "out", "target": "nowhere"}]})
            .to_string(),
    )])
    .await;
    let app = app_with_model(&model, 30).await;
    let (ada, _) = user_with_slack(&app).await;
    let workflow = offline_seed(&ada).await;
    let change: Value = ada
        .post(
            "/ai/modify",
            json!({"workflow": workflow, "instruction": "remove the Slack step"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(change["planner"], "offline");
    assert_eq!(
        change["operations"],
        json!([{"op": "remove_node", "id": "slack_post_message"}])
    );
    let reason = change["fallback_reason"].as_str().unwrap();
    assert!(
        reason.starts_with("the model's answer still had problems after 2 repair attempt(s): the operations do not apply: operation 1:"),
        "{reason}"
    );
    assert_eq!(model.requests().len(), 3);
}
