//! Alerts end to end: channels (e-mail to a local SMTP server, a Slack
//! incoming webhook and a signed webhook on local HTTP servers) with their
//! test button; rules that fire once for a burst of failures and resolve
//! after successes; auto-pause that holds queued runs until resumed. The
//! other rules: `alerts_rules`.

use std::time::Duration;

use serde_json::{Value, json};
use testkit::{Backend, Reply, ScriptedServer, SmtpServer};

use crate::{
    helpers::{TestApp, User, assert_error, sample_workflow, spawn_app_with},
    on_both_backends,
};

on_both_backends!(auto_pause_holds_queued_runs_until_resumed);

mod sqlite_channels {
    #[tokio::test]
    async fn rules_fire_once_per_incident_and_reach_every_channel() {
        super::rules_fire_once_per_incident(testkit::Backend::Sqlite).await;
    }
}

mod postgres_channels {
    #[tokio::test]
    async fn rules_fire_once_per_incident_and_reach_every_channel() {
        super::rules_fire_once_per_incident(testkit::Backend::Postgres).await;
    }
}

const SECRET: &str = "whsec-0123456789abcdef";

pub(crate) async fn run(user: &User, workflow: &str, input: Value) -> Value {
    let started: Value = user
        .post(&format!("/workflows/{workflow}/execute"), input)
        .await
        .json()
        .await
        .unwrap();
    user.finished_run(started["execution_id"].as_str().unwrap())
        .await
}

pub(crate) async fn inbox(user: &User) -> Value {
    user.get("/notifications?limit=200")
        .await
        .json()
        .await
        .unwrap()
}

/// Waits until `count` holds (channels are told in the background).
async fn eventually(what: &str, count: impl Fn() -> usize, expected: usize) {
    for _ in 0..200 {
        if count() >= expected {
            // A moment more, to see that no extra message follows.
            tokio::time::sleep(Duration::from_millis(100)).await;
            assert_eq!(count(), expected, "{what}");
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what}: {} of {expected} arrived", count());
}

/// Checks a signed webhook body as a receiver would.
fn verify(received: &testkit::Received) -> Value {
    let header = received.headers["switchyard-signature"].to_str().unwrap();
    let (t, v1) = header
        .split_once(',')
        .and_then(|(t, v)| Some((t.strip_prefix("t=")?, v.strip_prefix("v1=")?)))
        .expect("t=…,v1=…");
    let expected = domain::alerts::signature(SECRET, t.parse().unwrap(), &received.body);
    assert_eq!(expected, header, "the signature verifies");
    assert!(!v1.is_empty());
    serde_json::from_slice(&received.body).unwrap()
}

async fn rules_fire_once_per_incident(backend: Backend) {
    let smtp = SmtpServer::start("alerts", "mail-password").await;
    let Some(app) = spawn_app_with(backend, |config| {
        let url = format!(
            "smtp://alerts:mail-password@127.0.0.1:{}?security=none",
            smtp.port
        );
        config.smtp_url = Some(server::config::SmtpUrl(url::Url::parse(&url).unwrap()));
        config.smtp_from = Some("Switchyard <alerts@example.com>".into());
    })
    .await
    else {
        return;
    };
    let receivers = ScriptedServer::start().await;
    receivers.script("/slack", vec![Reply::json(200, json!({}))]);
    receivers.script("/hook", vec![Reply::json(200, json!({}))]);
    receivers.script("/broken", vec![Reply::json(500, json!({}))]);
    let ada = app.user("ada@example.com").await;

    let mut channels = Vec::new();
    for body in [
        json!({"kind": "email", "name": "On call", "config": {"to": "oncall@example.com"}}),
        json!({"kind": "slack", "name": "#alerts", "config": {"webhook_url": receivers.url("/slack")}}),
        json!({"kind": "webhook", "name": "Pager", "config": {"url": receivers.url("/hook"), "secret": SECRET}}),
    ] {
        let created = ada.post("/notification-channels", body).await;
        assert_eq!(created.status(), 201);
        let created: Value = created.json().await.unwrap();
        channels.push(created["id"].as_str().unwrap().to_owned());
    }
    let listed: Value = ada
        .get("/notification-channels")
        .await
        .json()
        .await
        .unwrap();
    // Created in the same millisecond, they may list in any order.
    let of_kind = |kind: &str| {
        listed
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["kind"] == kind)
            .unwrap()
            .clone()
    };
    assert_eq!(
        of_kind("slack")["config"]["webhook_url"],
        "••••••",
        "secrets are masked"
    );
    assert_eq!(of_kind("webhook")["config"]["secret"], "••••••");
    assert_eq!(of_kind("email")["config"]["to"], "oncall@example.com");
    assert!(!listed.to_string().contains(SECRET));
    // Bad settings are named.
    let bad = ada
        .post("/notification-channels", json!({"kind": "webhook", "name": "x", "config": {"url": "ftp://x", "secret": "short"}}))
        .await;
    assert_error(bad, 422, "invalid", Some("config.url")).await;

    // The test button, on each channel.
    for id in &channels {
        let tested: Value = ada
            .post(&format!("/notification-channels/{id}/test"), json!(null))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(tested, json!({"delivered": true, "error": null}));
    }
    assert_eq!(smtp.mails().len(), 1);
    assert!(
        smtp.mails()[0]
            .data
            .contains("Test message from Switchyard")
    );
    assert_eq!(
        smtp.mails()[0].login.as_deref(),
        Some("alerts:mail-password")
    );
    let slack: Value = serde_json::from_slice(&receivers.received("/slack")[0].body).unwrap();
    assert!(slack["text"].as_str().unwrap().contains("Test message"));
    assert_eq!(verify(&receivers.received("/hook")[0])["type"], "test");
    let broken: Value = ada
        .post("/notification-channels", json!({"kind": "slack", "name": "Broken", "config": {"webhook_url": receivers.url("/broken")}}))
        .await
        .json()
        .await
        .unwrap();
    let tested: Value = ada
        .post(
            &format!(
                "/notification-channels/{}/test",
                broken["id"].as_str().unwrap()
            ),
            json!(null),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(tested["delivered"], false);
    assert!(
        tested["error"].as_str().unwrap().contains("500"),
        "{tested}"
    );
    ada.delete(&format!(
        "/notification-channels/{}",
        broken["id"].as_str().unwrap()
    ))
    .await;

    // A workflow failing 6 times in a row, then recovering.
    let provider = ScriptedServer::start().await;
    provider.script("/api", vec![Reply::json(500, json!({"error": "down"}))]);
    let mut definition = sample_workflow("Sync orders", &provider.url("/api"));
    definition["settings"] = json!({"retry": {"max_attempts": 1}});
    let workflow = ada.create_workflow(definition).await;
    let rules = json!({
        "consecutive_failures": 3,
        "error_rate": {"percent": 50, "window_minutes": 60, "min_runs": 5},
        "dead_letter": false
    });
    let set = ada
        .put(&format!("/workflows/{workflow}/alerts"), rules)
        .await;
    assert_eq!(set.status(), 200);
    let set: Value = set.json().await.unwrap();
    assert_eq!(set["inherited"], false);
    assert_eq!(
        set["settings"]["rate_limited"], true,
        "left out: the default"
    );
    for _ in 0..6 {
        assert_eq!(run(&ada, &workflow, json!({})).await["status"], "failed");
    }
    let fired = || {
        let hook = receivers.received("/hook");
        hook.iter()
            .filter(|r| String::from_utf8_lossy(&r.body).contains("alert.fired"))
            .count()
    };
    eventually("two alerts fired (3 in a row, then the rate)", fired, 2).await;
    provider.script("/api", vec![Reply::json(200, json!({"ok": true}))]);
    for _ in 0..7 {
        assert_eq!(run(&ada, &workflow, json!({})).await["status"], "succeeded");
    }
    let resolved = || {
        let hook = receivers.received("/hook");
        hook.iter()
            .filter(|r| String::from_utf8_lossy(&r.body).contains("alert.resolved"))
            .count()
    };
    eventually("both resolved", resolved, 2).await;
    eventually("e-mails: the test and four", || smtp.mails().len(), 5).await;
    eventually(
        "Slack: the test and four",
        || receivers.received("/slack").len(),
        5,
    )
    .await;

    let hooks: Vec<Value> = receivers
        .received("/hook")
        .iter()
        .skip(1)
        .map(verify)
        .collect();
    let rules: Vec<(&str, &str)> = hooks
        .iter()
        .map(|h| (h["type"].as_str().unwrap(), h["rule"].as_str().unwrap()))
        .collect();
    assert!(
        rules.contains(&("alert.fired", "consecutive_failures")),
        "{rules:?}"
    );
    assert!(rules.contains(&("alert.fired", "error_rate")), "{rules:?}");
    assert!(
        rules.contains(&("alert.resolved", "consecutive_failures")),
        "{rules:?}"
    );
    assert!(
        rules.contains(&("alert.resolved", "error_rate")),
        "{rules:?}"
    );
    assert!(
        hooks[0]["body"]
            .as_str()
            .unwrap()
            .contains("Last error: step call"),
        "{}",
        hooks[0]
    );
    assert_eq!(hooks[0]["workflow_id"], workflow.as_str());
    let slack: Value = serde_json::from_slice(&receivers.received("/slack")[1].body).unwrap();
    assert!(
        slack["text"].as_str().unwrap().contains("Sync orders"),
        "{slack}"
    );
    assert!(smtp.mails()[1].data.contains("Sync orders"));
    assert_eq!(smtp.mails()[1].to, vec!["oncall@example.com".to_owned()]);

    // The inbox holds the same four, unread until read.
    let entries = inbox(&ada).await;
    assert_eq!(entries["items"].as_array().unwrap().len(), 4);
    assert_eq!(entries["unread"], 4);
    let newest = entries["items"][0]["id"].as_i64().unwrap();
    let read: Value = ada
        .post("/notifications/read", json!({"ids": [newest]}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read["unread"], 3);
    let read: Value = ada
        .post("/notifications/read", json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read["unread"], 0);
    // Another account sees none of it.
    let bob = app.user("bob@example.com").await;
    assert_eq!(inbox(&bob).await["items"], json!([]));
    assert_error(
        bob.get(&format!("/workflows/{workflow}/alerts")).await,
        404,
        "not_found",
        None,
    )
    .await;
}

async fn auto_pause_holds_queued_runs_until_resumed(app: TestApp) {
    let provider = ScriptedServer::start().await;
    provider.script("/good", vec![Reply::json(200, json!({"ok": true}))]);
    provider.script("/bad", vec![Reply::json(500, json!({"error": "down"}))]);
    let ada = app.user("ada@example.com").await;
    let workflow = ada
        .create_workflow(json!({
            "name": "Fragile",
            "nodes": [
                {"id": "start", "kind": "manual_trigger"},
                {"id": "wait", "kind": "delay", "config": {"duration_ms": "{{ trigger.wait_ms }}"}},
                {"id": "call", "kind": "http_request", "config": {"url": "{{ trigger.url }}"}}
            ],
            "edges": [{"source": "start", "target": "wait"}, {"source": "wait", "target": "call"}],
            "settings": {"retry": {"max_attempts": 1}}
        }))
        .await;
    let rules = json!({"consecutive_failures": null, "error_rate": null, "auto_pause": {"after_failures": 2}});
    assert_eq!(
        ada.put(&format!("/workflows/{workflow}/alerts"), rules)
            .await
            .status(),
        200
    );
    let active = ada
        .post(&format!("/workflows/{workflow}/activate"), json!(null))
        .await;
    assert_eq!(active.status(), 200);

    // Three runs wait 4 s before their call; then two fail at once.
    let mut waiting = Vec::new();
    for _ in 0..3 {
        let started: Value = ada
            .post(
                &format!("/workflows/{workflow}/execute"),
                json!({"wait_ms": 4000, "url": provider.url("/good")}),
            )
            .await
            .json()
            .await
            .unwrap();
        waiting.push(started["execution_id"].as_str().unwrap().to_owned());
    }
    for _ in 0..2 {
        let failed = run(
            &ada,
            &workflow,
            json!({"wait_ms": 0, "url": provider.url("/bad")}),
        )
        .await;
        assert_eq!(failed["status"], "failed");
    }

    let mut paused = Value::Null;
    for _ in 0..200 {
        paused = ada
            .get(&format!("/workflows/{workflow}"))
            .await
            .json()
            .await
            .unwrap();
        if paused["status"] == "paused" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(paused["status"], "paused");
    assert_eq!(
        paused["paused_reason"],
        "Paused automatically: 2 runs in a row failed."
    );
    let audit: Value = ada
        .get(&format!("/workflows/{workflow}/audit"))
        .await
        .json()
        .await
        .unwrap();
    let entry = audit
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "workflow.paused")
        .expect("the pause is in the audit log");
    assert_eq!(entry["details"]["automatic"], true);
    assert_eq!(
        entry["details"]["reason"],
        "Paused automatically: 2 runs in a row failed."
    );
    assert_eq!(entry["details"]["held_runs"], 3);
    for id in &waiting {
        let run: Value = ada
            .get(&format!("/executions/{id}"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(run["status"], "held", "{run}");
    }
    let inbox = inbox(&ada).await;
    assert_eq!(inbox["items"][0]["kind"], "paused");
    assert!(inbox["items"][0]["body"].as_str().unwrap().contains("held"));

    // Resumed: the held runs continue where they were and succeed.
    let resumed: Value = ada
        .post(&format!("/workflows/{workflow}/activate"), json!(null))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(resumed["status"], "active");
    assert!(resumed.get("paused_reason").is_none());
    for id in &waiting {
        let run = ada.finished_run(id).await;
        assert_eq!(run["status"], "succeeded", "{run}");
    }
    assert_eq!(provider.received("/good").len(), 3);
}
