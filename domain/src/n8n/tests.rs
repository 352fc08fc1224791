//! n8n exports (written as n8n writes them, in `domain/tests/n8n/`) into
//! drafts that validate, with exactly the unsupported parts reported.

use model::{Severity, ai::ConnectionRef};
use serde_json::{Value, json};

use super::*;
use crate::ai::Planning;

fn export(name: &str) -> Value {
    let path = format!("{}/tests/n8n/{name}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Translates `name` for an account with a connection of every provider
/// and returns the draft, its report and its validation errors.
fn import(name: &str) -> (WorkflowDefinition, ImportReport, Vec<String>) {
    let Translated {
        mut workflow,
        report,
    } = translate(&export(name)).unwrap();
    let connections = engine::providers::builtin()
        .iter()
        .enumerate()
        .map(|(i, p)| ConnectionRef {
            id: format!("00000000-0000-4000-8000-{:012}", i + 1),
            provider: p.id.to_string(),
            name: p.name.to_string(),
        })
        .collect();
    let planning = Planning::builtin(connections);
    planner::accounting::account(&planning.catalog, &mut workflow, &planning.connections);
    let catalogue = engine::nodes::Registry::builtin().catalogue().clone();
    let mut problems = model::validate(&workflow, &catalogue);
    problems.extend(crate::schedules::problems(&workflow));
    let errors = problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .map(|p| format!("{:?} {:?}: {}", p.node_id, p.field, p.message))
        .collect();
    (workflow, report, errors)
}

fn node<'a>(workflow: &'a WorkflowDefinition, id: &str) -> &'a model::Node {
    workflow
        .nodes
        .iter()
        .find(|n| n.id == id)
        .unwrap_or_else(|| {
            panic!(
                "no node {id} in {:?}",
                workflow.nodes.iter().map(|n| &n.id).collect::<Vec<_>>()
            )
        })
}

fn edges(workflow: &WorkflowDefinition) -> Vec<String> {
    let mut edges: Vec<String> = workflow
        .edges
        .iter()
        .map(|e| format!("{}.{} -> {}", e.source, e.source_port, e.target))
        .collect();
    edges.sort();
    edges
}

fn unsupported(report: &ImportReport) -> Vec<String> {
    let mut list: Vec<String> = report
        .unsupported
        .iter()
        .map(|i| format!("{} {}", i.node, i.field.as_deref().unwrap_or("-")))
        .collect();
    list.sort();
    list
}

#[test]
fn a_webhook_condition_http_call_and_slack_message() {
    let (workflow, report, errors) = import("signup-webhook");
    assert!(errors.is_empty(), "{errors:#?}");
    assert!(report.unsupported.is_empty(), "{:?}", report.unsupported);
    assert_eq!(workflow.name, "Pro sign-ups to the CRM and Slack");
    assert_eq!(
        edges(&workflow),
        [
            "create_crm_customer.out -> tell_sales",
            "is_it_a_pro_sign_up.false -> not_a_pro_sign_up",
            "is_it_a_pro_sign_up.true -> create_crm_customer",
            "webhook.out -> is_it_a_pro_sign_up",
        ]
    );
    let hook = node(&workflow, "webhook");
    assert_eq!(hook.kind, "webhook_trigger");
    assert_eq!(
        hook.config,
        json!({"methods": ["POST"], "respond": "accepted"})
    );
    assert_eq!((hook.position.x, hook.position.y), (240.0, 300.0));
    assert_eq!(
        node(&workflow, "is_it_a_pro_sign_up").config["expression"],
        "{{ (((trigger.body.email | lower) is endingwith(('@example.com' | lower))) and ((trigger.body.plan | lower) == ('pro' | lower))) }}"
    );
    let crm = node(&workflow, "create_crm_customer");
    assert_eq!(crm.kind, "http_request");
    assert_eq!(
        crm.config,
        json!({
            "method": "POST", "url": "https://crm.example.com/api/customers",
            "headers": {"X-Source": "n8n"},
            "body": {"email": "{{ (trigger.body.email | lower) }}", "plan": "{{ trigger.body.plan }}", "seats": "{{ trigger.body.seats }}"},
            "body_type": "json", "timeout_ms": 10000
        })
    );
    let slack = node(&workflow, "tell_sales");
    assert_eq!(slack.kind, "slack.post_message");
    assert_eq!(slack.config["channel"], "C0123SALES");
    assert_eq!(
        slack.config["text"],
        "New pro customer {{ trigger.body.email }} (CRM id {{ steps.create_crm_customer.output.body.id }})"
    );
    assert_eq!(
        node(&workflow, "not_a_pro_sign_up").config["template"],
        "{{ trigger }}"
    );
    let notes: Vec<&str> = report.notes.iter().map(|n| n.message.as_str()).collect();
    assert!(
        notes
            .iter()
            .any(|n| n.contains("`CRM API key` (httpHeaderAuth)")),
        "{notes:?}"
    );
    assert!(
        notes.iter().any(|n| n.contains("path `signup`")),
        "{notes:?}"
    );
}

#[test]
fn a_schedule_list_loop_fields_and_json_body() {
    let (workflow, report, errors) = import("nightly-sync");
    assert!(errors.is_empty(), "{errors:#?}");
    assert!(report.unsupported.is_empty(), "{:?}", report.unsupported);
    assert_eq!(
        node(&workflow, "every_night").config,
        json!({"cron": "30 2 * * *", "timezone": "America/New_York", "missed": "skip"})
    );
    assert_eq!(
        node(&workflow, "get_contacts").config["query"],
        json!({"updated_since": "yesterday"})
    );
    let each = node(&workflow, "one_contact_at_a_time");
    assert_eq!(each.kind, "loop");
    assert_eq!(
        each.config["items"],
        "{{ steps.get_contacts.output.body.contacts }}"
    );
    assert_eq!(
        node(&workflow, "shape_contact").config["template"],
        json!({"full_name": "{{ ((item.first ~ ' ') ~ item.last) }}", "email": "{{ ((item.email | trim) | lower) }}", "meta": {"source": "nightly"}})
    );
    let upsert = node(&workflow, "upsert_contact");
    assert_eq!(upsert.config["method"], "PUT");
    assert_eq!(
        upsert.config["url"],
        "https://target.example.com/contacts/{{ item.id }}"
    );
    assert_eq!(
        upsert.config["body"],
        json!({
            "name": "{{ steps.shape_contact.output.full_name }}",
            "email": "{{ steps.shape_contact.output.email }}",
            "score": "{{ (item.score * 10) }}",
            "source": "{{ steps.shape_contact.output.meta.source }}"
        })
    );
    assert!(edges(&workflow).contains(&"one_contact_at_a_time.body -> shape_contact".to_owned()));
}

#[test]
fn provider_nodes_become_their_actions() {
    let (workflow, report, errors) = import("providers");
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(unsupported(&report), ["Stripe invoice -"]);
    assert!(report.unsupported[0].message.contains("`invoice: create`"));
    let stripe = node(&workflow, "stripe");
    assert_eq!(stripe.kind, "stripe.create_customer");
    assert_eq!(stripe.config["name"], "{{ trigger.name }}");
    assert_eq!(stripe.config["metadata"], json!({"source": "n8n"}));
    assert!(
        stripe.config["connection"].is_string(),
        "the account's connection is chosen"
    );
    let mailchimp = node(&workflow, "mailchimp");
    assert_eq!(mailchimp.kind, "mailchimp.add_member");
    assert_eq!(
        mailchimp.config["email_address"],
        "{{ steps.stripe.output.email }}"
    );
    assert_eq!(
        mailchimp.config["merge_fields"]["FNAME"],
        "{{ (trigger.name | split(' '))[0] }}"
    );
    let github = node(&workflow, "github");
    assert_eq!(github.kind, "github.create_issue");
    assert_eq!(
        (
            github.config["owner"].as_str(),
            github.config["repo"].as_str()
        ),
        (Some("acme"), Some("onboarding"))
    );
    assert_eq!(
        github.config["labels"],
        json!(["onboarding", "new-customer"])
    );
    assert_eq!(
        node(&workflow, "twilio").config["body"],
        "Issue #{{ steps.github.output.number }} opened for {{ steps.stripe.output.email }}"
    );
    let linear = node(&workflow, "linear");
    assert_eq!(linear.kind, "linear.create_issue");
    assert_eq!(
        linear.config["description"],
        "GitHub: {{ steps.github.output.html_url }}"
    );
    let placeholder = node(&workflow, "stripe_invoice");
    assert_eq!(placeholder.label, "Not imported: Stripe invoice");
    assert_eq!(
        placeholder.config["template"],
        format!("{{{{ {NOT_IMPORTED} }}}}")
    );
}

#[test]
fn exactly_the_unsupported_parts_are_reported_and_the_rest_validates() {
    let (workflow, report, errors) = import("mixed");
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(
        unsupported(&report),
        [
            "Custom scoring -",
            "Greeting parameters.values.string[1].value",
            "Legacy function -",
            "Log to sheet -",
            "Route by plan parameters.rules.values[1]",
        ]
    );
    let greeting = node(&workflow, "greeting");
    assert_eq!(
        greeting.config["template"]["greeting"],
        "Hello {{ trigger.name }}"
    );
    assert_eq!(
        greeting.config["template"]["count"],
        "{{ (trigger.items | length) }}"
    );
    assert!(
        greeting.config["template"]["ids"]
            .as_str()
            .unwrap()
            .contains("{% raw %}={{ $json.items.map(i => i.id) }}{% endraw %}")
    );
    assert_eq!(
        node(&workflow, "many_items").config["expression"],
        "{{ (steps.greeting.output.count > 2) }}"
    );
    let route = node(&workflow, "route_by_plan");
    assert_eq!(
        route.config["cases"][0],
        json!({"port": "pro", "expression": "{{ (trigger.plan == 'pro') }}"})
    );
    assert_eq!(
        route.config["cases"][1]["expression"],
        format!("{{{{ {EXPRESSION_NOT_IMPORTED} }}}}")
    );
    assert_eq!(
        edges(&workflow),
        [
            "custom_scoring.out -> join",
            "greeting.out -> many_items",
            "join.out -> legacy_function",
            "many_items.false -> log_to_sheet",
            "many_items.true -> route_by_plan",
            "route_by_plan.default -> unknown_plan",
            "route_by_plan.output_2 -> custom_scoring",
            "route_by_plan.pro -> wait_a_bit",
            "start.out -> greeting",
            "wait_a_bit.out -> join",
        ]
    );
    assert_eq!(
        node(&workflow, "wait_a_bit").config,
        json!({"duration_ms": 300000})
    );
    assert_eq!(
        node(&workflow, "unknown_plan").config["message"],
        "Unknown plan {{ trigger.plan }}"
    );
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.node == "Join" && n.message.contains("`append` merge"))
    );
}

#[test]
fn older_nodes_cron_split_in_batches_and_switch_rules() {
    let (workflow, report, errors) = import("legacy");
    assert!(errors.is_empty(), "{errors:#?}");
    assert!(report.unsupported.is_empty(), "{:?}", report.unsupported);
    assert_eq!(node(&workflow, "cron").config["cron"], "15 8 * * 1");
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.message.contains("runs in UTC"))
    );
    let http = node(&workflow, "http_request");
    assert_eq!(
        http.config["body"],
        json!({"status": ["active", "trial"], "since": "{{ trigger.scheduled_at }}"})
    );
    let each = node(&workflow, "loop_over_items");
    assert_eq!(each.config["items"], "{{ steps.http_request.output.body }}");
    let switch = node(&workflow, "switch");
    assert_eq!(
        switch.config["cases"][0],
        json!({"port": "rule_1", "expression": "{{ (item.status == 'active') }}"})
    );
    assert_eq!(
        edges(&workflow),
        [
            "cron.out -> http_request",
            "http_request.out -> loop_over_items",
            "loop_over_items.body -> switch",
            "loop_over_items.out -> done",
            "switch.default -> stop_and_error",
            "switch.rule_1 -> active",
            "switch.rule_2 -> trial",
        ]
    );
    assert_eq!(
        node(&workflow, "stop_and_error").config["message"],
        "Account {{ item.id }} has the status {{ item.status }}"
    );
}

#[test]
fn a_workflow_without_a_trigger_gets_a_manual_one_and_bad_exports_are_named() {
    let Translated { workflow, report } = translate(&json!({
        "name": "Sub-workflow",
        "nodes": [{"name": "Tidy", "type": "n8n-nodes-base.noOp", "typeVersion": 1, "position": [100, 100], "parameters": {}}],
        "connections": {}
    }))
    .unwrap();
    assert_eq!(workflow.nodes[0].kind, "manual_trigger");
    assert_eq!(edges(&workflow), ["start.out -> tidy"]);
    assert!(report.notes[0].message.contains("no trigger"));

    // Names that slug alike still get ids of their own.
    let Translated { workflow, .. } = translate(&json!({
        "nodes": [
            {"name": "a_b_2", "type": "n8n-nodes-base.noOp", "parameters": {}},
            {"name": "a b", "type": "n8n-nodes-base.noOp", "parameters": {}},
            {"name": "a_b", "type": "n8n-nodes-base.noOp", "parameters": {}},
            {"name": "A-B", "type": "n8n-nodes-base.noOp", "parameters": {}}
        ],
        "connections": {}
    }))
    .unwrap();
    let ids: Vec<&str> = workflow.nodes.iter().map(|n| n.id.as_str()).collect();
    assert_eq!(ids, ["start", "a_b_2", "a_b", "a_b_3", "a_b_4"]);

    // A long name and an expression nested beyond reason: a draft that
    // validates, the expression reported.
    let long = "Call the customer API ".repeat(20);
    let deep = format!("={{{{ {}1{} }}}}", "(".repeat(500), ")".repeat(500));
    let Translated { workflow, report } = translate(&json!({
        "nodes": [
            {"name": "Start", "type": "n8n-nodes-base.manualTrigger", "parameters": {}},
            {"name": long, "type": "n8n-nodes-base.httpRequest", "typeVersion": 4.2,
             "parameters": {"url": "https://api.example.com/", "sendQuery": true,
                            "queryParameters": {"parameters": [{"name": "n", "value": deep}]}}}
        ],
        "connections": {"Start": {"main": [[{"node": long, "type": "main", "index": 0}]]}}
    }))
    .unwrap();
    let catalogue = engine::nodes::Registry::builtin().catalogue().clone();
    let errors: Vec<_> = model::validate(&workflow, &catalogue)
        .into_iter()
        .filter(|p| p.severity == Severity::Error)
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    assert!(
        report.unsupported[0]
            .message
            .contains("nests more than 64 levels"),
        "{:?}",
        report.unsupported
    );

    for (export, field) in [
        (json!({"nodes": "x"}), "workflow.nodes"),
        (
            json!({"nodes": [{"type": "n8n-nodes-base.noOp"}]}),
            "workflow.nodes[0].name",
        ),
        (json!({"nodes": [{"name": "A"}]}), "workflow.nodes[0].type"),
        (
            json!({"nodes": [{"name": "A", "type": "x"}, {"name": "A", "type": "y"}]}),
            "workflow.nodes[1].name",
        ),
    ] {
        let Err(DomainError::Invalid { fields, .. }) = translate(&export) else {
            panic!("{export} is refused");
        };
        assert_eq!(fields[0].field, field);
    }
}

#[test]
fn provider_triggers_keep_their_event_types() {
    let Translated { workflow, report } = translate(&json!({
        "name": "Disputes",
        "nodes": [
            {"name": "Stripe Trigger", "type": "n8n-nodes-base.stripeTrigger", "typeVersion": 1, "position": [0, 0],
             "parameters": {"events": ["customer.created", "charge.dispute.created"]}, "webhookId": "x"},
            {"name": "Slack", "type": "n8n-nodes-base.slack", "typeVersion": 2.2, "position": [220, 0],
             "parameters": {"select": "channel", "channelId": {"__rl": true, "value": "C1", "mode": "id"},
                            "text": "=New customer {{ $json.data.object.email }} ({{ $json.type }})", "otherOptions": {}}}
        ],
        "connections": {"Stripe Trigger": {"main": [[{"node": "Slack", "type": "main", "index": 0}]]}}
    }))
    .unwrap();
    let trigger = node(&workflow, "stripe_trigger");
    assert_eq!(trigger.kind, "stripe.trigger");
    assert_eq!(trigger.config["events"], json!(["customer.created"]));
    assert_eq!(
        node(&workflow, "slack").config["text"],
        "New customer {{ trigger.body.data.object.email }} ({{ trigger.body.type }})"
    );
    assert_eq!(unsupported(&report), ["Stripe Trigger parameters.events"]);
    assert!(
        report.unsupported[0]
            .message
            .contains("charge.dispute.created")
    );
}
