//! "Connect": the OAuth 2 authorization-code flow with PKCE against a local
//! fake provider (its token endpoint scripted; the browser's trip to its
//! authorize page simulated by reading the URL Switchyard answers), and
//! "used by" for connections.

use std::collections::HashMap;

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::{Value, json};
use testkit::{Reply, ScriptedServer};

use crate::{
    helpers::{TestApp, User, assert_error},
    on_both_backends,
};

on_both_backends!(
    oauth_authorization_code_round_trip,
    oauth_callbacks_refuse_reused_foreign_expired_and_denied_states,
    connections_say_which_workflows_use_them
);

/// The query of a URL as a map (first value of each name).
fn query_of(url: &str) -> HashMap<String, String> {
    let url = url::Url::parse(url).unwrap();
    let mut map = HashMap::new();
    for (name, value) in url.query_pairs() {
        map.entry(name.into_owned())
            .or_insert_with(|| value.into_owned());
    }
    map
}

fn form_of(body: &[u8]) -> HashMap<String, String> {
    form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

async fn oauth_connection(user: &User, provider: &ScriptedServer) -> String {
    let created = user
        .post(
            "/connections",
            json!({"name": "Acme", "kind": "oauth2", "fields": {
                "authorize_url": provider.url("/authorize?tenant=t1"),
                "token_url": provider.url("/token"),
                "client_id": "switchyard-app", "client_secret": "cl1ent-s3cret",
                "scope": "orders:read offline_access"}}),
        )
        .await;
    assert_eq!(created.status(), 201, "{}", created.text().await.unwrap());
    let created: Value = created.json().await.unwrap();
    created["id"].as_str().unwrap().to_owned()
}

/// Asks to connect and answers the `state` of the provider URL.
async fn start(user: &User, id: &str) -> (String, HashMap<String, String>) {
    let response = user
        .post(&format!("/connections/{id}/authorize"), json!({}))
        .await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    let url = response.json::<Value>().await.unwrap()["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let query = query_of(&url);
    (query["state"].clone(), query)
}

/// Follows the provider's redirect back; answers where Switchyard sends
/// the browser next.
async fn come_back(app: &TestApp, user: &User, query: &str) -> String {
    let response = user
        .client
        .get(app.url(&format!("/oauth/callback?{query}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303, "{}", response.text().await.unwrap());
    response.headers()["location"].to_str().unwrap().to_owned()
}

async fn run_orders(user: &User, workflow: &str) -> Value {
    let started: Value = user
        .post(&format!("/workflows/{workflow}/execute"), json!({}))
        .await
        .json()
        .await
        .unwrap();
    user.finished_run(started["execution_id"].as_str().unwrap())
        .await
}

async fn oauth_authorization_code_round_trip(app: TestApp) {
    let provider = ScriptedServer::start().await;
    provider.script(
        "/token",
        vec![Reply::json(
            200,
            json!({"access_token": "acc3ss-1", "refresh_token": "r3fresh-1",
                   "expires_in": 3600, "token_type": "Bearer"}),
        )],
    );
    provider.script("/orders", vec![Reply::json(200, json!({"orders": []}))]);
    let ada = app.user("ada@example.com").await;
    let id = oauth_connection(&ada, &provider).await;
    let workflow = ada
        .create_workflow(json!({
            "name": "Orders",
            "nodes": [
                {"id": "start", "kind": "manual_trigger"},
                {"id": "orders", "kind": "http_request", "config": {"url": provider.url("/orders"), "connection_id": id}}
            ],
            "edges": [{"source": "start", "target": "orders"}]
        }))
        .await;
    // Not connected yet: the step says what to do, and calls nobody.
    let run = run_orders(&ada, &workflow).await;
    assert_eq!(run["status"], "failed", "{run}");
    assert!(run.to_string().contains("press Connect"), "{run}");
    assert!(provider.received("/orders").is_empty());

    let (state, query) = start(&ada, &id).await;
    let redirect_uri = app.url("/oauth/callback");
    assert_eq!(query["response_type"], "code");
    assert_eq!(query["client_id"], "switchyard-app");
    assert_eq!(query["redirect_uri"], redirect_uri);
    assert_eq!(query["scope"], "orders:read offline_access");
    assert_eq!(query["code_challenge_method"], "S256");
    assert_eq!(
        query["tenant"], "t1",
        "the authorize URL's own query is kept"
    );
    assert!(state.len() >= 22, "at least 128 bits: {state}");
    assert!(!query.values().any(|v| v.contains("cl1ent-s3cret")));

    let location = come_back(&app, &ada, &format!("code=c0de-1&state={state}")).await;
    assert_eq!(location, format!("/connections?connected={id}"));

    let exchanges = provider.received("/token");
    assert_eq!(exchanges.len(), 1);
    assert_eq!(exchanges[0].method, "POST");
    assert!(exchanges[0].headers.get("authorization").is_none());
    let form = form_of(&exchanges[0].body);
    let verifier = form["code_verifier"].clone();
    assert_eq!(
        domain::connection_oauth::code_challenge(&verifier),
        query["code_challenge"],
        "the verifier matches the challenge"
    );
    assert!((43..=128).contains(&verifier.len()));
    let expected: HashMap<String, String> = [
        ("grant_type", "authorization_code"),
        ("code", "c0de-1"),
        ("redirect_uri", redirect_uri.as_str()),
        ("client_id", "switchyard-app"),
        ("client_secret", "cl1ent-s3cret"),
        ("code_verifier", verifier.as_str()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(form, expected, "exactly these fields");

    // Stored, never shown.
    let view: Value = ada
        .get(&format!("/connections/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        view["secrets"],
        json!(["access_token", "client_secret", "refresh_token"])
    );
    assert!(view["settings"]["expires_at"].as_str().is_some(), "{view}");
    assert!(!view.to_string().contains("acc3ss-1") && !view.to_string().contains("r3fresh-1"));

    // A step using the connection sends the token.
    let run = run_orders(&ada, &workflow).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(
        provider.received("/orders")[0].headers["authorization"],
        "Bearer acc3ss-1"
    );
    assert!(!run.to_string().contains("acc3ss-1"));

    // Reconnecting clears the status and replaces the tokens.
    let connection = entity::connection::Entity::find_by_id(uuid::Uuid::parse_str(&id).unwrap())
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let mut settings = connection.settings.clone();
    settings["status"] = json!("reconnect");
    settings["status_reason"] = json!("the service refused its refresh token (invalid_grant)");
    entity::connection::Entity::update_many()
        .col_expr(entity::connection::Column::Settings, Expr::value(settings))
        .filter(entity::connection::Column::Id.eq(connection.id))
        .exec(&app.db)
        .await
        .unwrap();
    provider.script(
        "/token",
        vec![Reply::json(200, json!({"access_token": "acc3ss-2"}))],
    );
    let (state, _) = start(&ada, &id).await;
    let location = come_back(&app, &ada, &format!("state={state}&code=c0de-2")).await;
    assert_eq!(location, format!("/connections?connected={id}"));
    let view: Value = ada
        .get(&format!("/connections/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert!(view["settings"].get("status").is_none(), "{view}");
    assert_eq!(
        view["secrets"],
        json!(["access_token", "client_secret"]),
        "the refused refresh token is dropped"
    );

    let audit = domain::audit::list(&app.db, uuid::Uuid::parse_str(&ada.id).unwrap(), None, 10)
        .await
        .unwrap();
    let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == "connection.authorized")
            .count(),
        2,
        "{actions:?}"
    );
    assert!(!format!("{:?}", audit).contains("acc3ss"));
}

async fn oauth_callbacks_refuse_reused_foreign_expired_and_denied_states(app: TestApp) {
    let provider = ScriptedServer::start().await;
    provider.script(
        "/token",
        vec![Reply::json(200, json!({"access_token": "acc3ss-1"}))],
    );
    let ada = app.user("ada@example.com").await;
    let bob = app.user("bob@example.com").await;
    let id = oauth_connection(&ada, &provider).await;

    // Used once, then refused.
    let (state, _) = start(&ada, &id).await;
    let back = format!("code=c0de&state={state}");
    assert_eq!(
        come_back(&app, &ada, &back).await,
        format!("/connections?connected={id}")
    );
    assert_eq!(
        come_back(&app, &ada, &back).await,
        "/connections?error=state_used"
    );

    // Another user's session, or no session, cannot use a state; its owner still can.
    let (state, _) = start(&ada, &id).await;
    let back = format!("code=c0de&state={state}");
    assert_eq!(
        come_back(&app, &bob, &back).await,
        "/connections?error=other_session"
    );
    let stranger = User {
        client: crate::helpers::browser(),
        base: app.address.clone(),
        id: String::new(),
    };
    assert_eq!(
        come_back(&app, &stranger, &back).await,
        "/connections?error=other_session"
    );
    // The provider refused: the state is spent, no token is asked for.
    assert_eq!(
        come_back(&app, &ada, &format!("error=access_denied&state={state}")).await,
        "/connections?error=denied&reason=access_denied"
    );
    assert_eq!(provider.received("/token").len(), 1);

    // Expired.
    let (state, _) = start(&ada, &id).await;
    entity::oauth_state::Entity::update_many()
        .col_expr(
            entity::oauth_state::Column::ExpiresAt,
            Expr::value(chrono::Utc::now().timestamp_millis() - 1),
        )
        .filter(entity::oauth_state::Column::UsedAt.is_null())
        .exec(&app.db)
        .await
        .unwrap();
    assert_eq!(
        come_back(&app, &ada, &format!("code=c0de&state={state}")).await,
        "/connections?error=state_expired"
    );
    assert_eq!(
        come_back(&app, &ada, "code=c0de&state=made-up").await,
        "/connections?error=unknown_state"
    );
    assert_eq!(
        come_back(&app, &ada, "code=c0de").await,
        "/connections?error=no_state"
    );

    // The token endpoint refuses the code.
    provider.script(
        "/token",
        vec![Reply::json(
            400,
            json!({"error": "invalid_grant", "error_description": "code expired"}),
        )],
    );
    let (state, _) = start(&ada, &id).await;
    assert_eq!(
        come_back(&app, &ada, &format!("code=c0de&state={state}")).await,
        "/connections?error=token_refused&reason=400%2C+invalid_grant"
    );

    // A token endpoint that redirects is not followed: the code and the
    // client secret go nowhere else.
    provider.script(
        "/token",
        vec![Reply::json(307, json!({})).header("location", &provider.url("/elsewhere"))],
    );
    let (state, _) = start(&ada, &id).await;
    assert_eq!(
        come_back(&app, &ada, &format!("code=c0de&state={state}")).await,
        "/connections?error=token_refused&reason=307"
    );
    assert!(provider.received("/elsewhere").is_empty());

    // Only oauth2 connections with an authorize URL, only their owner,
    // only from a browser session.
    assert_error(
        bob.post(&format!("/connections/{id}/authorize"), json!({}))
            .await,
        404,
        "not_found",
        None,
    )
    .await;
    let bearer: Value = ada
        .post(
            "/connections",
            json!({"name": "Key", "kind": "bearer", "fields": {"token": "k"}}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_error(
        ada.post(
            &format!("/connections/{}/authorize", bearer["id"].as_str().unwrap()),
            json!({}),
        )
        .await,
        422,
        "invalid",
        Some("kind"),
    )
    .await;
    let typed: Value = ada
        .post(
            "/connections",
            json!({"name": "Typed", "kind": "oauth2", "fields": {
                "token_url": provider.url("/token"), "client_id": "c", "access_token": "t"}}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_error(
        ada.post(
            &format!("/connections/{}/authorize", typed["id"].as_str().unwrap()),
            json!({}),
        )
        .await,
        422,
        "invalid",
        Some("fields.authorize_url"),
    )
    .await;
    assert_error(
        ada.post(
            "/connections",
            json!({"name": "Neither", "kind": "oauth2", "fields": {
                "token_url": provider.url("/token"), "client_id": "c"}}),
        )
        .await,
        422,
        "invalid",
        Some("fields.access_token"),
    )
    .await;
    let token: Value = ada
        .post("/tokens", json!({"name": "script"}))
        .await
        .json()
        .await
        .unwrap();
    let response = reqwest::Client::new()
        .post(app.url(&format!("/api/v1/connections/{id}/authorize")))
        .bearer_auth(token["token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_error(response, 422, "invalid", Some("session")).await;
}

async fn connections_say_which_workflows_use_them(app: TestApp) {
    let ada = app.user("ada@example.com").await;
    let connection: Value = ada
        .post(
            "/connections",
            json!({"name": "Key", "kind": "bearer", "fields": {"token": "k"}}),
        )
        .await
        .json()
        .await
        .unwrap();
    let id = connection["id"].as_str().unwrap();
    assert_eq!(
        ada.get(&format!("/connections/{id}/usage"))
            .await
            .json::<Value>()
            .await
            .unwrap(),
        json!([])
    );
    let using = ada
        .create_workflow(json!({
            "name": "Uses it",
            "nodes": [
                {"id": "start", "kind": "manual_trigger"},
                {"id": "call", "kind": "http_request", "config": {"url": "http://127.0.0.1:9/x", "connection_id": id}}
            ],
            "edges": [{"source": "start", "target": "call"}]
        }))
        .await;
    ada.create_workflow(crate::helpers::sample_workflow(
        "Does not",
        "http://127.0.0.1:9/y",
    ))
    .await;
    let usage: Value = ada
        .get(&format!("/connections/{id}/usage"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(usage.as_array().unwrap().len(), 1, "{usage}");
    assert_eq!(usage[0]["workflow_id"], using);
    assert_eq!(usage[0]["workflow_name"], "Uses it");
    assert_eq!(usage[0]["node_ids"], json!(["call"]));

    let bob = app.user("bob@example.com").await;
    assert_error(
        bob.get(&format!("/connections/{id}/usage")).await,
        404,
        "not_found",
        None,
    )
    .await;
}
