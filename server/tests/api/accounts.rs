//! Registration, sign-in, sessions, throttling and password changes.

use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, assert_error, browser},
    on_both_backends,
};

on_both_backends!(
    registering_signs_in_with_a_safe_cookie,
    bad_registrations_name_the_field,
    signing_in_and_out,
    repeated_failures_are_throttled_without_revealing_accounts,
    a_password_change_ends_other_sessions,
);

async fn registering_signs_in_with_a_safe_cookie(app: TestApp) {
    let client = browser();
    let response = client
        .post(app.url("/api/v1/auth/register"))
        .json(&json!({"email": " Ada@Example.com ", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("switchyard_session="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("Secure"),
        "plain http is not marked Secure"
    );
    let account: Value = response.json().await.unwrap();
    assert_eq!(account["email"], "ada@example.com");
    assert!(account.get("password_hash").is_none());
    let me: Value = client
        .get(app.url("/api/v1/me"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["id"], account["id"]);
}

async fn bad_registrations_name_the_field(app: TestApp) {
    let register = |body: Value| {
        let client = browser();
        let url = app.url("/api/v1/auth/register");
        async move { client.post(url).json(&body).send().await.unwrap() }
    };
    assert_error(
        register(json!({"email": "nope", "password": "correct horse battery"})).await,
        422,
        "invalid",
        Some("email"),
    )
    .await;
    assert_error(
        register(json!({"email": "a@b.io", "password": "short"})).await,
        422,
        "invalid",
        Some("password"),
    )
    .await;
    assert_error(
        register(json!({"email": "a@b.io"})).await,
        422,
        "invalid",
        None,
    )
    .await;
    assert_error(
        register(json!({"email": "a@b.io", "password": 12345678901_u64})).await,
        422,
        "invalid",
        Some("password"),
    )
    .await;
    assert_error(
        register(json!({"email": "a@b.io", "password": "correct horse battery", "admin": true}))
            .await,
        422,
        "invalid",
        None,
    )
    .await;
    app.user("taken@b.io").await;
    assert_error(
        register(json!({"email": "TAKEN@b.io", "password": "correct horse battery"})).await,
        409,
        "conflict",
        None,
    )
    .await;
}

async fn signing_in_and_out(app: TestApp) {
    app.user("ada@example.com").await;
    let client = browser();
    let login = |password: &str| {
        client
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"email": "ada@example.com", "password": password}))
            .send()
    };
    assert_error(
        login("wrong password!").await.unwrap(),
        401,
        "unauthorized",
        None,
    )
    .await;
    assert_eq!(
        client
            .get(app.url("/api/v1/me"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(login("correct horse battery").await.unwrap().status(), 200);
    assert_eq!(
        client
            .get(app.url("/api/v1/me"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        client
            .post(app.url("/api/v1/auth/logout"))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    assert_error(
        client.get(app.url("/api/v1/me")).send().await.unwrap(),
        401,
        "unauthorized",
        None,
    )
    .await;
}

async fn repeated_failures_are_throttled_without_revealing_accounts(app: TestApp) {
    app.user("ada@example.com").await;
    for email in ["ada@example.com", "nobody@example.com"] {
        let client = browser();
        let mut last = None;
        for _ in 0..6 {
            let response = client
                .post(app.url("/api/v1/auth/login"))
                .json(&json!({"email": email, "password": "not the password"}))
                .send()
                .await
                .unwrap();
            last = Some(response);
        }
        let response = last.unwrap();
        assert_eq!(response.status(), 429, "{email}");
        let retry_after: u64 = response.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(retry_after > 0);
        assert_error(response, 429, "too_many_requests", None).await;
    }
    // Even the right password waits out the lock.
    let response = browser()
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": "ada@example.com", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
}

async fn a_password_change_ends_other_sessions(app: TestApp) {
    let ada = app.user("ada@example.com").await;
    let laptop = browser();
    let login = laptop
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": "ada@example.com", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    assert_error(
        ada.post(
            "/me/password",
            json!({"current_password": "wrong wrong wrong", "new_password": "a new long password"}),
        )
        .await,
        422,
        "invalid",
        Some("current_password"),
    )
    .await;
    let changed = ada.post("/me/password", json!({"current_password": "correct horse battery", "new_password": "a new long password"})).await;
    assert_eq!(changed.status(), 204);
    assert_eq!(
        ada.get("/me").await.status(),
        200,
        "the session that changed it continues"
    );
    assert_eq!(
        laptop
            .get(app.url("/api/v1/me"))
            .send()
            .await
            .unwrap()
            .status(),
        401,
        "other sessions end"
    );
    let relogin = browser()
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": "ada@example.com", "password": "a new long password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(relogin.status(), 200);
}
