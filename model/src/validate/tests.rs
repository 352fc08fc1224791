//! Table-driven validation tests on a small catalogue, and a property test
//! that no input makes validation panic.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;
use crate::catalogue::{Category, FieldSpec, FieldType, KindSpec, Ports, Rule, single_output};

fn spec(kind: &str, category: Category, fields: Vec<FieldSpec>, ports: Ports) -> KindSpec {
    KindSpec {
        kind: kind.into(),
        label: kind.into(),
        category,
        description: String::new(),
        fields,
        ports,
        provider: None,
        output: vec![],
        rules: vec![],
    }
}

fn catalogue() -> Catalogue {
    let ports = |names: &[&str]| Ports::Fixed(names.iter().map(|s| s.to_string()).collect());
    let mut switch = spec(
        "switch",
        Category::Logic,
        vec![
            FieldSpec::new(
                "cases",
                "Cases",
                FieldType::List {
                    fields: vec![
                        FieldSpec::new("port", "Port", FieldType::text()).required(),
                        FieldSpec::new("expression", "Expression", FieldType::Expression)
                            .required(),
                    ],
                    max_items: 20,
                },
            )
            .required(),
        ],
        Ports::SwitchCases,
    );
    switch.rules.push(Rule::UniqueNames {
        list: "cases".into(),
        field: "port".into(),
        reserved: vec!["default".into(), "error".into()],
    });
    let mut delay = spec(
        "delay",
        Category::Logic,
        vec![
            FieldSpec::new(
                "duration_ms",
                "Duration",
                FieldType::Integer {
                    min: 0,
                    max: 1_000_000,
                },
            ),
            FieldSpec::new("until", "Until", FieldType::Timestamp),
        ],
        single_output(),
    );
    delay.rules.push(Rule::ExactlyOneOf {
        fields: vec!["duration_ms".into(), "until".into()],
    });
    Catalogue {
        kinds: vec![
            spec("manual_trigger", Category::Trigger, vec![], single_output()),
            spec(
                "webhook_trigger",
                Category::Trigger,
                vec![],
                single_output(),
            ),
            spec(
                "transform",
                Category::Logic,
                vec![FieldSpec::new("template", "Template", FieldType::Json).required()],
                single_output(),
            ),
            spec(
                "condition",
                Category::Logic,
                vec![FieldSpec::new("expression", "Condition", FieldType::Expression).required()],
                ports(&["true", "false"]),
            ),
            spec(
                "http_request",
                Category::Action,
                vec![
                    FieldSpec::new("url", "URL", FieldType::Url).required(),
                    FieldSpec::new("method", "Method", FieldType::select(&["GET", "POST"])),
                    FieldSpec::new("headers", "Headers", FieldType::KeyValue),
                    FieldSpec::new(
                        "timeout_ms",
                        "Timeout",
                        FieldType::Integer {
                            min: 1,
                            max: 300_000,
                        },
                    ),
                ],
                single_output(),
            ),
            spec(
                "loop",
                Category::Logic,
                vec![FieldSpec::new("items", "Items", FieldType::Expression).required()],
                ports(&["body", "out"]),
            ),
            spec("stop_and_fail", Category::Logic, vec![], ports(&[])),
            switch,
            delay,
        ],
    }
}

/// trigger → fetch → check, with `extra` merged into the document.
fn workflow(nodes: Value, edges: Value) -> WorkflowDefinition {
    serde_json::from_value(json!({"name": "Test", "nodes": nodes, "edges": edges}))
        .expect("valid document")
}

fn base_nodes() -> Value {
    json!([
        {"id": "start", "kind": "manual_trigger"},
        {"id": "fetch", "kind": "http_request", "config": {"url": "https://api.example.com/items"}},
        {"id": "check", "kind": "condition", "config": {"expression": "{{ steps.fetch.output.status == 200 }}"}}
    ])
}

fn base_edges() -> Value {
    json!([{"source": "start", "target": "fetch"}, {"source": "fetch", "target": "check"}])
}

fn messages(def: &WorkflowDefinition) -> Vec<String> {
    validate(def, &catalogue())
        .into_iter()
        .map(|p| {
            format!(
                "{:?}|{}|{}|{}",
                p.severity,
                p.node_id.unwrap_or_default(),
                p.field.unwrap_or_default(),
                p.message
            )
        })
        .collect()
}

#[test]
fn a_sound_workflow_has_no_problems() {
    assert_eq!(
        messages(&workflow(base_nodes(), base_edges())),
        Vec::<String>::new()
    );
}

/// Each case: a change to the sound workflow, and text every expected
/// problem line must contain.
#[test]
fn each_mistake_is_reported_where_it_is() {
    type Mutate = fn(&mut Value, &mut Value);
    let cases: Vec<(&str, Mutate, &[&str])> = vec![
        (
            "no trigger",
            |n, e| {
                n.as_array_mut().unwrap().remove(0);
                e.as_array_mut().unwrap().remove(0);
            },
            &["Error||nodes|the workflow needs a trigger"],
        ),
        (
            "two triggers",
            |n, _| {
                n.as_array_mut()
                    .unwrap()
                    .push(json!({"id": "hook", "kind": "webhook_trigger"}))
            },
            &["Error|hook|kind|a workflow has exactly one trigger"],
        ),
        (
            "cycle",
            |_, e| {
                e.as_array_mut()
                    .unwrap()
                    .push(json!({"source": "check", "source_port": "true", "target": "fetch"}))
            },
            &[
                "Error|fetch||part of a cycle",
                "Error|check||part of a cycle",
            ],
        ),
        (
            "dangling edge",
            |_, e| {
                e.as_array_mut()
                    .unwrap()
                    .push(json!({"source": "check", "source_port": "true", "target": "ghost"}))
            },
            &["Error|check|edges[2]|ends at `ghost`, which does not exist"],
        ),
        (
            "duplicate edge",
            |_, e| {
                e.as_array_mut()
                    .unwrap()
                    .push(json!({"source": "start", "target": "fetch"}))
            },
            &["Error|start|edges[2]|duplicate of connection 0"],
        ),
        (
            "unknown port",
            |_, e| {
                e.as_array_mut()
                    .unwrap()
                    .push(json!({"source": "check", "source_port": "maybe", "target": "fetch"}))
            },
            &[
                "Error|check|edges[2]|has no port `maybe`; its ports are: true, false",
                "Error|fetch||cycle",
                "Error|check||cycle",
            ],
        ),
        (
            "error port without routing",
            |n, e| {
                n.as_array_mut()
                    .unwrap()
                    .push(json!({"id": "fallback", "kind": "stop_and_fail"}));
                e.as_array_mut()
                    .unwrap()
                    .push(json!({"source": "fetch", "source_port": "error", "target": "fallback"}));
            },
            &["Error|fetch|edges[2]|set on_error to `route`"],
        ),
        (
            "unknown kind",
            |n, _| n[2]["kind"] = json!("teleport"),
            &["Error|check|kind|unknown node kind `teleport`"],
        ),
        (
            "missing url",
            |n, _| n[1]["config"] = json!({}),
            &["Error|fetch|config.url|URL is required"],
        ),
        (
            "bad url",
            |n, _| n[1]["config"]["url"] = json!("ftp://x"),
            &["Error|fetch|config.url|must be an http:// or https:// URL"],
        ),
        (
            "unknown config field",
            |n, _| n[1]["config"]["verb"] = json!("GET"),
            &["Error|fetch|config.verb|unknown field `verb`"],
        ),
        (
            "wrong type",
            |n, _| n[1]["config"]["timeout_ms"] = json!("soon"),
            &["Error|fetch|config.timeout_ms|must be a whole number"],
        ),
        (
            "out of range",
            |n, _| n[1]["config"]["timeout_ms"] = json!(0),
            &["Error|fetch|config.timeout_ms|between 1 and 300000"],
        ),
        (
            "bad select",
            |n, _| n[1]["config"]["method"] = json!("BREW"),
            &["Error|fetch|config.method|one of: GET, POST"],
        ),
        (
            "expression syntax",
            |n, _| n[2]["config"]["expression"] = json!("{{ steps.fetch.output.status == }}"),
            &["Error|check|config.expression|expression error: syntax error"],
        ),
        (
            "not an expression",
            |n, _| n[2]["config"]["expression"] = json!("status is 200"),
            &["Error|check|config.expression|must be written as an expression"],
        ),
        (
            "reference downstream",
            |n, _| n[1]["config"]["url"] = json!("https://x/{{ steps.check.output }}"),
            &["Error|fetch|config|refers to step `check`, which does not run before `fetch`"],
        ),
        (
            "reference unknown",
            |n, _| n[1]["config"]["headers"] = json!({"x": "{{ steps.nobody.output }}"}),
            &["Error|fetch|config|refers to step `nobody`, which does not exist"],
        ),
        (
            "bad id",
            |n, e| {
                n[2]["id"] = json!("my-check");
                e[1]["target"] = json!("my-check");
            },
            &["Error|my-check|nodes[2].id|not a valid node id"],
        ),
        (
            "duplicate id",
            |n, _| n[2]["id"] = json!("fetch"),
            &[
                "Error|fetch|nodes[2].id|two nodes share the id `fetch`",
                "Error|fetch|edges[1]|ends at `check`",
                "Warning|fetch||not connected",
                "Error|fetch|config|refers to step `fetch`",
            ],
        ),
        (
            "unreachable",
            |n, _| {
                n.as_array_mut()
                    .unwrap()
                    .push(json!({"id": "lonely", "kind": "stop_and_fail"}))
            },
            &["Warning|lonely||not connected to the trigger"],
        ),
        (
            "edge into trigger",
            |_, e| {
                e.as_array_mut()
                    .unwrap()
                    .push(json!({"source": "check", "source_port": "false", "target": "start"}))
            },
            &[
                "Error|start|edges[2]|nothing can connect into it",
                "cycle",
                "cycle",
                "cycle",
            ],
        ),
        (
            "self loop",
            |_, e| {
                e.as_array_mut()
                    .unwrap()
                    .push(json!({"source": "check", "source_port": "false", "target": "check"}))
            },
            &[
                "Error|check|edges[2]|cannot connect to itself",
                "Error|check||part of a cycle",
            ],
        ),
        (
            "delay needs exactly one",
            |n, e| {
                n.as_array_mut().unwrap().push(json!({"id": "wait", "kind": "delay", "config": {"duration_ms": 5, "until": "2026-01-01T00:00:00Z"}}));
                e.as_array_mut()
                    .unwrap()
                    .push(json!({"source": "check", "source_port": "true", "target": "wait"}));
            },
            &["Error|wait|config.duration_ms|set only one of duration_ms or until"],
        ),
        (
            "switch ports",
            |n, e| {
                n.as_array_mut().unwrap().push(json!({"id": "route", "kind": "switch", "config": {"cases": [
                {"port": "big", "expression": "{{ true }}"}, {"port": "big", "expression": "{{ false }}"}, {"port": "default", "expression": "{{ 1 }}"}]}}));
                e.as_array_mut()
                    .unwrap()
                    .push(json!({"source": "check", "source_port": "true", "target": "route"}));
            },
            &[
                "Error|route|config.cases[1].port|`big` is used twice",
                "Error|route|config.cases[2].port|`default` is reserved",
            ],
        ),
        (
            "loop body entered from outside",
            |n, e| {
                n.as_array_mut().unwrap().extend([
                json!({"id": "each", "kind": "loop", "config": {"items": "{{ steps.fetch.output.body }}"}}),
                json!({"id": "inner", "kind": "http_request", "config": {"url": "https://x"}}),
            ]);
                e.as_array_mut().unwrap().extend([
                    json!({"source": "check", "source_port": "true", "target": "each"}),
                    json!({"source": "each", "source_port": "body", "target": "inner"}),
                    json!({"source": "check", "source_port": "false", "target": "inner"}),
                ]);
            },
            &[
                "Error|inner|edges[4]|runs once per item of loop `each` and cannot also be reached from `check`",
            ],
        ),
    ];
    for (name, mutate, expected) in cases {
        let (mut nodes, mut edges) = (base_nodes(), base_edges());
        mutate(&mut nodes, &mut edges);
        let found = messages(&workflow(nodes, edges));
        assert_eq!(found.len(), expected.len(), "{name}: {found:#?}");
        for want in expected {
            assert!(
                found.iter().any(|line| matches_pattern(line, want)),
                "{name}: no problem matches {want:?} in {found:#?}"
            );
        }
    }
}

/// `severity|node|field|message part` matches those exactly and the message
/// by substring; a pattern without `|` matches anywhere.
fn matches_pattern(line: &str, pattern: &str) -> bool {
    let want: Vec<&str> = pattern.splitn(4, '|').collect();
    let have: Vec<&str> = line.splitn(4, '|').collect();
    match want.as_slice() {
        [severity, node, field, message] => {
            have[0] == *severity
                && have[1] == *node
                && have[2] == *field
                && have[3].contains(message)
        }
        _ => line.contains(pattern),
    }
}

#[test]
fn limits_are_enforced() {
    let nodes: Vec<Value> = (0..=MAX_NODES)
        .map(|i| json!({"id": format!("n{i}"), "kind": "transform", "config": {"template": 1}}))
        .collect();
    let found = messages(&workflow(json!(nodes), json!([])));
    assert!(
        found.iter().any(|l| l.contains("at most 500 nodes")),
        "{found:?}"
    );

    let big = "x".repeat(MAX_CONFIG_BYTES);
    let mut nodes = base_nodes();
    nodes[1]["config"]["headers"] = json!({"x": big});
    assert!(
        messages(&workflow(nodes, base_edges()))
            .iter()
            .any(|l| l.contains("larger than 64 KiB"))
    );
}

#[test]
fn retry_policies_are_checked() {
    let mut nodes = base_nodes();
    nodes[1]["retry"] = json!({"max_attempts": 0, "factor": 0.5});
    let found = messages(&workflow(nodes, base_edges()));
    assert!(
        found
            .iter()
            .any(|l| l.contains("fetch|retry.max_attempts|")),
        "{found:?}"
    );
    assert!(
        found.iter().any(|l| l.contains("fetch|retry.factor|")),
        "{found:?}"
    );
}

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|n| json!(n)),
        "(\\{\\{|\\}\\}|\\{%|[a-z._ ()|'\"0-9+\\-*/<>=!\\[\\]]){0,24}".prop_map(Value::String),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,10}", inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn arbitrary_workflow() -> impl Strategy<Value = WorkflowDefinition> {
    let kinds = prop::sample::select(vec![
        "manual_trigger",
        "webhook_trigger",
        "transform",
        "condition",
        "http_request",
        "loop",
        "switch",
        "delay",
        "stop_and_fail",
        "nope",
    ]);
    let ids = prop::sample::select(vec!["a", "b", "c", "d", "e", "bad-id", ""]);
    let ports = prop::sample::select(vec![
        "out", "true", "false", "body", "error", "default", "x",
    ]);
    let node = (ids.clone(), kinds, arbitrary_json())
        .prop_map(|(id, kind, config)| json!({"id": id, "kind": kind, "config": config}));
    let edge = (ids.clone(), ports, ids)
        .prop_map(|(s, p, t)| json!({"source": s, "source_port": p, "target": t}));
    (
        ".{0,8}",
        prop::collection::vec(node, 0..8),
        prop::collection::vec(edge, 0..12),
    )
        .prop_map(|(name, nodes, edges)| {
            serde_json::from_value(json!({"name": name, "nodes": nodes, "edges": edges})).unwrap()
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, .. ProptestConfig::default() })]

    #[test]
    fn validation_never_panics(def in arbitrary_workflow()) {
        let problems = validate(&def, &catalogue());
        for problem in problems {
            prop_assert!(!problem.message.is_empty());
        }
    }
}
