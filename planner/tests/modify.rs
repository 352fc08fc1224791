//! "Describe a change" and "suggest next" on a drafted workflow.

mod common;

use model::{WorkflowDefinition, patch::PatchOp};
use planner::{
    Request, generate,
    modify::{ModifyRequest, modify, result},
    suggest::suggest_next,
};
use serde_json::json;

fn seed() -> WorkflowDefinition {
    generate(
        &common::builtin_catalog(),
        &Request {
            prompt: "When a new customer signs up in Stripe, add them to Mailchimp and send Slack notification",
            timezone: "UTC",
            connections: &[],
        },
    )
    .workflow
}

fn change(def: &WorkflowDefinition, instruction: &str) -> model::ai::Modification {
    modify(
        &common::builtin_catalog(),
        &ModifyRequest {
            workflow: def,
            instruction,
            timezone: "UTC",
            connections: &[],
        },
    )
}

fn edges(def: &WorkflowDefinition) -> Vec<(String, String, String)> {
    def.edges
        .iter()
        .map(|e| (e.source.clone(), e.source_port.clone(), e.target.clone()))
        .collect()
}

fn edge(source: &str, port: &str, target: &str) -> (String, String, String) {
    (source.into(), port.into(), target.into())
}

#[test]
fn removing_a_step_keeps_the_rest_connected() {
    let answer = change(&seed(), "remove the Slack step");
    assert_eq!(
        answer.operations,
        vec![PatchOp::RemoveNode {
            id: "slack_post_message".into()
        }]
    );
    assert_eq!(
        edges(&answer.workflow),
        vec![edge("trigger", "out", "mailchimp_add_member")]
    );
    assert!(answer.new_problems.is_empty() && answer.refused.is_none());
}

#[test]
fn a_delay_goes_between_two_steps_without_a_stale_edge() {
    let answer = change(&seed(), "put a delay of 2 days before the Slack message");
    let [
        PatchOp::InsertBetween {
            source,
            target,
            node,
            ..
        },
    ] = &answer.operations[..]
    else {
        panic!("{:?}", answer.operations);
    };
    assert_eq!(
        (source.as_str(), target.as_str()),
        ("mailchimp_add_member", "slack_post_message")
    );
    assert_eq!(node.kind, "delay");
    assert_eq!(node.config, json!({"duration_ms": 172_800_000}));
    // Drawn between the two it goes between, not far off to the side.
    let def = seed();
    let (from, to) = (
        def.node("mailchimp_add_member").unwrap().position,
        def.node("slack_post_message").unwrap().position,
    );
    assert!(
        from.x < node.position.x && node.position.x < to.x,
        "{:?}",
        node.position
    );
    let edges = edges(&answer.workflow);
    assert!(!edges.contains(&edge("mailchimp_add_member", "out", "slack_post_message")));
    assert!(edges.contains(&edge("mailchimp_add_member", "out", "delay")));
    assert!(edges.contains(&edge("delay", "out", "slack_post_message")));
}

#[test]
fn also_with_a_condition_branches_from_the_trigger() {
    let payments = generate(
        &common::builtin_catalog(),
        &Request {
            prompt: "when a stripe payment succeeds, add them to mailchimp",
            timezone: "UTC",
            connections: &[],
        },
    )
    .workflow;
    let answer = change(
        &payments,
        "also text the sales lead at +14155550100 if the amount is over 1000",
    );
    let kinds: Vec<&str> = answer
        .operations
        .iter()
        .filter_map(|op| match op {
            PatchOp::AddNode { node } => Some(node.kind.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(kinds, ["condition", "twilio.send_sms"]);
    let edges = edges(&answer.workflow);
    assert!(edges.contains(&edge("trigger", "out", "condition")));
    assert!(edges.contains(&edge("condition", "true", "twilio_send_sms")));
    assert_eq!(
        answer.workflow.node("twilio_send_sms").unwrap().config["to"],
        "+14155550100"
    );
    assert_eq!(
        answer.workflow.node("condition").unwrap().config["expression"],
        "{{ trigger.body.data.object.amount > 1000 }}"
    );
    assert!(answer.new_problems.is_empty(), "{:?}", answer.new_problems);
}

#[test]
fn a_field_is_set_on_the_step_that_has_it() {
    let answer = change(&seed(), "change the channel to #growth");
    assert_eq!(
        answer.operations,
        vec![PatchOp::SetConfig {
            id: "slack_post_message".into(),
            field: "channel".into(),
            value: json!("#growth")
        }]
    );
}

#[test]
fn what_cannot_be_placed_is_said_and_nothing_changes() {
    let def = seed();
    let answer = change(&def, "remove the Myspace step");
    assert!(answer.operations.is_empty());
    assert_eq!(answer.workflow, def);
    assert!(!answer.unknown.is_empty());
}

#[test]
fn operations_that_break_the_workflow_are_refused_with_the_problems() {
    let catalog = common::builtin_catalog();
    let def = seed();
    // A cycle: the validator refuses it, the answer names it.
    let answer = result(
        &catalog,
        &def,
        vec![PatchOp::Connect {
            source: "slack_post_message".into(),
            source_port: "out".into(),
            target: "mailchimp_add_member".into(),
        }],
        vec![],
    );
    assert!(!answer.new_problems.is_empty());
    // One bad operation refuses them all: the workflow is untouched.
    let answer = result(
        &catalog,
        &def,
        vec![
            PatchOp::RemoveNode {
                id: "slack_post_message".into(),
            },
            PatchOp::RemoveNode {
                id: "nowhere".into(),
            },
        ],
        vec![],
    );
    assert!(
        answer
            .refused
            .as_deref()
            .is_some_and(|r| r.contains("nowhere"))
    );
    assert_eq!(answer.workflow, def);
}

#[test]
fn suggestions_after_a_list_loop_and_after_an_event_notify() {
    let catalog = common::builtin_catalog();
    let def = generate(
        &catalog,
        &Request {
            prompt: "list my stripe customers",
            timezone: "UTC",
            connections: &[],
        },
    )
    .workflow;
    let next = suggest_next(&catalog, &def, "stripe_list_customers").unwrap();
    assert_eq!(next[0].kind, "loop");
    assert_eq!(
        next[0].config["items"],
        "{{ steps.stripe_list_customers.output.items }}"
    );

    // After a trigger alone: tell the team, subscribe the customer, …
    let trigger_only = generate(
        &catalog,
        &Request {
            prompt: "when a new customer signs up in stripe",
            timezone: "UTC",
            connections: &[],
        },
    )
    .workflow;
    assert_eq!(trigger_only.nodes.len(), 1);
    let next = suggest_next(&catalog, &trigger_only, "trigger").unwrap();
    let slack = next
        .iter()
        .find(|s| s.kind == "slack.post_message")
        .expect("slack suggested");
    assert!(
        slack.config["text"]
            .as_str()
            .unwrap()
            .contains("trigger.body.data.object.email")
    );
    let mailchimp = next.iter().position(|s| s.kind == "mailchimp.add_member");
    assert!(
        mailchimp.is_some_and(
            |i| next[i].config["email_address"] == "{{ trigger.body.data.object.email }}"
        )
    );
    assert!(suggest_next(&catalog, &seed(), "nope").is_none());
}
