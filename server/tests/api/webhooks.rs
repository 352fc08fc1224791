//! Webhooks: the URL, its checks (token, method, status, size, type,
//! signature), deduplication, replying with the output, regeneration.

use ::hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use testkit::Backend;

use crate::{
    helpers::{TestApp, User, assert_error, spawn_app_with},
    on_both_backends,
};

on_both_backends!(
    a_webhook_starts_a_run_with_the_request,
    signatures_and_duplicates_are_checked_before_any_run,
    a_duplicate_is_a_draft_with_its_own_url_and_the_same_secret,
    item13_replayed_signed_deliveries_start_no_run,
    item13_replay_records_expire_and_are_pruned
);

fn webhook_workflow(config: Value, last: Value) -> Value {
    json!({
        "name": "Hook",
        "nodes": [
            {"id": "hook", "kind": "webhook_trigger", "config": config},
            {"id": "reply", "kind": "transform", "config": {"template": last}}
        ],
        "edges": [{"source": "hook", "target": "reply"}]
    })
}

/// Creates and activates a webhook workflow; returns its id and URL.
async fn active_hook(user: &User, config: Value, last: Value) -> (String, String) {
    let created: Value = user
        .post("/workflows", webhook_workflow(config, last))
        .await
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    let url = created["webhook_url"]
        .as_str()
        .expect("a webhook URL")
        .to_owned();
    let active = user
        .post(&format!("/workflows/{id}/activate"), json!(null))
        .await;
    assert_eq!(active.status(), 200);
    (id, url)
}

pub(crate) async fn runs_of(user: &User, workflow: &str) -> usize {
    let list: Value = user
        .get(&format!("/executions?workflow_id={workflow}"))
        .await
        .json()
        .await
        .unwrap();
    list["items"].as_array().unwrap().len()
}

async fn a_webhook_starts_a_run_with_the_request(app: TestApp) {
    let ada = app.user("ada@example.com").await;
    let created: Value = ada
        .post("/workflows", webhook_workflow(json!({"methods": ["POST", "PUT"]}), json!({"email": "{{ trigger.body.email }}", "plan": "{{ trigger.query.plan }}", "how": "{{ trigger.method }}"})))
        .await
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap();
    let url = created["webhook_url"].as_str().unwrap().to_owned();
    assert!(
        url.starts_with(&app.address) && url.contains("/webhooks/"),
        "{url}"
    );
    let hook = reqwest::Client::new();

    let inactive = hook
        .post(&url)
        .json(&json!({"email": "a@b.c"}))
        .send()
        .await
        .unwrap();
    assert_error(inactive, 409, "conflict", None).await;
    ada.post(&format!("/workflows/{id}/activate"), json!(null))
        .await;

    let accepted = hook
        .post(format!("{url}?plan=pro"))
        .json(&json!({"email": "a@b.c"}))
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), 202);
    let accepted: Value = accepted.json().await.unwrap();
    let run = ada
        .finished_run(accepted["execution_id"].as_str().unwrap())
        .await;
    assert_eq!(run["status"], "succeeded");
    assert_eq!(run["trigger"], "webhook");
    let reply = run["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["node_id"] == "reply")
        .unwrap();
    assert_eq!(
        reply["output"],
        json!({"email": "a@b.c", "plan": "pro", "how": "POST"})
    );
    assert_eq!(run["input"]["headers"]["content-type"], "application/json");

    let form = hook
        .put(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("email=form%40b.c")
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 202);

    let unknown = hook
        .post(format!("{}/webhooks/{}", app.address, "x".repeat(43)))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_error(unknown, 404, "not_found", None).await;
    let wrong_method = hook.get(&url).send().await.unwrap();
    assert_eq!(wrong_method.headers()["allow"], "POST, PUT");
    assert_error(wrong_method, 405, "method_not_allowed", None).await;
    let binary = hook
        .post(&url)
        .header("content-type", "image/png")
        .body(vec![0x89, 0x50])
        .send()
        .await
        .unwrap();
    assert_error(binary, 415, "unsupported_media_type", None).await;
    let malformed = hook
        .post(&url)
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_error(malformed, 400, "malformed_json", None).await;
    assert_eq!(runs_of(&ada, id).await, 2, "refused requests start nothing");

    let regenerated: Value = ada
        .post(&format!("/workflows/{id}/webhook/regenerate"), json!(null))
        .await
        .json()
        .await
        .unwrap();
    let new_url = regenerated["webhook_url"].as_str().unwrap();
    assert_ne!(new_url, url);
    assert_error(
        hook.post(&url).json(&json!({})).send().await.unwrap(),
        404,
        "not_found",
        None,
    )
    .await;
    assert_eq!(
        hook.post(new_url)
            .json(&json!({}))
            .send()
            .await
            .unwrap()
            .status(),
        202
    );

    ada.post(&format!("/workflows/{id}/pause"), json!(null))
        .await;
    assert_error(
        hook.post(new_url).json(&json!({})).send().await.unwrap(),
        409,
        "conflict",
        None,
    )
    .await;
}

pub(crate) fn hmac_hex(secret: &str, message: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(message);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn github_signature(secret: &str, body: &[u8]) -> String {
    format!("sha256={}", hmac_hex(secret, body))
}

async fn signatures_and_duplicates_are_checked_before_any_run(app: TestApp) {
    let ada = app.user("ada@example.com").await;
    let config = json!({"signature": {"scheme": "github", "secret": "gh-secret"}, "dedupe_header": "X-GitHub-Delivery"});
    let (id, url) = active_hook(&ada, config, json!("{{ trigger.body.action }}")).await;

    // The secret is stored sealed and shown masked.
    let shown: Value = ada
        .get(&format!("/workflows/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(shown["nodes"][0]["config"]["signature"]["secret"], "••••••");
    use sea_orm::EntityTrait;
    let stored = entity::workflow::Entity::find_by_id(uuid::Uuid::parse_str(&id).unwrap())
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert!(!stored.definition.to_string().contains("gh-secret"));

    let hook = reqwest::Client::new();
    let body = br#"{"action":"opened"}"#.to_vec();
    let send = |signature: Option<String>, body: Vec<u8>, delivery: &'static str| {
        let mut request = hook
            .post(&url)
            .header("content-type", "application/json")
            .header("X-GitHub-Delivery", delivery)
            .body(body);
        if let Some(signature) = signature {
            request = request.header("X-Hub-Signature-256", signature);
        }
        request.send()
    };
    let first = send(
        Some(github_signature("gh-secret", &body)),
        body.clone(),
        "d-1",
    )
    .await
    .unwrap();
    assert_eq!(first.status(), 202);
    let first: Value = first.json().await.unwrap();
    let again = send(
        Some(github_signature("gh-secret", &body)),
        body.clone(),
        "d-1",
    )
    .await
    .unwrap();
    assert_eq!(again.status(), 202);
    assert_eq!(again.headers()["x-switchyard-duplicate"], "true");
    assert_eq!(
        again.json::<Value>().await.unwrap()["execution_id"],
        first["execution_id"],
        "a redelivery returns the first run"
    );

    let tampered = send(
        Some(github_signature("gh-secret", &body)),
        br#"{"action":"closed"}"#.to_vec(),
        "d-2",
    )
    .await
    .unwrap();
    assert_error(tampered, 401, "unauthorized", None).await;
    let wrong_secret = send(Some(github_signature("other", &body)), body.clone(), "d-3")
        .await
        .unwrap();
    assert_error(wrong_secret, 401, "unauthorized", None).await;
    let unsigned = send(None, body.clone(), "d-4").await.unwrap();
    assert_error(unsigned, 401, "unauthorized", None).await;
    assert_eq!(
        runs_of(&ada, &id).await,
        1,
        "only the signed delivery ran, once"
    );

    // Saving the workflow with the mask keeps the secret.
    let mut document = shown.clone();
    for key in [
        "id",
        "status",
        "version",
        "problems",
        "webhook_path",
        "webhook_url",
        "created_at",
        "updated_at",
    ] {
        document.as_object_mut().unwrap().remove(key);
    }
    document["description"] = json!("renamed");
    assert_eq!(
        ada.put(&format!("/workflows/{id}"), document)
            .await
            .status(),
        200
    );
    // (A new body: the same one again would be a replay.)
    let renamed = br#"{"action":"renamed"}"#.to_vec();
    let signed = send(
        Some(github_signature("gh-secret", &renamed)),
        renamed,
        "d-5",
    )
    .await
    .unwrap();
    assert_eq!(signed.status(), 202, "the secret survived the save");
    let run = ada
        .finished_run(first["execution_id"].as_str().unwrap())
        .await;
    assert!(!run.to_string().contains("gh-secret"));
}

#[tokio::test]
async fn limits_and_replies_with_the_output() {
    let app = spawn_app_with(Backend::Sqlite, |config| config.webhook_body_limit = 64)
        .await
        .unwrap();
    let ada = app.user("ada@example.com").await;
    let (_, url) = active_hook(
        &ada,
        json!({"respond": "output"}),
        json!({"status": 201, "body": {"greeting": "hi {{ trigger.body.name }}"}}),
    )
    .await;
    let hook = reqwest::Client::new();
    let reply = hook
        .post(&url)
        .json(&json!({"name": "Ada"}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 201);
    assert_eq!(
        reply.json::<Value>().await.unwrap(),
        json!({"greeting": "hi Ada"})
    );
    let big = hook
        .post(&url)
        .json(&json!({"name": "x".repeat(100)}))
        .send()
        .await
        .unwrap();
    assert_error(big, 413, "payload_too_large", None).await;
}

async fn a_duplicate_is_a_draft_with_its_own_url_and_the_same_secret(app: TestApp) {
    let ada = app.user("ada@example.com").await;
    let config = json!({"signature": {"scheme": "github", "secret": "gh-secret"}});
    let (id, url) = active_hook(&ada, config, json!("{{ trigger.body.action }}")).await;

    let copy = ada
        .post(&format!("/workflows/{id}/duplicate"), json!(null))
        .await;
    assert_eq!(copy.status(), 201);
    let copy: Value = copy.json().await.unwrap();
    assert_eq!(copy["name"], "Copy of Hook");
    assert_eq!(copy["status"], "draft");
    assert_eq!(copy["version"], 1);
    let copy_url = copy["webhook_url"].as_str().expect("a webhook URL");
    assert_ne!(copy_url, url);
    let copy_id = copy["id"].as_str().unwrap();
    let audit: Value = ada
        .get(&format!("/workflows/{copy_id}/audit"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(audit[0]["details"]["copied_from"], id.as_str(), "{audit}");

    // The copy verifies signatures with the original's secret.
    let active = ada
        .post(&format!("/workflows/{copy_id}/activate"), json!(null))
        .await;
    assert_eq!(active.status(), 200);
    let body = br#"{"action":"copied"}"#.to_vec();
    let delivered = reqwest::Client::new()
        .post(copy_url)
        .header("content-type", "application/json")
        .header("X-Hub-Signature-256", github_signature("gh-secret", &body))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(delivered.status(), 202);
    let run: Value = delivered.json().await.unwrap();
    let run = ada
        .finished_run(run["execution_id"].as_str().unwrap())
        .await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(runs_of(&ada, &id).await, 0, "the original did not run");
}

/// A captured signed delivery sent again, under a new delivery id or none,
/// to this or another instance on the same database, is refused with 409
/// and starts no run; the sender retrying the same delivery id still gets
/// the first run. Timestamped schemes (Stripe, Slack) refuse a resend within
/// their tolerance, and a newly signed delivery of the same body runs.
async fn item13_replayed_signed_deliveries_start_no_run(app: TestApp) {
    let ada = app.user("ada@example.com").await;
    let config = json!({"signature": {"scheme": "github", "secret": "gh-secret"}, "dedupe_header": "X-GitHub-Delivery"});
    let (id, url) = active_hook(&ada, config, json!("{{ trigger.body.action }}")).await;
    let body = br#"{"action":"opened"}"#.to_vec();
    let signature = github_signature("gh-secret", &body);
    let send = |url: &str, signature: &str, delivery: Option<&str>| {
        let mut request = reqwest::Client::new()
            .post(url)
            .header("content-type", "application/json")
            .header("X-Hub-Signature-256", signature)
            .body(body.clone());
        if let Some(delivery) = delivery {
            request = request.header("X-GitHub-Delivery", delivery);
        }
        async move { request.send().await.unwrap() }
    };
    let first = send(&url, &signature, Some("d-1")).await;
    assert_eq!(first.status(), 202);
    let first: Value = first.json().await.unwrap();

    for delivery in [Some("d-2"), None] {
        let replay = send(&url, &signature, delivery).await;
        let refused = assert_error(replay, 409, "replayed", None).await;
        assert!(!refused.to_string().contains("gh-secret"));
    }
    let upper = format!("sha256={}", signature["sha256=".len()..].to_uppercase());
    assert_error(send(&url, &upper, Some("d-3")).await, 409, "replayed", None).await;
    let other = app.another_instance().await;
    let other_url = url.replacen(&app.address, &other.address, 1);
    assert_error(
        send(&other_url, &signature, Some("d-4")).await,
        409,
        "replayed",
        None,
    )
    .await;

    let retried = send(&url, &signature, Some("d-1")).await;
    assert_eq!(retried.status(), 202);
    assert_eq!(retried.headers()["x-switchyard-duplicate"], "true");
    assert_eq!(retried.json::<Value>().await.unwrap(), first);
    assert_eq!(runs_of(&ada, &id).await, 1);

    let now = chrono::Utc::now().timestamp();
    let text = std::str::from_utf8(&body).unwrap();
    let config = json!({"signature": {"scheme": "stripe", "secret": "whsec_x"}});
    let (stripe, stripe_url) = active_hook(&ada, config, json!("{{ trigger.body.action }}")).await;
    let stripe_send = |t: i64| {
        let value = format!(
            "t={t},v1={}",
            hmac_hex("whsec_x", format!("{t}.{text}").as_bytes())
        );
        reqwest::Client::new()
            .post(&stripe_url)
            .header("content-type", "application/json")
            .header("stripe-signature", value)
            .body(body.clone())
            .send()
    };
    assert_eq!(stripe_send(now).await.unwrap().status(), 202);
    assert_error(stripe_send(now).await.unwrap(), 409, "replayed", None).await;
    assert_eq!(
        stripe_send(now - 1).await.unwrap().status(),
        202,
        "signed anew"
    );
    assert_eq!(runs_of(&ada, &stripe).await, 2);

    let config = json!({"signature": {"scheme": "slack", "secret": "slack-secret"}});
    let (slack, slack_url) = active_hook(&ada, config, json!("{{ trigger.body.action }}")).await;
    let slack_send = |t: i64| {
        let value = format!(
            "v0={}",
            hmac_hex("slack-secret", format!("v0:{t}:{text}").as_bytes())
        );
        reqwest::Client::new()
            .post(&slack_url)
            .header("content-type", "application/json")
            .header("x-slack-request-timestamp", t.to_string())
            .header("x-slack-signature", value)
            .body(body.clone())
            .send()
    };
    assert_eq!(slack_send(now).await.unwrap().status(), 202);
    assert_error(slack_send(now).await.unwrap(), 409, "replayed", None).await;
    assert_eq!(runs_of(&ada, &slack).await, 1);
}

/// Records end at their expiry (a later delivery of the content runs
/// again) and pruning keeps each workflow under its cap.
async fn item13_replay_records_expire_and_are_pruned(app: TestApp) {
    use domain::webhook_replays::{Seen, prune, remember};
    let ada = app.user("ada@example.com").await;
    let config = json!({"signature": {"scheme": "github", "secret": "gh-secret"}});
    let (id, _) = active_hook(&ada, config, json!("x")).await;
    let workflow = uuid::Uuid::parse_str(&id).unwrap();
    let db = &app.db;
    // Times are offsets from a day ahead: the app's own pruner runs on the
    // real clock meanwhile and would delete records that expired in 1970.
    let base = chrono::Utc::now().timestamp_millis() + 86_400_000;
    let at = |offset: i64| base + offset;
    assert_eq!(
        remember(db, workflow, "a", None, at(3_000), at(0))
            .await
            .unwrap(),
        Seen::First
    );
    assert_eq!(
        remember(db, workflow, "a", None, at(3_000), at(2_999))
            .await
            .unwrap(),
        Seen::Replay
    );
    assert_eq!(
        remember(db, workflow, "a", Some("k"), at(4_000), at(3_000))
            .await
            .unwrap(),
        Seen::First
    );
    assert_eq!(
        remember(db, workflow, "a", Some("k"), at(4_000), at(3_500))
            .await
            .unwrap(),
        Seen::Redelivery
    );
    assert_eq!(
        remember(db, workflow, "a", Some("j"), at(4_000), at(3_500))
            .await
            .unwrap(),
        Seen::Replay
    );
    for (digest, expires_at) in [("b", 5_000), ("c", 5_001), ("d", 5_002)] {
        assert_eq!(
            remember(db, workflow, digest, None, at(expires_at), at(3_000))
                .await
                .unwrap(),
            Seen::First
        );
    }
    // "a" has expired; of the rest, the two expiring last are kept.
    assert_eq!(prune(db, at(4_000), 2).await.unwrap(), 2);
    for (digest, seen) in [
        ("a", Seen::First),
        ("b", Seen::First),
        ("c", Seen::Replay),
        ("d", Seen::Replay),
    ] {
        assert_eq!(
            remember(db, workflow, digest, None, at(9_000), at(4_000))
                .await
                .unwrap(),
            seen,
            "{digest}"
        );
    }
}
