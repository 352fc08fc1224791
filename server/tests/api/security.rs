//! Ownership and CSRF: another user's resources are indistinguishable from
//! missing ones in every endpoint, and cookie-authenticated changes from
//! other sites are refused.

use serde_json::{Value, json};
use testkit::{Reply, ScriptedServer};

use crate::{
    helpers::{TestApp, assert_error, sample_workflow},
    on_both_backends,
};

on_both_backends!(
    another_user_sees_nothing_of_mine,
    cross_site_changes_are_refused
);

async fn another_user_sees_nothing_of_mine(app: TestApp) {
    let server = ScriptedServer::start().await;
    server.script("/fail", vec![Reply::json(503, json!({}))]);
    let ada = app.user("ada@example.com").await;
    let bob = app.user("bob@example.com").await;
    let mut definition = sample_workflow("Ada's", &server.url("/fail"));
    definition["settings"] = json!({"retry": {"max_attempts": 1}});
    let workflow = ada.create_workflow(definition.clone()).await;
    let started: Value = ada
        .post(&format!("/workflows/{workflow}/execute"), json!({}))
        .await
        .json()
        .await
        .unwrap();
    let execution = started["execution_id"].as_str().unwrap().to_owned();
    ada.finished_run(&execution).await;
    let letter: Value = ada.get("/dead-letters").await.json().await.unwrap();
    let letter = letter[0]["id"].as_str().unwrap().to_owned();
    let token: Value = ada
        .post("/tokens", json!({"name": "ci"}))
        .await
        .json()
        .await
        .unwrap();
    let token = token["id"].as_str().unwrap().to_owned();

    let w = format!("/workflows/{workflow}");
    let e = format!("/executions/{execution}");
    let attempts: Vec<(&str, String, Option<Value>)> = vec![
        ("GET", w.clone(), None),
        ("PUT", w.clone(), Some(definition.clone())),
        ("DELETE", w.clone(), None),
        ("POST", format!("{w}/activate"), None),
        ("POST", format!("{w}/pause"), None),
        ("POST", format!("{w}/validate"), None),
        ("POST", format!("{w}/execute"), Some(json!({}))),
        ("GET", format!("{w}/versions"), None),
        ("GET", format!("{w}/versions/1"), None),
        ("GET", format!("{w}/audit"), None),
        ("POST", format!("{w}/duplicate"), None),
        ("GET", e.clone(), None),
        ("GET", format!("{e}/log"), None),
        ("GET", format!("{e}/events"), None),
        ("POST", format!("{e}/cancel"), None),
        ("POST", format!("{e}/retry"), None),
        ("POST", format!("/dead-letters/{letter}/redrive"), None),
        ("DELETE", format!("/tokens/{token}"), None),
    ];
    for (method, path, body) in attempts {
        let mut request = bob.client.request(method.parse().unwrap(), bob.url(&path));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        assert_eq!(
            response.status(),
            404,
            "{method} {path} must look missing to another user"
        );
        assert_error(response, 404, "not_found", None).await;
    }
    for (path, key) in [("/workflows", "items"), ("/executions", "items")] {
        let list: Value = bob.get(path).await.json().await.unwrap();
        assert_eq!(list[key], json!([]), "{path}");
    }
    assert_eq!(
        bob.get("/dead-letters")
            .await
            .json::<Value>()
            .await
            .unwrap(),
        json!([])
    );
    assert_eq!(
        bob.get("/tokens").await.json::<Value>().await.unwrap(),
        json!([])
    );
    // And all of it is still there for its owner.
    assert_eq!(ada.get(&w).await.status(), 200);
    assert_eq!(ada.get(&e).await.status(), 200);
    assert_eq!(
        ada.get("/tokens")
            .await
            .json::<Value>()
            .await
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

async fn cross_site_changes_are_refused(app: TestApp) {
    let ada = app.user("ada@example.com").await;
    let create = |header: (&'static str, &'static str)| {
        ada.client
            .post(ada.url("/workflows"))
            .header(header.0, header.1)
            .json(&sample_workflow("x", "https://a.example/x"))
            .send()
    };
    assert_error(
        create(("origin", "https://evil.example")).await.unwrap(),
        403,
        "forbidden",
        None,
    )
    .await;
    assert_error(
        create(("sec-fetch-site", "cross-site")).await.unwrap(),
        403,
        "forbidden",
        None,
    )
    .await;
    assert_eq!(
        create(("sec-fetch-site", "same-origin"))
            .await
            .unwrap()
            .status(),
        201
    );
    let own_origin: &'static str = Box::leak(app.address.clone().into_boxed_str());
    assert_eq!(create(("origin", own_origin)).await.unwrap().status(), 201);
    // Reading is never blocked, and tokens are not cookies.
    let read = ada
        .client
        .get(ada.url("/workflows"))
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
    let token: Value = ada
        .post("/tokens", json!({"name": "t"}))
        .await
        .json()
        .await
        .unwrap();
    let scripted = reqwest::Client::new()
        .post(ada.url("/workflows"))
        .bearer_auth(token["token"].as_str().unwrap())
        .header("origin", "https://evil.example")
        .json(&sample_workflow("y", "https://a.example/y"))
        .send()
        .await
        .unwrap();
    assert_eq!(scripted.status(), 201);
    let login = reqwest::Client::new()
        .post(app.url("/api/v1/auth/login"))
        .header("origin", "https://evil.example")
        .json(&json!({"email": "ada@example.com", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    assert_error(login, 403, "forbidden", None).await;
}

#[tokio::test]
async fn the_openapi_document_describes_the_api() {
    let app = crate::helpers::spawn_app(crate::helpers::Backend::Sqlite)
        .await
        .unwrap();
    let document: Value = app.get("/api/v1/openapi.json").await.json().await.unwrap();
    assert!(document["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/workflows",
        "/workflows/{id}/execute",
        "/executions/{id}",
        "/dead-letters",
        "/tokens",
        "/auth/login",
        "/executions/{id}/events",
        "/stream",
    ] {
        assert!(
            document["paths"].get(path).is_some(),
            "{path} is documented"
        );
    }
    assert!(
        document["components"]["schemas"]
            .get("WorkflowDefinition")
            .is_some()
    );
    assert!(
        document["components"]["securitySchemes"]
            .get("token")
            .is_some()
    );
}
