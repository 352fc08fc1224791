//! Sealed values carry a key id and are bound to their record: one copied
//! into another connection does not open there, and `rotate-key` seals
//! everything anew under a new key (values sealed before key ids included)
//! so that the new key alone opens it all and the old one alone nothing.

use std::collections::BTreeMap;

use base64::{Engine, engine::general_purpose::STANDARD};
use domain::vault::{Keyring, Vault, purpose};
use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use serde_json::{Value, json};
use server::{config::RotateKey, secret_key::SecretKey};
use testkit::{Reply, ScriptedServer};
use uuid::Uuid;

use crate::{
    helpers::{TestApp, User, assert_error},
    on_both_backends,
};

on_both_backends!(
    item14_a_moved_connection_secret_does_not_open,
    item14_key_rotation_round_trip
);

async fn connection(user: &User, name: &str, token: &str) -> String {
    let created = user
        .post(
            "/connections",
            json!({"name": name, "kind": "bearer", "fields": {"token": token}}),
        )
        .await;
    assert_eq!(created.status(), 201);
    created.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn stored_connection(app: &TestApp, id: &str) -> entity::connection::Model {
    entity::connection::Entity::find_by_id(Uuid::parse_str(id).unwrap())
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
}

async fn set_sealed(app: &TestApp, id: &str, sealed: String) {
    let mut row: entity::connection::ActiveModel = stored_connection(app, id).await.into();
    row.sealed_secrets = Set(sealed);
    row.update(&app.db).await.unwrap();
}

/// Calls `/inline` with a secret written into the workflow and `/conn`
/// with a connection.
fn calling(server: &ScriptedServer, token: &str, connection: &str) -> Value {
    json!({
        "name": "Calls",
        "nodes": [
            {"id": "start", "kind": "manual_trigger"},
            {"id": "inline", "kind": "http_request", "config": {"url": server.url("/inline"),
                "auth": {"type": "bearer", "token": token}}},
            {"id": "conn", "kind": "http_request", "config": {"url": server.url("/conn"),
                "connection_id": connection}}
        ],
        "edges": [{"source": "start", "target": "inline"}, {"source": "inline", "target": "conn"}],
        "settings": {"retry": {"max_attempts": 1}}
    })
}

async fn run(user: &User, workflow: &str) -> Value {
    let started: Value = user
        .post(&format!("/workflows/{workflow}/execute"), json!({}))
        .await
        .json()
        .await
        .unwrap();
    user.finished_run(started["execution_id"].as_str().unwrap())
        .await
}

fn authorizations(server: &ScriptedServer, path: &str) -> Vec<String> {
    server
        .received(path)
        .iter()
        .map(|r| r.headers["authorization"].to_str().unwrap().to_owned())
        .collect()
}

async fn item14_a_moved_connection_secret_does_not_open(app: TestApp) {
    let server = ScriptedServer::start().await;
    server.script("/conn", vec![Reply::json(200, json!({}))]);
    server.script("/inline", vec![Reply::json(200, json!({}))]);
    let ada = app.user("ada@example.com").await;
    let first = connection(&ada, "First", "sk_test_first").await;
    let second = connection(&ada, "Second", "sk_test_second").await;
    let copied = stored_connection(&app, &first).await.sealed_secrets;
    set_sealed(&app, &second, copied).await;

    // Shown as needing its secrets again, not as having them.
    let shown: Value = ada
        .get(&format!("/connections/{second}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(shown["secrets"], json!([]), "{shown}");
    assert_eq!(shown["settings"]["status"], "reconnect", "{shown}");
    let reason = shown["settings"]["status_reason"].as_str().unwrap();
    assert!(reason.contains("sealed for another record"), "{reason}");
    let listed = ada.get("/connections").await;
    assert_eq!(listed.status(), 200, "the others are still listed");

    // A step using it fails, saying why, and the secret is never sent.
    let workflow = ada
        .create_workflow(calling(&server, "tok-inline", &second))
        .await;
    let failed = run(&ada, &workflow).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    assert!(
        failed.to_string().contains("stored secrets cannot be used"),
        "{failed}"
    );
    assert!(server.received("/conn").is_empty(), "nothing was sent");

    // Renaming alone is refused, naming the field; new secrets fix it.
    assert_error(
        ada.put(
            &format!("/connections/{second}"),
            json!({"name": "Renamed"}),
        )
        .await,
        422,
        "invalid",
        Some("secrets"),
    )
    .await;
    let fixed = ada
        .put(
            &format!("/connections/{second}"),
            json!({"fields": {"token": "sk_test_again"}}),
        )
        .await;
    assert_eq!(fixed.status(), 200);
    let fixed: Value = fixed.json().await.unwrap();
    assert_eq!(fixed["secrets"], json!(["token"]), "{fixed}");
    assert!(fixed["settings"].get("status").is_none(), "{fixed}");
    let ran = run(&ada, &workflow).await;
    assert_eq!(ran["status"], "succeeded", "{ran}");
    assert_eq!(authorizations(&server, "/conn"), ["Bearer sk_test_again"]);
}

/// Every stored sealed text, by where it is: connections, the workflow,
/// its versions, the registered webhook.
async fn sealed_texts(app: &TestApp) -> BTreeMap<String, String> {
    let mut texts = BTreeMap::new();
    for c in entity::connection::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
    {
        texts.insert(format!("connection {}", c.id), c.sealed_secrets);
    }
    for r in entity::webhook_registration::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
    {
        texts.insert(format!("registration {}", r.workflow_id), r.sealed_secret);
    }
    let token = |definition: &Value| {
        definition["nodes"][1]["config"]["auth"]["token"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    for w in entity::workflow::Entity::find().all(&app.db).await.unwrap() {
        texts.insert(format!("workflow {}", w.id), token(&w.definition));
    }
    for v in entity::workflow_version::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
    {
        texts.insert(format!("version {}", v.version), token(&v.definition));
    }
    texts
}

async fn rotate(app: &TestApp, new: &SecretKey, old: &SecretKey) -> (bool, String) {
    let mut config = app.config();
    config.secret_key = Some(new.clone());
    config.previous_secret_keys = vec![old.clone()];
    let mut out = Vec::new();
    let done = server::rotate_key::run(&config, &RotateKey { batch_size: 1 }, &mut out)
        .await
        .unwrap();
    (done, String::from_utf8(out).unwrap())
}

async fn item14_key_rotation_round_trip(app: TestApp) {
    let mut app = app;
    let (key_a, key_b) = (SecretKey::generate(), SecretKey::generate());
    let (id_a, id_b) = (
        Vault::key_id_of(key_a.bytes()),
        Vault::key_id_of(key_b.bytes()),
    );
    app.restart_with(|c| c.secret_key = Some(key_a.clone()))
        .await;
    let server = ScriptedServer::start().await;
    server.script("/conn", vec![Reply::json(200, json!({}))]);
    server.script("/inline", vec![Reply::json(200, json!({}))]);
    let ada = app.user("ada@example.com").await;

    // Under key A: a connection, one stored as before key ids (unbound
    // bare base64), a workflow with a secret in two saved versions, and a
    // registered webhook's signing secret.
    let bound = connection(&ada, "Bound", "sk_test_bound").await;
    let legacy = connection(&ada, "Legacy", "placeholder").await;
    let old_vault = Keyring::new(*key_a.bytes(), vec![]).vault(purpose::CONNECTIONS);
    let unbound = old_vault
        .seal(br#"{"token":"sk_test_legacy"}"#, b"")
        .unwrap();
    set_sealed(
        &app,
        &legacy,
        unbound.rsplit_once(':').unwrap().1.to_owned(),
    )
    .await;
    let workflow = ada
        .create_workflow(calling(&server, "tok-first", &bound))
        .await;
    let saved = ada
        .put(
            &format!("/workflows/{workflow}"),
            calling(&server, "tok-inline", &legacy),
        )
        .await;
    assert_eq!(saved.status(), 200);
    let workflow_id = Uuid::parse_str(&workflow).unwrap();
    let workflow_vault =
        |key: &SecretKey| Keyring::new(*key.bytes(), vec![]).vault(purpose::WORKFLOW_SECRETS);
    entity::webhook_registration::ActiveModel {
        workflow_id: Set(workflow_id),
        provider: Set("stripe".into()),
        connection_id: Set(Uuid::parse_str(&bound).unwrap()),
        remote_id: Set("we_1".into()),
        url: Set("https://example.com/hook".into()),
        sealed_secret: Set(domain::webhook_registrations::seal(
            &workflow_vault(&key_a),
            workflow_id,
            b"whsec_rotate",
        )
        .unwrap()),
        created_at: Set(0),
    }
    .insert(&app.db)
    .await
    .unwrap();
    server.script("/alerts", vec![Reply::json(200, json!({}))]);
    let channel: Value = ada
        .post(
            "/notification-channels",
            json!({"kind": "webhook", "name": "Pager", "config": {"url": server.url("/alerts"), "secret": "whsec_channel_0123456789"}}),
        )
        .await
        .json()
        .await
        .unwrap();
    let channel = channel["id"].as_str().unwrap().to_owned();
    let before = sealed_texts(&app).await;
    assert_eq!(before.len(), 6, "{before:?}");
    let ran = run(&ada, &workflow).await;
    assert_eq!(ran["status"], "succeeded", "{ran}");

    // Rotated to key B, in batches of one; a second run finds nothing to do.
    let (done, output) = rotate(&app, &key_b, &key_a).await;
    assert!(done, "{output}");
    for line in [
        format!("under key {id_b}, opening values of keys {id_a}"),
        "connections: 2 rows, 2 values sealed anew".into(),
        "webhook_registrations: 1 rows, 1 values sealed anew".into(),
        "workflows: 1 rows, 1 values sealed anew".into(),
        "workflow_versions: 2 rows, 2 values sealed anew".into(),
        "notification_channels: 1 rows, 1 values sealed anew".into(),
    ] {
        assert!(output.contains(&line), "{line:?} not in {output}");
    }
    let (done, again) = rotate(&app, &key_b, &key_a).await;
    assert!(done, "{again}");
    assert!(
        again.contains("connections: 2 rows, 0 values sealed anew, 2 rows already under key"),
        "{again}"
    );
    assert!(
        again.contains("workflow_versions: 2 rows, 0 values sealed anew"),
        "{again}"
    );
    for text in [&output, &again] {
        for secret in [
            "sk_test",
            "tok-",
            "whsec",
            &STANDARD.encode(key_a.bytes()),
            &STANDARD.encode(key_b.bytes()),
        ] {
            assert!(!text.contains(secret), "{secret} printed: {text}");
        }
    }
    let after = sealed_texts(&app).await;
    assert_eq!(after.len(), 6);
    for (place, new) in &after {
        assert_ne!(&before[place], new, "{place}");
        let new = new.strip_prefix("sealed:").unwrap_or(new);
        assert!(new.starts_with(&format!("v3:{id_b}:")), "{new}");
    }

    // With key B alone, everything opens.
    app.restart_with(|c| c.secret_key = Some(key_b.clone()))
        .await;
    let ada = ada.on(&app);
    let listed: Value = ada.get("/connections").await.json().await.unwrap();
    for shown in listed.as_array().unwrap() {
        assert_eq!(shown["secrets"], json!(["token"]), "{shown}");
        assert!(shown["settings"].get("status").is_none(), "{shown}");
    }
    let ran = run(&ada, &workflow).await;
    assert_eq!(ran["status"], "succeeded", "{ran}");
    assert_eq!(
        authorizations(&server, "/inline"),
        ["Bearer tok-inline", "Bearer tok-inline"]
    );
    assert_eq!(
        authorizations(&server, "/conn"),
        ["Bearer sk_test_legacy", "Bearer sk_test_legacy"]
    );
    let secret =
        domain::webhook_registrations::secret(&app.db, &workflow_vault(&key_b), workflow_id)
            .await
            .unwrap();
    assert_eq!(secret.as_deref(), Some("whsec_rotate"));
    let tested: Value = ada
        .post(
            &format!("/notification-channels/{channel}/test"),
            json!(null),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        tested["delivered"], true,
        "the channel's secret opens under key B"
    );

    // With key A alone, nothing does.
    app.restart_with(|c| c.secret_key = Some(key_a.clone()))
        .await;
    let ada = ada.on(&app);
    let shown: Value = ada
        .get(&format!("/connections/{bound}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(shown["secrets"], json!([]), "{shown}");
    let reason = shown["settings"]["status_reason"].as_str().unwrap();
    assert!(
        reason.contains(&format!("sealed under key {id_b}")),
        "{reason}"
    );
    let failed = run(&ada, &workflow).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    assert_eq!(server.received("/inline").len(), 2, "nothing more was sent");
    assert!(
        domain::webhook_registrations::secret(&app.db, &workflow_vault(&key_a), workflow_id)
            .await
            .is_err()
    );
}
