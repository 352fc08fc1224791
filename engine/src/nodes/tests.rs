//! The built-in catalogue against the validator: every kind's fields are
//! enforced, and a sample of each kind validates.

use model::validate::{Severity, validate};
use serde_json::json;

use super::Registry;

fn problems(nodes: serde_json::Value, edges: serde_json::Value) -> Vec<String> {
    let def = serde_json::from_value(json!({"name": "t", "nodes": nodes, "edges": edges})).unwrap();
    validate(&def, Registry::builtin().catalogue())
        .into_iter()
        .filter(|p| p.severity == Severity::Error)
        .map(|p| {
            format!(
                "{}|{}|{}",
                p.node_id.unwrap_or_default(),
                p.field.unwrap_or_default(),
                p.message
            )
        })
        .collect()
}

#[test]
fn one_example_of_every_kind_is_valid() {
    let nodes = json!([
        {"id": "start", "kind": "manual_trigger", "config": {"sample_input": {"email": "a@b.c"}}},
        {"id": "fetch", "kind": "http_request", "config": {
            "method": "POST", "url": "https://api.example.com/customers", "query": {"page": 1},
            "headers": {"Accept": "application/json"}, "body": {"email": "{{ trigger.email }}"}, "body_type": "json",
            "timeout_ms": 5000, "auth": {"type": "bearer", "token": "abc"}, "send_idempotency_key": true}},
        {"id": "shape", "kind": "transform", "config": {"template": {"id": "{{ steps.fetch.output.body.id }}"}}},
        {"id": "big", "kind": "condition", "config": {"expression": "{{ steps.fetch.output.body.amount > 100 }}"}},
        {"id": "route", "kind": "switch", "config": {"cases": [{"port": "eu", "expression": "{{ steps.fetch.output.body.region == 'eu' }}"}]}},
        {"id": "wait", "kind": "delay", "config": {"duration_ms": 1000}},
        {"id": "each", "kind": "loop", "config": {"items": "{{ steps.fetch.output.body.lines }}", "concurrency": 2}},
        {"id": "line", "kind": "transform", "config": {"template": {"n": "{{ index }}", "line": "{{ item }}"}}},
        {"id": "join", "kind": "merge"},
        {"id": "stop", "kind": "stop_and_fail", "config": {"message": "Region {{ steps.route.output.port }} unsupported"}}
    ]);
    let edges = json!([
        {"source": "start", "target": "fetch"},
        {"source": "fetch", "target": "shape"},
        {"source": "fetch", "target": "big"},
        {"source": "big", "source_port": "true", "target": "route"},
        {"source": "route", "source_port": "eu", "target": "wait"},
        {"source": "route", "source_port": "default", "target": "stop"},
        {"source": "big", "source_port": "false", "target": "each"},
        {"source": "each", "source_port": "body", "target": "line"},
        {"source": "each", "target": "join"},
        {"source": "wait", "target": "join"}
    ]);
    assert_eq!(problems(nodes, edges), Vec::<String>::new());
}

#[test]
fn every_trigger_kind_is_known_and_configurable() {
    for (kind, config) in [
        (
            "webhook_trigger",
            json!({"methods": ["POST"], "signature": {"scheme": "github", "secret": "s"}, "dedupe_header": "X-GitHub-Delivery", "respond": "accepted"}),
        ),
        (
            "schedule_trigger",
            json!({"cron": "0 9 * * 1-5", "timezone": "Europe/Berlin", "missed": "run_once"}),
        ),
        (
            "event_trigger",
            json!({"type": "customer.created", "filter": "{{ data.plan == 'pro' }}"}),
        ),
    ] {
        assert_eq!(
            problems(
                json!([{"id": "t", "kind": kind, "config": config}]),
                json!([])
            ),
            Vec::<String>::new(),
            "{kind}"
        );
    }
    let bad = problems(
        json!([{"id": "t", "kind": "webhook_trigger", "config": {"methods": ["BREW"], "respond": "later"}}]),
        json!([]),
    );
    assert!(
        bad.iter().any(|p| p.starts_with("t|config.methods|")),
        "{bad:?}"
    );
    assert!(
        bad.iter().any(|p| p.starts_with("t|config.respond|")),
        "{bad:?}"
    );
}

#[test]
fn kind_specific_mistakes_are_caught() {
    let start = json!({"id": "start", "kind": "manual_trigger"});
    for (node, expected) in [
        (
            json!({"id": "n", "kind": "http_request", "config": {"url": "https://x", "body_type": "xml"}}),
            "n|config.body_type|",
        ),
        (
            json!({"id": "n", "kind": "http_request", "config": {"url": "https://x", "auth": {"token": "t"}}}),
            "n|config.auth.type|",
        ),
        (
            json!({"id": "n", "kind": "delay", "config": {}}),
            "n|config.duration_ms|set duration_ms or until",
        ),
        (
            json!({"id": "n", "kind": "delay", "config": {"until": "tomorrow"}}),
            "n|config.until|",
        ),
        (
            json!({"id": "n", "kind": "loop", "config": {"items": "{{ trigger.list }}", "concurrency": 500}}),
            "n|config.concurrency|",
        ),
        (
            json!({"id": "n", "kind": "switch", "config": {"cases": []}}),
            "n|config.cases|",
        ),
        (
            json!({"id": "n", "kind": "stop_and_fail", "config": {}}),
            "n|config.message|",
        ),
        (
            json!({"id": "n", "kind": "transform", "config": {"template": "{{ trigger.x | }}"}}),
            "n|config.template|expression error",
        ),
    ] {
        let found = problems(
            json!([start, node]),
            json!([{"source": "start", "target": "n"}]),
        );
        assert!(
            found.iter().any(|p| p.starts_with(expected)),
            "expected {expected:?} in {found:?}"
        );
    }
}

#[test]
fn catalogue_lists_every_builtin_kind_once() {
    let registry = Registry::builtin();
    let kinds: Vec<&str> = registry
        .catalogue()
        .kinds
        .iter()
        .map(|k| k.kind.as_str())
        .collect();
    let unique: std::collections::HashSet<&&str> = kinds.iter().collect();
    assert_eq!(unique.len(), kinds.len(), "a kind is listed twice");
    let mut builtin: Vec<&str> = kinds.iter().copied().filter(|k| !k.contains('.')).collect();
    builtin.sort();
    assert_eq!(
        builtin,
        [
            "condition",
            "delay",
            "event_trigger",
            "http_request",
            "loop",
            "manual_trigger",
            "merge",
            "schedule_trigger",
            "stop_and_fail",
            "switch",
            "transform",
            "webhook_trigger"
        ]
    );
    // Integrations are `<provider>.<action>`, each of a known provider.
    for kind in kinds.iter().filter(|k| k.contains('.')) {
        let provider = kind.split('.').next().unwrap_or_default();
        assert!(crate::providers::find(provider).is_some(), "{kind}");
    }
}
