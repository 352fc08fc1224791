//! Every template file: readable, its inputs and connections true to its
//! workflow, and a workflow that validates once connections are chosen.

use std::collections::BTreeMap;

use model::{Severity, ai::ConnectionRef, templates::UseTemplate};

use super::*;

/// A connection of every built-in provider, as an account that has them all.
fn every_connection() -> Vec<ConnectionRef> {
    engine::providers::builtin()
        .iter()
        .enumerate()
        .map(|(i, p)| ConnectionRef {
            id: format!("00000000-0000-4000-8000-{:012}", i + 1),
            provider: p.id.to_string(),
            name: format!("{} test", p.name),
        })
        .collect()
}

#[test]
fn the_gallery_has_at_least_ten_templates_with_unique_url_safe_ids() {
    let templates = all();
    assert!(templates.len() >= 10, "{} templates", templates.len());
    let mut ids: Vec<&str> = templates.iter().map(|t| t.summary.id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), templates.len(), "ids are unique");
    for template in templates {
        let id = &template.summary.id;
        assert!(
            id.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
            "{id}"
        );
        assert!(!template.summary.description.is_empty(), "{id}");
        assert_eq!(
            template.workflow.nodes[0].kind, template.summary.trigger,
            "{id}"
        );
    }
}

#[test]
fn every_template_validates_once_its_connections_are_chosen() {
    let planning = Planning::builtin(every_connection());
    let catalogue = engine::nodes::Registry::builtin().catalogue().clone();
    for template in all() {
        let examples: BTreeMap<_, _> = template
            .inputs
            .iter()
            .map(|i| (i.key.clone(), i.example.clone()))
            .collect();
        let request = UseTemplate {
            name: None,
            inputs: examples,
        };
        let Prepared {
            workflow,
            missing_connections,
            needs_input,
        } = prepare(template, &request, &planning).unwrap();
        assert!(missing_connections.is_empty(), "{}", template.summary.id);
        assert!(needs_input.is_empty(), "{}", template.summary.id);
        let problems = model::validate(&workflow, &catalogue);
        assert!(
            problems.is_empty(),
            "{}: {problems:#?}",
            template.summary.id
        );
    }
}

#[test]
fn without_connections_only_the_connections_are_missing() {
    let planning = Planning::builtin(Vec::new());
    let catalogue = engine::nodes::Registry::builtin().catalogue().clone();
    for template in all() {
        let Prepared {
            workflow,
            missing_connections,
            needs_input,
        } = prepare(template, &UseTemplate::default(), &planning).unwrap();
        let missing: Vec<&str> = missing_connections
            .iter()
            .map(|m| m.provider.as_str())
            .collect();
        assert_eq!(
            missing, template.summary.connections,
            "{}",
            template.summary.id
        );
        let targets: usize = template.inputs.iter().map(|i| i.targets.len()).sum();
        assert_eq!(needs_input.len(), targets);
        for problem in model::validate(&workflow, &catalogue) {
            if problem.severity == Severity::Error {
                assert!(
                    problem.field.as_deref() == Some("config.connection")
                        || problem.message.contains("connection"),
                    "{}: {problem:?}",
                    template.summary.id
                );
            }
        }
    }
}

#[test]
fn inputs_name_fields_that_hold_their_examples() {
    for template in all() {
        let mut keys: Vec<&str> = template.inputs.iter().map(|i| i.key.as_str()).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), template.inputs.len(), "{}", template.summary.id);
        for input in &template.inputs {
            assert!(!input.targets.is_empty(), "{}", input.key);
            for target in &input.targets {
                let node = template
                    .workflow
                    .nodes
                    .iter()
                    .find(|n| n.id == target.node)
                    .unwrap_or_else(|| panic!("{}: no node {}", template.summary.id, target.node));
                let mut value = &node.config;
                for part in target.field.split('.') {
                    value = &value[part];
                }
                assert_eq!(
                    value, &input.example,
                    "{} {}",
                    template.summary.id, input.key
                );
            }
        }
    }
}

#[test]
fn inputs_are_placed_and_unknown_ones_refused() {
    let template = find("daily-url-health-check").unwrap();
    let planning = Planning::builtin(every_connection());
    let request = UseTemplate {
        name: Some("Watch the shop".into()),
        inputs: [(
            "url".to_owned(),
            serde_json::json!("https://shop.example.net/up"),
        )]
        .into(),
    };
    let Prepared {
        workflow,
        needs_input,
        ..
    } = prepare(template, &request, &planning).unwrap();
    assert_eq!(workflow.name, "Watch the shop");
    let check = workflow.nodes.iter().find(|n| n.id == "check").unwrap();
    assert_eq!(check.config["url"], "https://shop.example.net/up");
    let left: Vec<&str> = needs_input.iter().map(|n| n.field.as_str()).collect();
    assert_eq!(left, ["config.channel", "config.timezone"]);

    let request = UseTemplate {
        name: None,
        inputs: [("channnel".to_owned(), serde_json::json!("#x"))].into(),
    };
    let Err(DomainError::Invalid { fields, .. }) = prepare(template, &request, &planning) else {
        panic!("an unknown input is refused");
    };
    assert_eq!(fields[0].field, "inputs");
    assert!(
        fields[0].message.contains("`channnel`"),
        "{}",
        fields[0].message
    );
}

#[test]
fn the_connections_a_template_needs_are_read_off_its_steps() {
    let needs = |id: &str| find(id).unwrap().summary.connections.clone();
    // A Stripe trigger without a secret registers its webhook with the
    // account's Stripe connection.
    assert_eq!(
        needs("stripe-customer-to-mailchimp-and-slack"),
        ["stripe", "mailchimp", "slack"]
    );
    // A GitHub trigger with its secret needs no GitHub connection.
    assert_eq!(needs("github-pull-request-to-slack"), ["slack"]);
    assert_eq!(needs("github-issue-to-linear"), ["linear", "github"]);
    assert_eq!(needs("form-to-email-and-slack"), ["smtp", "slack"]);
}
