//! Durability of the real server process: SIGKILL it in the middle of many
//! runs, start it again, and every run completes with no step lost.

use std::{collections::HashMap, time::Duration};

use serde_json::{Value, json};
use testkit::{Backend, Reply, ScriptedServer, TestDatabase};

use crate::{
    helpers::{User, browser},
    server_process::RunningServer,
};

const RUNS: usize = 30;

async fn killed_mid_run_then_restarted(backend: Backend) {
    let Some(database) = TestDatabase::create(backend).await else {
        return;
    };
    let data_dir = database.dir.path().join("data");
    let envs = [
        ("DATABASE_URL", database.url.as_str()),
        ("SWITCHYARD_OUTBOUND_ALLOW", "127.0.0.1/32"),
        ("SWITCHYARD_LEASE_MS", "1000"),
    ];
    let remote = ScriptedServer::start().await;
    remote.script(
        "/slow",
        vec![Reply::json(200, json!({"done": true})).after(Duration::from_millis(400))],
    );

    let first = RunningServer::start(&data_dir, false, &envs).await;
    let client = browser();
    let register = client
        .post(format!("{}/api/v1/auth/register", first.address))
        .json(&json!({"email": "ops@example.com", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    assert_eq!(register.status(), 201);
    let user = User {
        client,
        base: first.address.clone(),
        id: String::new(),
    };
    let workflow = user
        .create_workflow(json!({
            "name": "Crash test",
            "nodes": [
                {"id": "start", "kind": "manual_trigger"},
                {"id": "before", "kind": "transform", "config": {"template": {"n": "{{ trigger.n }}"}}},
                {"id": "call", "kind": "http_request", "config": {"url": remote.url("/slow"), "send_idempotency_key": true}},
                {"id": "after", "kind": "transform", "config": {"template": "{{ steps.before.output.n }}-{{ steps.call.output.body.done }}"}}
            ],
            "edges": [{"source": "start", "target": "before"}, {"source": "before", "target": "call"}, {"source": "call", "target": "after"}]
        }))
        .await;
    let mut runs = Vec::new();
    for n in 0..RUNS {
        let started: Value = user
            .post(&format!("/workflows/{workflow}/execute"), json!({ "n": n }))
            .await
            .json()
            .await
            .unwrap();
        runs.push(started["execution_id"].as_str().unwrap().to_owned());
    }
    // Kill it while calls are in flight.
    while remote.received("/slow").len() < 5 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    first.signal("-KILL");
    let (code, _) = first.wait().await;
    assert_ne!(code, 0, "the first server was killed");

    let second = RunningServer::start(&data_dir, false, &envs).await;
    let user = User {
        base: second.address.clone(),
        ..user
    };
    let login = user
        .post(
            "/auth/login",
            json!({"email": "ops@example.com", "password": "correct horse battery"}),
        )
        .await;
    assert_eq!(login.status(), 200);
    for (n, id) in runs.iter().enumerate() {
        let run = user.finished_run(id).await;
        assert_eq!(run["status"], "succeeded", "run {n}: {run}");
        let steps = run["steps"].as_array().unwrap();
        assert_eq!(steps.len(), 4, "run {n} lost no step");
        assert!(
            steps.iter().all(|s| s["status"] == "succeeded"),
            "run {n}: {run}"
        );
        let after = steps.iter().find(|s| s["node_id"] == "after").unwrap();
        assert_eq!(after["output"], json!(format!("{n}-true")));
    }
    // Every call carried its run's stable key; a call interrupted by the
    // kill was retried with the same key, never under a new one.
    let mut calls: HashMap<String, usize> = HashMap::new();
    for request in remote.received("/slow") {
        *calls
            .entry(
                request.headers["idempotency-key"]
                    .to_str()
                    .unwrap()
                    .to_owned(),
            )
            .or_default() += 1;
    }
    assert_eq!(calls.len(), RUNS);
    for id in &runs {
        assert!(calls.contains_key(&format!("{id}:call")));
    }
    second.signal("-TERM");
    assert_eq!(second.wait().await.0, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_runs_survive_a_sigkill() {
    killed_mid_run_then_restarted(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_runs_survive_a_sigkill() {
    killed_mid_run_then_restarted(Backend::Postgres).await;
}

/// Webhooks during a SIGKILL: every request that got its 202 has a run
/// that completes after the restart.
async fn webhooks_survive_a_sigkill(backend: Backend) {
    let Some(database) = TestDatabase::create(backend).await else {
        return;
    };
    let data_dir = database.dir.path().join("data");
    let envs = [
        ("DATABASE_URL", database.url.as_str()),
        ("SWITCHYARD_OUTBOUND_ALLOW", "127.0.0.1/32"),
        ("SWITCHYARD_LEASE_MS", "1000"),
    ];
    let remote = ScriptedServer::start().await;
    remote.script(
        "/notify",
        vec![Reply::json(200, json!({"ok": true})).after(Duration::from_millis(50))],
    );

    let first = RunningServer::start(&data_dir, false, &envs).await;
    let client = browser();
    let register = client
        .post(format!("{}/api/v1/auth/register", first.address))
        .json(&json!({"email": "ops@example.com", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    assert_eq!(register.status(), 201);
    let user = User {
        client,
        base: first.address.clone(),
        id: String::new(),
    };
    let created: Value = user
        .post(
            "/workflows",
            json!({
                "name": "Webhook crash test",
                "nodes": [
                    {"id": "hook", "kind": "webhook_trigger"},
                    {"id": "shape", "kind": "transform", "config": {"template": {"n": "{{ trigger.body.n }}"}}},
                    {"id": "notify", "kind": "http_request", "config": {"method": "POST", "url": remote.url("/notify"), "body": "{{ steps.shape.output }}"}},
                    {"id": "done", "kind": "transform", "config": {"template": "{{ steps.shape.output.n }}"}}
                ],
                "edges": [{"source": "hook", "target": "shape"}, {"source": "shape", "target": "notify"}, {"source": "notify", "target": "done"}]
            }),
        )
        .await
        .json()
        .await
        .unwrap();
    let workflow = created["id"].as_str().unwrap().to_owned();
    user.post(&format!("/workflows/{workflow}/activate"), json!(null))
        .await;
    let url = created["webhook_url"].as_str().unwrap().to_owned();

    // Eight senders post until the server dies under them.
    let accepted = std::sync::Arc::new(std::sync::Mutex::new(Vec::<(u64, String)>::new()));
    let mut senders = Vec::new();
    for sender in 0..8u64 {
        let (url, accepted) = (url.clone(), accepted.clone());
        senders.push(tokio::spawn(async move {
            let hook = reqwest::Client::new();
            for i in 0.. {
                let n = sender * 1_000_000 + i;
                match hook.post(&url).json(&json!({ "n": n })).send().await {
                    Ok(response) if response.status() == 202 => {
                        let body: Value = response.json().await.unwrap();
                        accepted
                            .lock()
                            .unwrap()
                            .push((n, body["execution_id"].as_str().unwrap().to_owned()));
                    }
                    Ok(response) => panic!("unexpected answer {}", response.status()),
                    Err(_) => return,
                }
            }
        }));
    }
    while accepted.lock().unwrap().len() < 150 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    first.signal("-KILL");
    for sender in senders {
        sender.await.unwrap();
    }
    first.wait().await;
    let accepted = accepted.lock().unwrap().clone();

    let second = RunningServer::start(&data_dir, false, &envs).await;
    let user = User {
        base: second.address.clone(),
        ..user
    };
    let login = user
        .post(
            "/auth/login",
            json!({"email": "ops@example.com", "password": "correct horse battery"}),
        )
        .await;
    assert_eq!(login.status(), 200);
    for (n, id) in &accepted {
        let run = user.finished_run(id).await;
        assert_eq!(run["status"], "succeeded", "{run}");
        let done = run["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["node_id"] == "done")
            .unwrap();
        assert_eq!(
            done["output"],
            json!(n),
            "run {id} ran with its own request"
        );
    }
    second.signal("-TERM");
    second.wait().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_accepted_webhooks_survive_a_sigkill() {
    webhooks_survive_a_sigkill(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_accepted_webhooks_survive_a_sigkill() {
    webhooks_survive_a_sigkill(Backend::Postgres).await;
}
