//! Provider triggers (`stripe.trigger`, …): deliveries are checked with the
//! provider's signature scheme, and only the chosen event types start runs.

use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, User},
    on_both_backends,
    webhooks::{hmac_hex, runs_of},
};

on_both_backends!(a_stripe_trigger_runs_for_its_event_types_only);

/// An active workflow `trigger → note`; its id and webhook URL.
async fn active(user: &User, kind: &str, config: Value) -> (String, String) {
    let created: Value = user
        .post(
            "/workflows",
            json!({
                "name": kind,
                "nodes": [
                    {"id": "hook", "kind": kind, "config": config},
                    {"id": "note", "kind": "transform", "config": {"template": "{{ trigger.event }}"}}
                ],
                "edges": [{"source": "hook", "target": "note"}]
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
    assert_eq!(
        activated.status(),
        200,
        "{}",
        activated.text().await.unwrap()
    );
    let url = created["webhook_url"]
        .as_str()
        .expect("provider triggers have a webhook URL")
        .to_owned();
    (id, url)
}

fn note_of(run: &Value) -> &Value {
    &run["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["node_id"] == "note")
        .unwrap()["output"]
}

pub(crate) fn stripe_signature(secret: &str, body: &str) -> String {
    let t = chrono::Utc::now().timestamp();
    format!(
        "t={t},v1={}",
        hmac_hex(secret, format!("{t}.{body}").as_bytes())
    )
}

async fn a_stripe_trigger_runs_for_its_event_types_only(app: TestApp) {
    let ada = app.user("ada@example.com").await;
    let (id, url) = active(
        &ada,
        "stripe.trigger",
        json!({"events": ["customer.created"], "secret": "whsec_test"}),
    )
    .await;
    let client = reqwest::Client::new();
    let deliver = |body: String, signature: Option<String>| {
        let mut request = client
            .post(&url)
            .header("content-type", "application/json")
            .body(body);
        if let Some(signature) = signature {
            request = request.header("Stripe-Signature", signature);
        }
        request.send()
    };
    let created = json!({"id": "evt_1", "type": "customer.created", "data": {"object": {"id": "cus_1", "email": "ada@example.com"}}}).to_string();
    let accepted = deliver(
        created.clone(),
        Some(stripe_signature("whsec_test", &created)),
    )
    .await
    .unwrap();
    assert_eq!(accepted.status(), 202);
    let run_id = accepted.json::<Value>().await.unwrap()["execution_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let run = ada.finished_run(&run_id).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    let note = run["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["node_id"] == "note")
        .unwrap();
    assert_eq!(note["output"], "customer.created");

    // Stripe resends an event with a new signature: the same run answers.
    let again = deliver(
        created.clone(),
        Some(stripe_signature("whsec_test", &created)),
    )
    .await
    .unwrap();
    assert_eq!(again.status(), 202);
    assert_eq!(again.headers()["x-switchyard-duplicate"], "true");
    assert_eq!(
        again.json::<Value>().await.unwrap()["execution_id"],
        run_id.as_str()
    );

    // Another event type is acknowledged (so Stripe stops sending it) and starts nothing.
    let paid = json!({"id": "evt_2", "type": "invoice.paid", "data": {"object": {}}}).to_string();
    let ignored = deliver(paid.clone(), Some(stripe_signature("whsec_test", &paid)))
        .await
        .unwrap();
    assert_eq!(ignored.status(), 200);
    assert_eq!(ignored.json::<Value>().await.unwrap()["ignored"], true);

    // Unsigned or wrongly signed deliveries are refused.
    let other = json!({"id": "evt_3", "type": "customer.created"}).to_string();
    assert_eq!(deliver(other.clone(), None).await.unwrap().status(), 401);
    assert_eq!(
        deliver(other.clone(), Some(stripe_signature("whsec_wrong", &other)))
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(runs_of(&ada, &id).await, 1);

    // The secret is sealed and shown masked.
    let shown: Value = ada
        .get(&format!("/workflows/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(shown["nodes"][0]["config"]["secret"], "••••••");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_slack_linear_and_twilio_deliveries_are_typed_and_signed() {
    let app = crate::helpers::spawn_app(testkit::Backend::Sqlite)
        .await
        .unwrap();
    let ada = app.user("ada@example.com").await;
    let client = reqwest::Client::new();

    let (github, github_url) = active(
        &ada,
        "github.trigger",
        json!({"events": ["issues", "push"], "secret": "gh"}),
    )
    .await;
    let body = r#"{"action":"opened","issue":{"title":"Broken"}}"#;
    let send = |event: &'static str, delivery: &'static str| {
        client
            .post(&github_url)
            .header("content-type", "application/json")
            .header("X-GitHub-Event", event)
            .header("X-GitHub-Delivery", delivery)
            .header(
                "X-Hub-Signature-256",
                format!("sha256={}", hmac_hex("gh", body.as_bytes())),
            )
            .body(body)
            .send()
    };
    let issue = send("issues", "d1").await.unwrap();
    assert_eq!(issue.status(), 202);
    let run = ada
        .finished_run(
            issue.json::<Value>().await.unwrap()["execution_id"]
                .as_str()
                .unwrap(),
        )
        .await;
    assert_eq!(note_of(&run), "issues", "{run}");
    let ping = send("ping", "d2").await.unwrap();
    assert_eq!(ping.status(), 200, "GitHub's ping is acknowledged");
    assert_eq!(runs_of(&ada, &github).await, 1);

    // Slack checks the URL once with a signed challenge.
    let (_, slack_url) = active(
        &ada,
        "slack.trigger",
        json!({"events": ["app_mention"], "secret": "slack-signing"}),
    )
    .await;
    let challenge = r#"{"type":"url_verification","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}"#;
    let t = chrono::Utc::now().timestamp().to_string();
    let answer = client
        .post(&slack_url)
        .header("content-type", "application/json")
        .header("X-Slack-Request-Timestamp", &t)
        .header(
            "X-Slack-Signature",
            format!(
                "v0={}",
                hmac_hex("slack-signing", format!("v0:{t}:{challenge}").as_bytes())
            ),
        )
        .body(challenge)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(
        answer.json::<Value>().await.unwrap()["challenge"],
        "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    );

    let (_, linear_url) = active(
        &ada,
        "linear.trigger",
        json!({"events": ["Issue.create"], "secret": "lin"}),
    )
    .await;
    let created = r#"{"action":"create","type":"Issue","data":{"title":"Follow up"}}"#;
    let linear = client
        .post(&linear_url)
        .header("content-type", "application/json")
        .header("Linear-Signature", hmac_hex("lin", created.as_bytes()))
        .body(created)
        .send()
        .await
        .unwrap();
    assert_eq!(linear.status(), 202);
    let run = ada
        .finished_run(
            linear.json::<Value>().await.unwrap()["execution_id"]
                .as_str()
                .unwrap(),
        )
        .await;
    assert_eq!(note_of(&run), "Issue.create");

    // Twilio signs the URL it called and the sorted form fields with SHA-1.
    let (_, twilio_url) = active(
        &ada,
        "twilio.trigger",
        json!({"events": ["message.received"], "secret": "tw-token"}),
    )
    .await;
    let form = "From=%2B14155550100&To=%2B14155550199&Body=Hello";
    let message = format!(
        "{twilio_url}Body{}From{}To{}",
        "Hello", "+14155550100", "+14155550199"
    );
    use ::hmac::Mac;
    use base64::Engine;
    let mut mac = ::hmac::Hmac::<sha1::Sha1>::new_from_slice(b"tw-token").unwrap();
    mac.update(message.as_bytes());
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    let sms = client
        .post(&twilio_url)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("X-Twilio-Signature", &signature)
        .body(form)
        .send()
        .await
        .unwrap();
    assert_eq!(sms.status(), 202, "{}", sms.text().await.unwrap());
    let forged = client
        .post(&twilio_url)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("X-Twilio-Signature", &signature)
        .body("From=%2B10000000000&To=%2B14155550199&Body=Hello")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_are_registered_on_activation_and_removed_on_pause_and_delete() {
    use testkit::{Reply, ScriptedServer};
    let app = crate::helpers::spawn_app(testkit::Backend::Sqlite)
        .await
        .unwrap();
    let ada = app.user("ada@example.com").await;
    let remote = ScriptedServer::start().await;
    remote.script(
        "/v1/webhook_endpoints",
        vec![Reply::json(
            200,
            json!({"id": "we_1", "object": "webhook_endpoint", "secret": "whsec_registered"}),
        )],
    );
    remote.script(
        "/v1/webhook_endpoints/we_1",
        vec![Reply::json(200, json!({"id": "we_1", "deleted": true}))],
    );
    remote.script(
        "/repos/octo/hello/hooks",
        vec![Reply::json(201, json!({"id": 42, "active": true}))],
    );
    remote.script(
        "/repos/octo/hello/hooks/42",
        vec![Reply::json(204, Value::Null)],
    );
    let connect = |kind: &'static str, fields: Value| {
        let mut fields = fields;
        fields["base_url"] = json!(remote.url(""));
        ada.post(
            "/connections",
            json!({"name": kind, "kind": kind, "fields": fields}),
        )
    };
    let stripe: Value = connect("stripe", json!({"secret_key": "sk_test_hooks"}))
        .await
        .json()
        .await
        .unwrap();
    let github: Value = connect("github", json!({"token": "ghp_hooks"}))
        .await
        .json()
        .await
        .unwrap();

    // Neither a secret nor a connection: nothing could check the deliveries.
    let bare: Value = ada
        .post("/workflows", json!({"name": "Bare", "nodes": [{"id": "hook", "kind": "stripe.trigger", "config": {"events": ["customer.created"]}}], "edges": []}))
        .await
        .json()
        .await
        .unwrap();
    crate::helpers::assert_error(
        ada.post(
            &format!("/workflows/{}/activate", bare["id"].as_str().unwrap()),
            json!(null),
        )
        .await,
        422,
        "invalid",
        Some("nodes.hook.config.secret"),
    )
    .await;

    let (id, url) = active(
        &ada,
        "stripe.trigger",
        json!({"events": ["customer.created", "invoice.paid"], "connection": stripe["id"]}),
    )
    .await;
    let created = &remote.received("/v1/webhook_endpoints")[0];
    assert_eq!(created.method, "POST");
    assert_eq!(created.headers["authorization"], "Bearer sk_test_hooks");
    let form: std::collections::BTreeMap<String, String> =
        url::form_urlencoded::parse(&created.body)
            .into_owned()
            .collect();
    assert_eq!(form["url"], url);
    assert_eq!(form["enabled_events[0]"], "customer.created");
    assert_eq!(form["enabled_events[1]"], "invoice.paid");
    // Deliveries are checked with the secret Stripe answered with.
    let event = json!({"id": "evt_9", "type": "customer.created"}).to_string();
    let delivered = reqwest::Client::new()
        .post(&url)
        .header("content-type", "application/json")
        .header(
            "Stripe-Signature",
            stripe_signature("whsec_registered", &event),
        )
        .body(event)
        .send()
        .await
        .unwrap();
    assert_eq!(delivered.status(), 202);
    assert_eq!(
        ada.post(&format!("/workflows/{id}/pause"), json!(null))
            .await
            .status(),
        200
    );
    assert_eq!(
        remote.received("/v1/webhook_endpoints/we_1")[0].method,
        "DELETE"
    );
    assert_eq!(
        ada.post(&format!("/workflows/{id}/activate"), json!(null))
            .await
            .status(),
        200
    );
    assert_eq!(
        remote.received("/v1/webhook_endpoints").len(),
        2,
        "registered again"
    );

    // GitHub takes a secret Switchyard makes.
    let (repo_hooked, hook_url) = active(
        &ada,
        "github.trigger",
        json!({"events": ["issues"], "connection": github["id"], "owner": "octo", "repo": "hello"}),
    )
    .await;
    let registered = &remote.received("/repos/octo/hello/hooks")[0];
    assert_eq!(registered.headers["authorization"], "Bearer ghp_hooks");
    let body: Value = serde_json::from_slice(&registered.body).unwrap();
    assert_eq!(body["events"], json!(["issues"]));
    assert_eq!(body["config"]["url"], hook_url.as_str());
    assert_eq!(body["config"]["content_type"], "json");
    let secret = body["config"]["secret"].as_str().unwrap();
    assert_eq!(secret.len(), 64);
    let issue = r#"{"action":"opened"}"#;
    let delivered = reqwest::Client::new()
        .post(&hook_url)
        .header("content-type", "application/json")
        .header("X-GitHub-Event", "issues")
        .header(
            "X-Hub-Signature-256",
            format!("sha256={}", hmac_hex(secret, issue.as_bytes())),
        )
        .body(issue)
        .send()
        .await
        .unwrap();
    assert_eq!(delivered.status(), 202);
    assert_eq!(
        ada.delete(&format!("/workflows/{repo_hooked}"))
            .await
            .status(),
        204
    );
    assert_eq!(
        remote.received("/repos/octo/hello/hooks/42")[0].method,
        "DELETE"
    );
}
