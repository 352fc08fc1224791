//! The exported project's entry points, started as a user starts them:
//! a webhook server checking the trigger's signature and starting one run
//! per delivery, a schedule firing on its cron, an event endpoint running
//! only the events its filter takes.

use std::{path::Path, process::Stdio};

use serde_json::{Value, json};
use testkit::Reply;
use tokio::{
    io::{AsyncBufReadExt, BufReader, Lines},
    process::{Child, ChildStdout, Command},
};

use super::harness::{build, export_to, project_dir};
use crate::{
    helpers::{Backend, spawn_app},
    templates::Fakes,
    webhooks::hmac_hex,
};

/// The project's `node dist/main.js`, and its output line by line.
struct Started {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
}

impl Started {
    async fn spawn(dir: &Path, env: &[(&str, &str)]) -> Started {
        let mut command = Command::new("node");
        command
            .arg("dist/main.js")
            .current_dir(dir)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("PORT", "0")
            .env("HOST", "127.0.0.1")
            .stdout(Stdio::piped())
            .kill_on_drop(true);
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("node starts");
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        Started { child, lines }
    }

    async fn line(&mut self) -> String {
        self.lines
            .next_line()
            .await
            .unwrap()
            .expect("the project printed a line before it ended")
    }

    /// The port from `listening for … on port N`.
    async fn port(&mut self) -> u16 {
        let line = self.line().await;
        line.rsplit(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap_or_else(|_| panic!("{line}"))
    }

    /// The next run the project printed.
    async fn run(&mut self) -> Value {
        serde_json::from_str(&self.line().await).unwrap()
    }
}

async fn exported(definition: Value, name: &str) -> std::path::PathBuf {
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    let user = app.user(&format!("{name}@example.com")).await;
    let workflow = user.create_workflow(definition).await;
    let dir = project_dir(name);
    let project = export_to(&user, &workflow, &dir).await;
    assert!(
        !project.to_string().contains("hook-s3cret"),
        "the signing secret was exported"
    );
    build(&dir);
    dir
}

#[tokio::test]
async fn the_webhook_server_checks_signatures_and_runs_each_delivery_once() {
    let fakes = Fakes::start().await;
    fakes.reply("/shop/orders", Reply::json(201, json!({"id": "o-1"})));
    let dir = exported(
        json!({
            "name": "Orders from the shop",
            "nodes": [
                {"id": "hook", "kind": "webhook_trigger", "config": {"methods": ["POST"],
                    "signature": {"scheme": "github", "secret": "hook-s3cret"}, "dedupe_header": "X-GitHub-Delivery"}},
                {"id": "save", "kind": "http_request", "config": {"method": "POST", "url": fakes.remote.url("/shop/orders"),
                    "body": {"order": "{{ trigger.body.order }}", "via": "{{ trigger.headers['x-github-event'] }}"}}}
            ],
            "edges": [{"source": "hook", "target": "save"}]
        }),
        "webhook",
    )
    .await;
    let mut server = Started::spawn(&dir, &[("WEBHOOK_SECRET", "hook-s3cret")]).await;
    let url = format!("http://127.0.0.1:{}/", server.port().await);
    let body = br#"{"order": "A-17"}"#.to_vec();
    let send = |signature: String, delivery: &'static str| {
        reqwest::Client::new()
            .post(&url)
            .header("content-type", "application/json")
            .header("x-github-event", "push")
            .header("x-github-delivery", delivery)
            .header("x-hub-signature-256", signature)
            .body(body.clone())
            .send()
    };
    let good = format!("sha256={}", hmac_hex("hook-s3cret", &body));

    let forged = send(format!("sha256={}", hmac_hex("guess", &body)), "d-0")
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);

    let accepted = send(good.clone(), "d-1").await.unwrap();
    assert_eq!(accepted.status(), 202);
    let execution = accepted.json::<Value>().await.unwrap()["execution_id"].clone();
    let run = server.run().await;
    assert_eq!(run["executionId"], execution);
    assert_eq!(run["status"], "succeeded", "{run}");
    let saved = fakes.remote.received("/shop/orders");
    assert_eq!(saved.len(), 1);
    let sent: Value = serde_json::from_slice(&saved[0].body).unwrap();
    assert_eq!(sent, json!({"order": "A-17", "via": "push"}));

    // GitHub resending the same delivery starts nothing.
    let again = send(good, "d-1").await.unwrap();
    assert_eq!(again.status(), 202);
    assert_eq!(again.headers()["x-switchyard-duplicate"], "true");
    assert_eq!(
        again.json::<Value>().await.unwrap()["execution_id"],
        execution
    );
    assert_eq!(fakes.remote.received("/shop/orders").len(), 1);
    let _ = server.child.kill().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_schedule_fires_on_its_cron() {
    let dir = exported(
        json!({
            "name": "Every second",
            "nodes": [
                {"id": "tick", "kind": "schedule_trigger", "config": {"cron": "* * * * * *", "timezone": "Europe/Berlin"}},
                {"id": "stamp", "kind": "transform", "config": {"template": {"at": "{{ trigger.scheduled_at }}", "missed": "{{ trigger.missed }}"}}}
            ],
            "edges": [{"source": "tick", "target": "stamp"}]
        }),
        "schedule",
    )
    .await;
    let mut schedule = Started::spawn(&dir, &[]).await;
    let first = schedule.run().await;
    let second = schedule.run().await;
    for run in [&first, &second] {
        assert_eq!(run["status"], "succeeded", "{run}");
    }
    let at = |run: &Value| run["steps"][1]["output"]["at"].as_str().unwrap().to_owned();
    // Berlin's offset, one fire per second.
    assert!(
        at(&first).ends_with("+01:00") || at(&first).ends_with("+02:00"),
        "{first}"
    );
    assert_ne!(at(&first), at(&second));
    let _ = schedule.child.kill().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn events_start_runs_when_their_filter_holds() {
    let dir = exported(
        json!({
            "name": "Big orders",
            "nodes": [
                {"id": "paid", "kind": "event_trigger", "config": {"type": "order.paid", "filter": "{{ data.amount > 100 }}"}},
                {"id": "note", "kind": "transform", "config": {"template": "{{ trigger.data.id }} paid {{ trigger.data.amount }}"}}
            ],
            "edges": [{"source": "paid", "target": "note"}]
        }),
        "events",
    )
    .await;
    let mut server = Started::spawn(&dir, &[]).await;
    let url = format!("http://127.0.0.1:{}/events", server.port().await);
    let post = |event: Value| reqwest::Client::new().post(&url).json(&event).send();

    let small = post(json!({"type": "order.paid", "data": {"id": "o-1", "amount": 5}}))
        .await
        .unwrap();
    assert_eq!(small.status(), 201);
    assert_eq!(small.json::<Value>().await.unwrap()["started"], json!([]));
    let other = post(json!({"type": "order.refunded", "data": {"id": "o-2", "amount": 500}}))
        .await
        .unwrap();
    assert_eq!(other.json::<Value>().await.unwrap()["started"], json!([]));
    let untyped = post(json!({"data": {}})).await.unwrap();
    assert_eq!(untyped.status(), 422);

    let big =
        post(json!({"type": "order.paid", "source": "shop", "data": {"id": "o-3", "amount": 250}}))
            .await
            .unwrap();
    assert_eq!(big.status(), 201);
    let started = big.json::<Value>().await.unwrap()["started"][0].clone();
    let run = server.run().await;
    assert_eq!(run["executionId"], started);
    assert_eq!(run["steps"][1]["output"], "o-3 paid 250");
    let _ = server.child.kill().await;
    let _ = std::fs::remove_dir_all(&dir);
}
