//! Each alert rule on its own: a missed schedule, and 429s, refused
//! credentials, a dead letter and slow runs, each told once when it fires
//! and once when it clears.

use std::time::Duration;

use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use testkit::{Reply, ScriptedServer};

use crate::{
    alerts::{inbox, run},
    helpers::{TestApp, User},
    on_both_backends,
};

on_both_backends!(
    a_missed_schedule_is_told,
    every_rule_fires_once_and_resolves
);

async fn a_missed_schedule_is_told(app: TestApp) {
    let ada = app.user("ada@example.com").await;
    // Half a day from now: no fire time of its own falls in the hour the
    // test pretends the instance was down, whatever the time of the run.
    let hour = (chrono::Timelike::hour(&chrono::Utc::now()) + 12) % 24;
    let workflow = ada
        .create_workflow(json!({
            "name": "Nightly export",
            "nodes": [
                {"id": "tick", "kind": "schedule_trigger", "config": {"cron": format!("0 {hour} * * *"), "timezone": "UTC", "missed": "skip"}},
                {"id": "note", "kind": "transform", "config": {"template": "{{ trigger.scheduled_at }}"}}
            ],
            "edges": [{"source": "tick", "target": "note"}]
        }))
        .await;
    let active = ada
        .post(&format!("/workflows/{workflow}/activate"), json!(null))
        .await;
    assert_eq!(active.status(), 200);
    // The instance was down at the scheduled time, an hour ago.
    let an_hour_ago = chrono::Utc::now().timestamp_millis() - 3_600_000;
    let backend = app.db.get_database_backend();
    let sql = if backend == sea_orm::DbBackend::Postgres {
        "UPDATE schedules SET next_fire_at = $1 WHERE workflow_id = $2"
    } else {
        "UPDATE schedules SET next_fire_at = ? WHERE workflow_id = ?"
    };
    let id = uuid::Uuid::parse_str(&workflow).unwrap();
    app.db
        .execute_raw(sea_orm::Statement::from_sql_and_values(
            backend,
            sql,
            [an_hour_ago.into(), id.into()],
        ))
        .await
        .unwrap();
    for _ in 0..200 {
        let entries = inbox(&ada).await;
        if let Some(entry) = entries["items"].as_array().unwrap().first() {
            assert_eq!(entry["kind"], "alert");
            assert!(
                entry["title"]
                    .as_str()
                    .unwrap()
                    .contains("a schedule missed its time"),
                "{entry}"
            );
            assert!(
                entry["body"]
                    .as_str()
                    .unwrap()
                    .contains("1 scheduled time(s) passed"),
                "{entry}"
            );
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no alert for the missed schedule");
}

/// How many inbox entries of `kind` name `headline`.
async fn told(user: &User, kind: &str, headline: &str) -> usize {
    inbox(user).await["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == kind && n["title"].as_str().unwrap().contains(headline))
        .count()
}

/// Waits until `user` was told `count` times of `kind` about `headline`.
async fn told_eventually(user: &User, kind: &str, headline: &str, count: usize) {
    for _ in 0..200 {
        if told(user, kind, headline).await >= count {
            tokio::time::sleep(Duration::from_millis(100)).await;
            assert_eq!(
                told(user, kind, headline).await,
                count,
                "{kind}: {headline}"
            );
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("never told {kind}: {headline}");
}

async fn every_rule_fires_once_and_resolves(app: TestApp) {
    let provider = ScriptedServer::start().await;
    provider.script("/ok", vec![Reply::json(200, json!({"ok": true}))]);
    provider.script(
        "/limited",
        vec![
            Reply::json(429, json!({"error": "slow down"})).header("retry-after", "0"),
            Reply::json(200, json!({"ok": true})),
        ],
    );
    provider.script(
        "/refused",
        vec![Reply::json(401, json!({"error": "bad key"}))],
    );
    provider.script("/down", vec![Reply::json(503, json!({"error": "down"}))]);
    provider.script(
        "/slow",
        vec![Reply::json(200, json!({"ok": true})).after(Duration::from_millis(1500))],
    );
    let ada = app.user("ada@example.com").await;
    let workflow = ada
        .create_workflow(json!({
            "name": "Partner API",
            "nodes": [
                {"id": "start", "kind": "manual_trigger"},
                {"id": "call", "kind": "http_request", "config": {"url": "{{ trigger.url }}"}}
            ],
            "edges": [{"source": "start", "target": "call"}],
            "settings": {"retry": {"max_attempts": 2, "initial_delay_ms": 10, "max_delay_ms": 20}}
        }))
        .await;
    let rules = json!({
        "consecutive_failures": null,
        "error_rate": null,
        "slow_runs": {"p95_ms": 1000, "window_minutes": 60}
    });
    assert_eq!(
        ada.put(&format!("/workflows/{workflow}/alerts"), rules)
            .await
            .status(),
        200
    );
    let call = |path: &str| json!({ "url": provider.url(path) });

    // 429, then success on the retry: told once, still open after that
    // run; a clean run clears it.
    assert_eq!(
        run(&ada, &workflow, call("/limited")).await["status"],
        "succeeded"
    );
    told_eventually(&ada, "alert", "rate limited by a provider", 1).await;
    assert_eq!(told(&ada, "resolved", "rate limited").await, 0);
    assert_eq!(
        run(&ada, &workflow, call("/ok")).await["status"],
        "succeeded"
    );
    told_eventually(&ada, "resolved", "rate limited by a provider", 1).await;

    // Refused credentials, twice: told once.
    for _ in 0..2 {
        assert_eq!(
            run(&ada, &workflow, call("/refused")).await["status"],
            "failed"
        );
    }
    told_eventually(&ada, "alert", "a connection needs reconnecting", 1).await;

    // Retries used up: a dead letter.
    let dead = run(&ada, &workflow, call("/down")).await;
    assert_eq!(dead["status"], "failed");
    told_eventually(&ada, "alert", "dead-letter queue", 1).await;

    // A slow run: the 95th percentile of the window is over 1 s (far
    // above what a loaded machine makes of a fast run).
    assert_eq!(
        run(&ada, &workflow, call("/slow")).await["status"],
        "succeeded"
    );
    told_eventually(&ada, "alert", "slower than their limit", 1).await;
    told_eventually(&ada, "resolved", "a connection needs reconnecting", 1).await;

    // The dead letter redriven successfully clears its incident.
    provider.script("/down", vec![Reply::json(200, json!({"ok": true}))]);
    let letters: Value = ada.get("/dead-letters").await.json().await.unwrap();
    let letter = letters[0]["id"].as_str().unwrap();
    let redriven = ada
        .post(&format!("/dead-letters/{letter}/redrive"), json!(null))
        .await;
    assert_eq!(redriven.status(), 202);
    assert_eq!(
        ada.finished_run(dead["id"].as_str().unwrap()).await["status"],
        "succeeded"
    );
    told_eventually(&ada, "resolved", "dead-letter queue", 1).await;

    // Fast runs bring the 95th percentile back under the limit (the
    // redriven run counts from its first start, so it is slow too).
    for _ in 0..35 {
        assert_eq!(
            run(&ada, &workflow, call("/ok")).await["status"],
            "succeeded"
        );
    }
    told_eventually(&ada, "resolved", "slower than their limit", 1).await;
    // Each incident was told exactly once each way.
    let entries = inbox(&ada).await;
    assert_eq!(entries["items"].as_array().unwrap().len(), 8, "{entries}");
}
