//! Personal API tokens: shown once, used as Bearer, revoked at once.

use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, assert_error},
    on_both_backends,
};

on_both_backends!(tokens_work_until_revoked);

async fn tokens_work_until_revoked(app: TestApp) {
    let ada = app.user("ada@example.com").await;
    assert_error(
        ada.post("/tokens", json!({"name": ""})).await,
        422,
        "invalid",
        Some("name"),
    )
    .await;
    let created: Value = ada
        .post("/tokens", json!({"name": "deploy script"}))
        .await
        .json()
        .await
        .unwrap();
    let token = created["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("sy_") && token.len() > 40);
    assert!(token.starts_with(created["prefix"].as_str().unwrap()));

    let listed: Value = ada.get("/tokens").await.json().await.unwrap();
    assert_eq!(listed[0]["name"], "deploy script");
    assert!(
        listed[0].get("token").is_none(),
        "the token is shown only once"
    );
    assert!(!listed.to_string().contains(&token));

    let script = reqwest::Client::new();
    let me = script
        .get(app.url("/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    assert_eq!(
        me.json::<Value>().await.unwrap()["email"],
        "ada@example.com"
    );

    let id = created["id"].as_str().unwrap();
    assert_eq!(ada.delete(&format!("/tokens/{id}")).await.status(), 204);
    let refused = script
        .get(app.url("/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_error(refused, 401, "unauthorized", None).await;
    assert_error(
        ada.delete(&format!("/tokens/{id}")).await,
        404,
        "not_found",
        None,
    )
    .await;
    let garbage = script
        .get(app.url("/api/v1/me"))
        .bearer_auth("sy_not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(garbage.status(), 401);
}
