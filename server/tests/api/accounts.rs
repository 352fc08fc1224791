//! Registration, sign-in, sessions, throttling and password changes.

use reqwest::Response;
use serde_json::{Value, json};

use crate::{
    helpers::{Backend, TestApp, assert_error, browser, spawn_app_with},
    on_both_backends,
};

on_both_backends!(
    registering_signs_in_with_a_safe_cookie,
    bad_registrations_name_the_field,
    signing_in_and_out,
    repeated_failures_are_throttled_without_revealing_accounts,
    a_password_change_ends_other_sessions,
    item6_parallel_guesses_are_checked_only_as_often_as_allowed,
    item6_registrations_of_one_address_are_limited,
    item6_password_changes_are_throttled,
    item6_a_spoofed_forwarded_for_is_ignored,
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

/// Sends one sign-in from a cookie-less client, optionally "forwarded for".
async fn sign_in(
    app: &TestApp,
    email: &str,
    password: &str,
    forwarded_for: Option<&str>,
) -> Response {
    let mut request = reqwest::Client::new()
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": email, "password": password}));
    if let Some(address) = forwarded_for {
        request = request.header("x-forwarded-for", address);
    }
    request.send().await.unwrap()
}

/// Status counts of many responses, each 429 checked for `Retry-After` and
/// the JSON error.
async fn tally(responses: Vec<Response>) -> std::collections::BTreeMap<u16, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for response in responses {
        let status = response.status().as_u16();
        *counts.entry(status).or_default() += 1;
        if status == 429 {
            assert!(response.headers().contains_key("retry-after"));
            assert_error(response, 429, "too_many_requests", None).await;
        }
    }
    counts
}

/// The throttle reserves an attempt before the slow password check, so 200
/// guesses sent at once get exactly as many checks as one account allows.
async fn item6_parallel_guesses_are_checked_only_as_often_as_allowed(app: TestApp) {
    app.user("ada@example.com").await;
    let guesses = (0..200).map(|i| {
        let app = &app;
        async move { sign_in(app, "ada@example.com", &format!("guess number {i}"), None).await }
    });
    let counts = tally(futures_util::future::join_all(guesses).await).await;
    assert_eq!(counts.get(&401), Some(&5), "{counts:?}");
    assert_eq!(counts.get(&429), Some(&195), "{counts:?}");
    // The account stays locked, even for the right password.
    let right = sign_in(&app, "ada@example.com", "correct horse battery", None).await;
    assert_error(right, 429, "too_many_requests", None).await;
}

/// Unknown addresses and registrations hash too: they are limited the same way.
async fn item6_registrations_of_one_address_are_limited(app: TestApp) {
    let attempts = (0..50).map(|_| {
        reqwest::Client::new()
            .post(app.url("/api/v1/auth/register"))
            .json(&json!({"email": "eve@example.com", "password": "correct horse battery"}))
            .send()
    });
    let responses = futures_util::future::join_all(attempts)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let counts = tally(responses).await;
    assert_eq!(counts.get(&201), Some(&1), "{counts:?}");
    assert!(
        counts.get(&201).unwrap() + counts.get(&409).unwrap_or(&0) <= 5,
        "at most five registrations of one address an hour: {counts:?}"
    );
    assert_eq!(counts.values().sum::<usize>(), 50);
}

async fn item6_password_changes_are_throttled(app: TestApp) {
    let ada = app.user("ada@example.com").await;
    // A token, so that parallel calls share no session cookie.
    let token: Value = ada
        .post("/tokens", json!({"name": "t"}))
        .await
        .json()
        .await
        .unwrap();
    let token = token["token"].as_str().unwrap().to_owned();
    let change = |current: &'static str| {
        reqwest::Client::new()
            .post(ada.url("/me/password"))
            .bearer_auth(&token)
            .json(&json!({"current_password": current, "new_password": "a new long password"}))
            .send()
    };
    let guesses =
        futures_util::future::join_all((0..20).map(|_| change("wrong wrong wrong"))).await;
    let counts = tally(guesses.into_iter().map(Result::unwrap).collect()).await;
    assert_eq!(counts.get(&422), Some(&5), "{counts:?}");
    assert_eq!(counts.get(&429), Some(&15), "{counts:?}");
    let right = change("correct horse battery").await.unwrap();
    assert_error(right, 429, "too_many_requests", None).await;
    // Signing in is a separate matter: the account is not locked out.
    let login = sign_in(&app, "ada@example.com", "correct horse battery", None).await;
    assert_eq!(login.status(), 200);
}

/// Without `SWITCHYARD_TRUSTED_PROXIES`, a client cannot pose as many by
/// sending `X-Forwarded-For`: its 21st failure from "new" addresses is refused.
async fn item6_a_spoofed_forwarded_for_is_ignored(app: TestApp) {
    for i in 0..20 {
        let response = sign_in(
            &app,
            &format!("u{i}@example.com"),
            "not the password",
            Some(&format!("203.0.113.{i}")),
        )
        .await;
        assert_eq!(response.status(), 401);
    }
    let response = sign_in(
        &app,
        "new@example.com",
        "not the password",
        Some("198.51.100.1"),
    )
    .await;
    assert_error(response, 429, "too_many_requests", None).await;
}

/// Behind a trusted proxy, each forwarded client is throttled on its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item6_trusted_proxies_forward_the_client_address() {
    let app = spawn_app_with(Backend::Sqlite, |config| {
        config.trusted_proxies = server::client_ip::TrustedProxies::parse("127.0.0.1/32").unwrap();
    })
    .await
    .unwrap();
    for i in 0..21 {
        let response = sign_in(
            &app,
            &format!("u{i}@example.com"),
            "not the password",
            Some(&format!("6.6.6.6, 203.0.113.{i}")),
        )
        .await;
        assert_eq!(response.status(), 401, "client {i} has its own limit");
    }
    for i in 0..20 {
        let response = sign_in(
            &app,
            &format!("v{i}@example.com"),
            "not the password",
            Some("198.51.100.1"),
        )
        .await;
        assert_eq!(response.status(), 401);
    }
    let response = sign_in(
        &app,
        "w@example.com",
        "not the password",
        Some("198.51.100.1"),
    )
    .await;
    assert_error(response, 429, "too_many_requests", None).await;
}
