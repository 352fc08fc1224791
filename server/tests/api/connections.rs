//! Connections: stored encrypted, never shown back, used by HTTP steps,
//! OAuth 2 tokens renewed once when refused.

use sea_orm::EntityTrait;
use serde_json::{Value, json};
use testkit::{Reply, ScriptedServer};

use crate::{
    helpers::{TestApp, assert_error},
    on_both_backends,
};

on_both_backends!(
    connections_keep_their_secrets,
    http_steps_use_connections_and_renew_oauth_tokens,
    oauth_tokens_are_renewed_once_ahead_of_expiry_and_a_refused_grant_asks_to_reconnect
);

async fn connections_keep_their_secrets(app: TestApp) {
    let ada = app.user("ada@example.com").await;
    let created = ada
        .post(
            "/connections",
            json!({"name": "Stripe", "kind": "bearer", "fields": {"token": "sk_test_s3cr3t"}}),
        )
        .await;
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    assert_eq!(created["secrets"], json!(["token"]));
    assert!(!created.to_string().contains("sk_test_s3cr3t"));
    let id = created["id"].as_str().unwrap();

    let renamed: Value = ada
        .put(
            &format!("/connections/{id}"),
            json!({"name": "Stripe live"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(renamed["name"], "Stripe live");
    assert_eq!(
        renamed["secrets"],
        json!(["token"]),
        "omitted secrets keep their values"
    );
    let listed: Value = ada.get("/connections").await.json().await.unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert!(!listed.to_string().contains("sk_test"));

    let stored = entity::connection::Entity::find()
        .all(&app.db)
        .await
        .unwrap();
    assert!(
        !stored[0].sealed_secrets.contains("sk_test"),
        "secrets are encrypted at rest"
    );

    assert_error(
        ada.post(
            "/connections",
            json!({"name": "x", "kind": "carrier-pigeon", "fields": {}}),
        )
        .await,
        422,
        "invalid",
        Some("kind"),
    )
    .await;
    assert_error(
        ada.post(
            "/connections",
            json!({"name": "x", "kind": "bearer", "fields": {"tokn": "t"}}),
        )
        .await,
        422,
        "invalid",
        Some("fields.tokn"),
    )
    .await;
    assert_error(
        ada.post(
            "/connections",
            json!({"name": "x", "kind": "basic", "fields": {"username": "u"}}),
        )
        .await,
        422,
        "invalid",
        Some("fields.password"),
    )
    .await;
    assert_error(
        ada.post(
            "/connections",
            json!({"name": "", "kind": "bearer", "fields": {"token": "t"}}),
        )
        .await,
        422,
        "invalid",
        Some("name"),
    )
    .await;

    let bob = app.user("bob@example.com").await;
    assert_error(
        bob.get(&format!("/connections/{id}")).await,
        404,
        "not_found",
        None,
    )
    .await;
    assert_error(
        bob.delete(&format!("/connections/{id}")).await,
        404,
        "not_found",
        None,
    )
    .await;

    assert_eq!(
        ada.delete(&format!("/connections/{id}")).await.status(),
        204
    );
    let audit = domain::audit::list(&app.db, uuid::Uuid::parse_str(&ada.id).unwrap(), None, 10)
        .await
        .unwrap();
    let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "connection.deleted",
            "connection.updated",
            "connection.created"
        ]
    );
}

async fn http_steps_use_connections_and_renew_oauth_tokens(app: TestApp) {
    let remote = ScriptedServer::start().await;
    remote.script("/me", vec![Reply::json(200, json!({"ok": true}))]);
    remote.script(
        "/orders",
        vec![
            Reply::json(401, json!({"error": "expired"})),
            Reply::json(200, json!({"orders": []})),
        ],
    );
    remote.script(
        "/token",
        vec![Reply::json(
            200,
            json!({"access_token": "fresh-token", "token_type": "bearer"}),
        )],
    );
    let ada = app.user("ada@example.com").await;
    let bearer: Value = ada
        .post(
            "/connections",
            json!({"name": "API", "kind": "bearer", "fields": {"token": "k3y"}}),
        )
        .await
        .json()
        .await
        .unwrap();
    let oauth: Value = ada
        .post(
            "/connections",
            json!({"name": "OAuth", "kind": "oauth2", "fields": {
                "token_url": remote.url("/token"), "client_id": "app", "client_secret": "shh",
                "access_token": "stale-token", "refresh_token": "r1"}}),
        )
        .await
        .json()
        .await
        .unwrap();
    let workflow = ada
        .create_workflow(json!({
            "name": "Uses connections",
            "nodes": [
                {"id": "start", "kind": "manual_trigger"},
                {"id": "me", "kind": "http_request", "config": {"url": remote.url("/me"), "connection_id": bearer["id"]}},
                {"id": "orders", "kind": "http_request", "config": {"url": remote.url("/orders"), "connection_id": oauth["id"]}}
            ],
            "edges": [{"source": "start", "target": "me"}, {"source": "me", "target": "orders"}]
        }))
        .await;
    let started: Value = ada
        .post(&format!("/workflows/{workflow}/execute"), json!({}))
        .await
        .json()
        .await
        .unwrap();
    let run = ada
        .finished_run(started["execution_id"].as_str().unwrap())
        .await;
    assert_eq!(run["status"], "succeeded", "{run}");

    assert_eq!(
        remote.received("/me")[0].headers["authorization"],
        "Bearer k3y"
    );
    let orders: Vec<String> = remote
        .received("/orders")
        .iter()
        .map(|r| r.headers["authorization"].to_str().unwrap().to_owned())
        .collect();
    assert_eq!(orders, ["Bearer stale-token", "Bearer fresh-token"]);
    let token_request = String::from_utf8(remote.received("/token")[0].body.to_vec()).unwrap();
    assert!(
        token_request.contains("grant_type=refresh_token")
            && token_request.contains("refresh_token=r1"),
        "{token_request}"
    );
    let orders_step = run["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["node_id"] == "orders")
        .unwrap();
    assert_eq!(
        orders_step["attempts"], 1,
        "the renewal happened within one attempt"
    );
    assert!(
        !run.to_string().contains("k3y") && !run.to_string().contains("fresh-token"),
        "no secret in the run"
    );

    // A connection of someone else cannot be used.
    let bob = app.user("bob@example.com").await;
    let stolen = bob
        .create_workflow(json!({
            "name": "Steals",
            "nodes": [{"id": "start", "kind": "manual_trigger"}, {"id": "me", "kind": "http_request", "config": {"url": remote.url("/me"), "connection_id": bearer["id"]}}],
            "edges": [{"source": "start", "target": "me"}]
        }))
        .await;
    let started: Value = bob
        .post(&format!("/workflows/{stolen}/execute"), json!({}))
        .await
        .json()
        .await
        .unwrap();
    let run = bob
        .finished_run(started["execution_id"].as_str().unwrap())
        .await;
    assert_eq!(run["status"], "failed");
    assert!(
        run["error"]["message"]
            .as_str()
            .unwrap()
            .contains("connection does not exist"),
        "{run}"
    );
    assert_eq!(
        remote.received("/me").len(),
        1,
        "nothing was sent with Ada's key"
    );
}

async fn oauth_tokens_are_renewed_once_ahead_of_expiry_and_a_refused_grant_asks_to_reconnect(
    app: TestApp,
) {
    let remote = ScriptedServer::start().await;
    remote.script("/orders", vec![Reply::json(200, json!({"orders": []}))]);
    remote.script(
        "/token",
        vec![Reply::json(
            200,
            json!({"access_token": "fresh-token", "refresh_token": "r2", "expires_in": 3600, "token_type": "bearer"}),
        )],
    );
    remote.script(
        "/revoked-token",
        vec![Reply::json(400, json!({"error": "invalid_grant"}))],
    );
    let ada = app.user("ada@example.com").await;
    let expired = (chrono::Utc::now().timestamp() - 5).to_string();
    let oauth: Value = ada
        .post(
            "/connections",
            json!({"name": "OAuth", "kind": "oauth2", "fields": {
                "token_url": remote.url("/token"), "client_id": "app", "access_token": "stale-token",
                "refresh_token": "r1", "expires_at": expired}}),
        )
        .await
        .json()
        .await
        .unwrap();
    let workflow = ada
        .create_workflow(json!({
            "name": "Orders",
            "nodes": [
                {"id": "start", "kind": "manual_trigger"},
                {"id": "orders", "kind": "http_request", "config": {"url": remote.url("/orders"), "connection_id": oauth["id"]}}
            ],
            "edges": [{"source": "start", "target": "orders"}]
        }))
        .await;
    // 40 runs at once need the expiring token: one renewal serves them all.
    let path = format!("/workflows/{workflow}/execute");
    let starts = (0..40).map(|_| ada.post(&path, json!({})));
    let mut ids = Vec::new();
    for started in futures_util::future::join_all(starts).await {
        ids.push(
            started.json::<Value>().await.unwrap()["execution_id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    for id in &ids {
        assert_eq!(ada.finished_run(id).await["status"], "succeeded");
    }
    let renewals = remote.received("/token");
    assert_eq!(renewals.len(), 1, "exactly one renewal");
    let sent: Vec<String> = remote
        .received("/orders")
        .iter()
        .map(|r| r.headers["authorization"].to_str().unwrap().to_owned())
        .collect();
    assert_eq!(sent.len(), 40);
    assert!(
        sent.iter().all(|auth| auth == "Bearer fresh-token"),
        "{sent:?}"
    );
    let shown: Value = ada
        .get(&format!("/connections/{}", oauth["id"].as_str().unwrap()))
        .await
        .json()
        .await
        .unwrap();
    let expires: i64 = shown["settings"]["expires_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        expires > chrono::Utc::now().timestamp() + 3000,
        "the new expiry is kept: {shown}"
    );

    // A refresh token the service refuses: the connection asks to be reconnected.
    let revoked: Value = ada
        .post(
            "/connections",
            json!({"name": "Revoked", "kind": "oauth2", "fields": {
                "token_url": remote.url("/revoked-token"), "client_id": "app", "access_token": "old",
                "refresh_token": "gone", "expires_at": expired}}),
        )
        .await
        .json()
        .await
        .unwrap();
    let revoked_id = revoked["id"].as_str().unwrap();
    let failing = ada
        .create_workflow(json!({
            "name": "Revoked orders",
            "nodes": [
                {"id": "start", "kind": "manual_trigger"},
                {"id": "orders", "kind": "http_request", "config": {"url": remote.url("/orders"), "connection_id": revoked_id}}
            ],
            "edges": [{"source": "start", "target": "orders"}]
        }))
        .await;
    for _ in 0..2 {
        let started: Value = ada
            .post(&format!("/workflows/{failing}/execute"), json!({}))
            .await
            .json()
            .await
            .unwrap();
        let run = ada
            .finished_run(started["execution_id"].as_str().unwrap())
            .await;
        assert_eq!(run["status"], "failed");
        let error = &run["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["node_id"] == "orders")
            .unwrap()["error"];
        assert_eq!(error["class"], "auth", "{error}");
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .contains("needs to be reconnected"),
            "{error}"
        );
    }
    assert_eq!(
        remote.received("/revoked-token").len(),
        1,
        "a refused grant is not tried again"
    );
    let shown: Value = ada
        .get(&format!("/connections/{revoked_id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(shown["settings"]["status"], "reconnect", "{shown}");
    // New credentials clear it.
    let reconnected: Value = ada
        .put(
            &format!("/connections/{revoked_id}"),
            json!({"fields": {"access_token": "new", "refresh_token": "r9", "expires_at": ""}}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(
        reconnected["settings"].get("status").is_none(),
        "{reconnected}"
    );
}
