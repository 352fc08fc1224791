//! Outbound calls keep their credentials: a redirect to another origin
//! carries none of them, and keys in URLs never reach what a run stores
//! or shows (step errors and inputs, events, dead letters).

use sea_orm::EntityTrait;
use serde_json::{Value, json};
use testkit::{Reply, ScriptedServer};

use crate::{
    helpers::{TestApp, User},
    on_both_backends,
};

on_both_backends!(
    item7_redirects_to_another_origin_carry_no_credentials,
    item8_url_keys_stay_out_of_errors_events_and_dead_letters
);

/// Runs a manual-trigger workflow once and returns the finished run.
async fn run_once(user: &User, definition: Value) -> Value {
    let workflow = user.create_workflow(definition).await;
    let started: Value = user
        .post(&format!("/workflows/{workflow}/execute"), json!({}))
        .await
        .json()
        .await
        .unwrap();
    user.finished_run(started["execution_id"].as_str().unwrap())
        .await
}

fn one_call(config: Value) -> Value {
    json!({
        "name": "Calls",
        "nodes": [
            {"id": "start", "kind": "manual_trigger"},
            {"id": "call", "kind": "http_request", "config": config}
        ],
        "edges": [{"source": "start", "target": "call"}],
        "settings": {"retry": {"max_attempts": 1}}
    })
}

const SECRETS: [&str; 5] = [
    "conn-secret",
    "inline-secret",
    "custom-secret",
    "bearer-secret",
    "tenant-7",
];

async fn item7_redirects_to_another_origin_carry_no_credentials(app: TestApp) {
    let first = ScriptedServer::start().await;
    let second = ScriptedServer::start().await;
    second.script("/landed", vec![Reply::json(200, json!({"landed": true}))]);
    let away = Reply::json(307, json!({})).header("Location", &second.url("/landed"));
    first.script("/away", vec![away.clone()]);
    first.script("/away-bearer", vec![away]);
    first.script(
        "/near",
        vec![Reply::json(302, json!({})).header("Location", "/here")],
    );
    first.script("/here", vec![Reply::json(200, json!({"here": true}))]);
    let ada = app.user("ada@example.com").await;
    let connection: Value = ada
        .post(
            "/connections",
            json!({"name": "Key", "kind": "header",
                   "fields": {"header_name": "X-Api-Key", "value": "conn-secret"}}),
        )
        .await
        .json()
        .await
        .unwrap();
    let with_everything = |url: String| {
        json!({
            "method": "POST",
            "url": url,
            "body": {"n": 1},
            "connection_id": connection["id"],
            "auth": {"type": "header", "name": "X-Inline-Auth", "value": "inline-secret"},
            "headers": {"X-Custom-Token": "custom-secret", "X-Tenant": "tenant-7", "Cookie": "sid=custom-secret"}
        })
    };

    let run = run_once(&ada, one_call(with_everything(first.url("/away")))).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    let sent = &first.received("/away")[0].headers;
    assert_eq!(sent["x-api-key"], "conn-secret");
    assert_eq!(sent["x-inline-auth"], "inline-secret");
    assert_eq!(sent["x-custom-token"], "custom-secret");

    let bearer = json!({"url": first.url("/away-bearer"), "auth": {"type": "bearer", "token": "bearer-secret"}});
    let run = run_once(&ada, one_call(bearer)).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(
        first.received("/away-bearer")[0].headers["authorization"],
        "Bearer bearer-secret"
    );

    let landed = second.received("/landed");
    assert_eq!(landed.len(), 2, "both calls were redirected");
    for request in &landed {
        for (name, value) in &request.headers {
            let value = value.to_str().unwrap_or_default();
            assert!(
                !SECRETS.iter().any(|secret| value.contains(secret)),
                "{name}: {value} reached another origin"
            );
        }
        assert!(!request.headers.contains_key("authorization"));
        assert!(!request.headers.contains_key("referer"));
    }
    assert_eq!(landed[0].method, "POST", "a 307 repeats the request");
    assert_eq!(landed[0].body.as_ref(), br#"{"n":1}"#);

    // Within one origin the credentials stay.
    let run = run_once(&ada, one_call(with_everything(first.url("/near")))).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    let here = &first.received("/here")[0].headers;
    assert_eq!(here["x-api-key"], "conn-secret");
    assert_eq!(here["x-custom-token"], "custom-secret");

    // A Host header would send the request to another virtual host than
    // the one the URL names.
    let run = run_once(
        &ada,
        one_call(json!({"url": first.url("/here"), "headers": {"Host": "internal.example"}})),
    )
    .await;
    assert_eq!(run["status"], "failed");
    assert_eq!(run["error"]["class"], "validation", "{run}");
    assert!(
        run["error"]["message"].as_str().unwrap().contains("Host"),
        "{run}"
    );
    assert_eq!(first.received("/here").len(), 1, "it was not sent");
}

async fn item8_url_keys_stay_out_of_errors_events_and_dead_letters(app: TestApp) {
    let failing = ScriptedServer::start().await;
    failing.script("/fail", vec![Reply::json(503, json!({}))]);
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let ada = app.user("ada@example.com").await;
    let mut runs = Vec::new();
    for config in [
        json!({"url": format!("http://127.0.0.1:{closed}/x?api_key=SUPERSECRET&page=1")}),
        json!({"url": format!("http://ada:SUPERSECRET@127.0.0.1:{closed}/x")}),
        json!({"url": format!("http://127.0.0.1:{closed}/x"), "query": {"access_token": "SUPERSECRET"}}),
        json!({"url": failing.url("/fail?signature=SUPERSECRET"), "headers": {"X-Vendor-Key": "SUPERSECRET"}}),
    ] {
        let run = run_once(&ada, one_call(config)).await;
        assert_eq!(run["status"], "failed", "{run}");
        runs.push(run);
    }
    let refused = runs[0]["error"]["message"].as_str().unwrap();
    assert!(
        refused.contains(&format!("127.0.0.1:{closed}/x?api_key=••••••&page=1")),
        "the error still says where: {refused}"
    );

    let mut shown = Vec::new();
    for run in &runs {
        let id = run["id"].as_str().unwrap();
        shown.push(
            ada.get(&format!("/executions/{id}"))
                .await
                .text()
                .await
                .unwrap(),
        );
        shown.push(
            ada.get(&format!("/executions/{id}/log"))
                .await
                .text()
                .await
                .unwrap(),
        );
    }
    let letters = ada.get("/dead-letters").await.text().await.unwrap();
    assert!(letters.contains("failed after"), "{letters}");
    shown.push(letters);
    for text in &shown {
        assert!(!text.contains("SUPERSECRET"), "{text}");
    }

    // What is stored, whatever shows it.
    let stored = [
        serde_json::to_string(
            &entity::step_run::Entity::find()
                .into_json()
                .all(&app.db)
                .await
                .unwrap(),
        ),
        serde_json::to_string(
            &entity::execution_event::Entity::find()
                .into_json()
                .all(&app.db)
                .await
                .unwrap(),
        ),
        serde_json::to_string(
            &entity::dead_letter::Entity::find()
                .into_json()
                .all(&app.db)
                .await
                .unwrap(),
        ),
        serde_json::to_string(
            &entity::execution::Entity::find()
                .into_json()
                .all(&app.db)
                .await
                .unwrap(),
        ),
    ];
    for table in stored {
        let table = table.unwrap();
        assert!(!table.contains("SUPERSECRET"), "{table}");
    }
}
