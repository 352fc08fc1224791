//! The generated project's shape: files, names, variables, refusals. What
//! the code does is tested by running it (server/tests/api/export_code).

use serde_json::{Value, json};

use super::{ConnectionInfo, ExportFile, typescript};

fn definition(value: Value) -> model::WorkflowDefinition {
    serde_json::from_value(value).unwrap()
}

fn file<'a>(files: &'a [ExportFile], path: &str) -> &'a str {
    &files
        .iter()
        .find(|f| f.path == path)
        .unwrap_or_else(|| panic!("no {path}"))
        .contents
}

fn stripe() -> ConnectionInfo {
    ConnectionInfo {
        id: "7c0f3b8e-0000-4000-8000-000000000001".into(),
        name: "Stripe live".into(),
        kind: "stripe".into(),
        settings: json!({"base_url": "https://stripe.internal"})
            .as_object()
            .unwrap()
            .clone(),
    }
}

#[test]
fn steps_become_functions_and_connections_variables() {
    let def = definition(json!({
        "name": "New customers",
        "nodes": [
            {"id": "hook", "kind": "webhook_trigger", "config": {"signature": {"scheme": "stripe", "secret": "whsec_hidden"}}},
            {"id": "create-customer", "kind": "stripe.create_customer", "config": {"connection": "7c0f3b8e-0000-4000-8000-000000000001", "email": "{{ trigger.body.email }}"}},
            {"id": "switch", "kind": "transform", "config": {"template": {"id": "{{ steps['create-customer'].output.id }}"}}},
            {"id": "ping", "kind": "http_request", "config": {"url": "https://example.com", "auth": {"type": "header", "name": "X-Key", "value": "k-hidden"},
                "headers": {"Authorization": "Bearer t-hidden", "X-Trace": "{{ trigger.id }}"}, "query": {"api_key": "q-hidden", "page": "1"}}}
        ],
        "edges": [
            {"source": "hook", "target": "create-customer"},
            {"source": "create-customer", "target": "switch"},
            {"source": "switch", "target": "ping"}
        ]
    }));
    let files = typescript("wf-1", &def, &[stripe()], &[]).unwrap();
    let everything: String = files.iter().map(|f| f.contents.as_str()).collect();
    for secret in ["whsec_hidden", "k-hidden", "t-hidden", "q-hidden"] {
        assert!(!everything.contains(secret), "{secret} was exported");
    }
    for path in [
        "package.json",
        "tsconfig.json",
        "README.md",
        "src/main.ts",
        "src/steps.ts",
        "src/workflow.ts",
        "src/connections.ts",
        "src/providers.ts",
        "src/switchyard/run.ts",
        "src/switchyard/webhook.ts",
    ] {
        file(&files, path);
    }
    assert!(!files.iter().any(|f| f.path.ends_with("schedule.ts")));
    let steps = file(&files, "src/steps.ts");
    assert!(
        steps.contains("export async function createCustomer("),
        "{steps}"
    );
    // `switch` is a reserved word: the function gets another name.
    assert!(
        steps.contains("export async function switchStep("),
        "{steps}"
    );
    assert!(steps.contains("connections.stripeLive()"), "{steps}");
    assert!(steps.contains("env(\"PING_AUTH_VALUE\")"), "{steps}");
    let readme = file(&files, "README.md");
    for variable in [
        "`STRIPE_LIVE_SECRET_KEY`",
        "`STRIPE_LIVE_BASE_URL`",
        "`PING_AUTH_VALUE`",
        "`PING_HEADERS_AUTHORIZATION`",
        "`PING_QUERY_API_KEY`",
        "`WEBHOOK_SECRET`",
    ] {
        assert!(readme.contains(variable), "{variable} in {readme}");
    }
    assert!(readme.contains("`https://stripe.internal`"));
    let main = file(&files, "src/main.ts");
    assert!(main.contains("process.env.WEBHOOK_SECRET"));
    let package: Value = serde_json::from_str(file(&files, "package.json")).unwrap();
    assert_eq!(package["name"], "new-customers");
    assert_eq!(package["engines"]["node"], ">=20");
    assert_eq!(package.get("dependencies"), None);
}

#[test]
fn what_cannot_be_translated_names_step_field_and_construct() {
    let refused = |node: Value| {
        let def = definition(json!({
            "name": "w",
            "nodes": [{"id": "start", "kind": "manual_trigger"}, node],
            "edges": [{"source": "start", "target": "x"}]
        }));
        typescript("wf", &def, &[], &[]).unwrap_err()
    };
    let error = refused(
        json!({"id": "x", "kind": "transform", "config": {"template": {"a": ["{{ trigger.v | map(attribute='id') }}"]}}}),
    );
    assert_eq!(
        (error.node.as_str(), error.field.as_str()),
        ("x", "template.a.0")
    );
    assert!(error.construct.contains("`map`"), "{error:?}");
    let error = refused(
        json!({"id": "x", "kind": "transform", "config": {"template": "{{ secret_thing }}"}}),
    );
    assert!(
        error.construct.contains("the variable `secret_thing`"),
        "{error:?}"
    );
    let error = refused(
        json!({"id": "x", "kind": "stripe.create_customer", "config": {"connection": "{{ trigger.which }}"}}),
    );
    assert_eq!(error.field, "connection");
    let error = refused(json!({"id": "x", "kind": "acme_api.get_widget", "config": {}}));
    assert_eq!(error.field, "kind");
    assert!(
        error
            .to_string()
            .contains("the step `x` cannot be exported")
    );
}

#[test]
fn every_action_prepared_in_code_has_its_counterpart() {
    for provider in engine::providers::builtin() {
        for action in &provider.actions {
            let kind = format!("{}.{}", provider.id, action.name);
            assert_eq!(
                action.prepare.is_some(),
                super::steps::PREPARED.contains(&kind.as_str()),
                "{kind}: prepare.ts must have what Switchyard prepares in code"
            );
            assert!(
                super::RUNTIME
                    .iter()
                    .any(|(name, code)| *name == "prepare.ts"
                        && (action.prepare.is_none() || code.contains(&format!("\"{kind}\""))))
            );
        }
    }
}
