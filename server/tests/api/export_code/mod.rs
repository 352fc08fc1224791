//! Export as code: every template of the gallery and the workflows of
//! [`corpus`] (between them every built-in kind and every provider action)
//! are run by Switchyard, then exported, type-checked with tsc and run with
//! Node on the same input against the same local stand-ins: both make the
//! same requests and e-mails, and every step ends with the same status,
//! port and output. What the export cannot translate is refused, named.

mod corpus;
mod entry;
mod harness;

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::{
    helpers::{Backend, User, assert_error, spawn_app},
    templates::{Fakes, arrange, connect_all},
};
use harness::{
    assert_same, build, env_for, export_to, project_dir, run_exported, run_in_switchyard,
};

const PROVIDERS: &[&str] = &[
    "stripe",
    "slack",
    "mailchimp",
    "linear",
    "github",
    "twilio",
    "smtp",
    "resend",
    "sendgrid",
];

/// Runs `workflow` both ways on `input`, `script` arranging the stand-ins
/// before each run; returns the node kinds it used.
async fn compare(
    user: &User,
    fakes: &Fakes,
    name: &str,
    workflow: &str,
    input: &Value,
    script: &dyn Fn(&Fakes),
    extra_env: &[(String, String)],
) -> Vec<String> {
    script(fakes);
    let switchyard = run_in_switchyard(user, fakes, workflow, input).await;
    let dir = project_dir(name);
    let project = export_to(user, workflow, &dir).await;
    build(&dir);
    script(fakes);
    let mut env = env_for(fakes, PROVIDERS);
    env.extend(extra_env.iter().cloned());
    let exported = run_exported(fakes, &dir, &env, input).await;
    assert_same(name, &switchyard, &exported);
    assert!(!project["files"].as_array().unwrap().is_empty());
    let definition: Value = user
        .get(&format!("/workflows/{workflow}"))
        .await
        .json()
        .await
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    definition["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap().to_owned())
        .collect()
}

/// Every kind the catalogue has that the export must cover.
async fn kinds_to_cover(user: &User) -> BTreeSet<String> {
    let catalogue: Value = user.get("/node-kinds").await.json().await.unwrap();
    let kinds = catalogue["kinds"]
        .as_array()
        .or(catalogue.as_array())
        .cloned()
        .unwrap_or_default();
    kinds
        .iter()
        .filter_map(|k| k["kind"].as_str())
        // Provider triggers start runs as webhooks do; the template runs
        // use several, and their signatures are tested with the runtime.
        .filter(|k| !k.ends_with(".trigger"))
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exported_projects_do_what_switchyard_does() {
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    let user = app.user("export@example.com").await;
    let fakes = Fakes::start().await;
    connect_all(&user, &fakes, &json!(PROVIDERS)).await;
    let mut covered = BTreeSet::new();

    // An API imported from an OpenAPI document, called like the built-in ones.
    let imported = user
        .post(
            "/apis/import",
            json!({"document": crate::imported_apis::ACME, "id": "acme"}),
        )
        .await;
    assert_eq!(imported.status(), 201, "{}", imported.text().await.unwrap());
    let acme = json!({"api_key": "acme_secret_1", "base_url": fakes.remote.url("/acme/v2")});
    let created = user
        .post(
            "/connections",
            json!({"name": "acme (test)", "kind": "acme", "fields": acme}),
        )
        .await;
    assert_eq!(created.status(), 201, "{}", created.text().await.unwrap());
    let acme_env = vec![
        ("ACME_TEST_API_KEY".to_owned(), "acme_secret_1".to_owned()),
        (
            "ACME_TEST_BASE_URL".to_owned(),
            fakes.remote.url("/acme/v2"),
        ),
    ];

    let listed: Value = user.get("/templates").await.json().await.unwrap();
    for summary in listed["items"].as_array().unwrap() {
        let id = summary["id"].as_str().unwrap();
        let inputs = arrange(id, &fakes);
        let used: Value = user
            .post(&format!("/templates/{id}/use"), json!({"inputs": inputs}))
            .await
            .json()
            .await
            .unwrap();
        let workflow = used["workflow_id"].as_str().unwrap().to_owned();
        let template: Value = user
            .get(&format!("/templates/{id}"))
            .await
            .json()
            .await
            .unwrap();
        let script = |f: &Fakes| {
            arrange(id, f);
        };
        covered.extend(
            compare(
                &user,
                &fakes,
                id,
                &workflow,
                &template["sample_input"],
                &script,
                &[],
            )
            .await,
        );
    }

    let connections: Value = user.get("/connections").await.json().await.unwrap();
    let ids: Vec<(String, String)> = connections["items"]
        .as_array()
        .or(connections.as_array())
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["kind"].as_str().unwrap().to_owned(),
                c["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for case in corpus::cases(&fakes) {
        let mut env: Vec<(String, String)> = case
            .env
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        env.extend(acme_env.iter().cloned());
        let mut text = case.workflow.to_string();
        for (kind, id) in &ids {
            text = text.replace(&format!("CONN:{kind}\""), &format!("{id}\""));
        }
        let workflow = user
            .create_workflow(serde_json::from_str(&text).unwrap())
            .await;
        covered.extend(
            compare(
                &user,
                &fakes,
                case.name,
                &workflow,
                &case.input,
                &case.arrange,
                &env,
            )
            .await,
        );
    }

    let to_cover = kinds_to_cover(&user).await;
    assert!(
        to_cover.len() > 30,
        "the catalogue lists the kinds: {to_cover:?}"
    );
    let missing: Vec<String> = to_cover.difference(&covered).cloned().collect();
    assert_eq!(
        missing,
        Vec::<String>::new(),
        "kinds no exported workflow used"
    );
}

#[tokio::test]
async fn what_cannot_be_translated_is_refused_by_name() {
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    let user = app.user("refused@example.com").await;
    let workflow = user
        .create_workflow(json!({
            "name": "Unsupported",
            "nodes": [
                {"id": "start", "kind": "manual_trigger", "config": {}},
                {"id": "shape", "kind": "transform", "config": {"template": {"ids": "{{ trigger.items | map(attribute='id') | list }}"}}}
            ],
            "edges": [{"source": "start", "target": "shape"}]
        }))
        .await;
    let response = user
        .get(&format!("/workflows/{workflow}/export/typescript"))
        .await;
    let body = assert_error(
        response,
        422,
        "invalid",
        Some("nodes.shape.config.template.ids"),
    )
    .await;
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("`shape`") && message.contains("`map`"),
        "{message}"
    );

    let zip = user
        .get(&format!(
            "/workflows/{workflow}/export/typescript?format=tar"
        ))
        .await;
    assert_error(zip, 422, "invalid", Some("format")).await;
    let unknown = user
        .get(&format!(
            "/workflows/{workflow}/export/typescript?fromat=zip"
        ))
        .await;
    assert_error(unknown, 400, "bad_request", None).await;
    let missing = user
        .get("/workflows/00000000-0000-4000-8000-000000000000/export/typescript")
        .await;
    assert_error(missing, 404, "not_found", None).await;
    let malformed = user.get("/workflows/not-an-id/export/typescript").await;
    assert_error(malformed, 404, "not_found", None).await;
}

#[tokio::test]
async fn the_project_downloads_as_a_zip_without_secrets() {
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    let user = app.user("zip@example.com").await;
    let workflow = user
        .create_workflow(json!({
            "name": "Ping the shop",
            "nodes": [
                {"id": "start", "kind": "manual_trigger", "config": {}},
                {"id": "ping", "kind": "http_request", "config": {"url": "http://127.0.0.1:9/ping", "auth": {"type": "bearer", "token": "very-secret-token"}}}
            ],
            "edges": [{"source": "start", "target": "ping"}]
        }))
        .await;
    let response = user
        .get(&format!(
            "/workflows/{workflow}/export/typescript?format=zip"
        ))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/zip");
    assert!(
        response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("ping-the-shop.zip")
    );
    let bytes = response.bytes().await.unwrap();
    assert_eq!(&bytes[..2], b"PK");
    let json: Value = user
        .get(&format!("/workflows/{workflow}/export/typescript"))
        .await
        .json()
        .await
        .unwrap();
    let files: Vec<&str> = json["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    for expected in [
        "package.json",
        "tsconfig.json",
        "README.md",
        "src/main.ts",
        "src/steps.ts",
        "src/workflow.ts",
    ] {
        assert!(files.contains(&expected), "{expected} in {files:?}");
    }
    let everything = json.to_string();
    assert!(
        !everything.contains("very-secret-token"),
        "a secret was exported"
    );
    let readme = json["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "README.md")
        .unwrap()["contents"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(readme.contains("`PING_AUTH_TOKEN`"), "{readme}");
}
