//! The language-model planner's offline halves: what the model is told
//! (the retrieved kinds with their fields, connection ids, no secret) and
//! how its reply is held to the catalogue, the account and the validator.

mod common;

use model::ai::{ConnectionRef, PlannerKind};
use planner::{Request, analyze, generate, llm};
use serde_json::json;

const SEED: &str =
    "When a new customer signs up in Stripe, add them to Mailchimp and send Slack notification";

fn connections() -> Vec<ConnectionRef> {
    vec![ConnectionRef {
        id: "c0a8e2f4-0000-4000-8000-000000000001".into(),
        provider: "slack".into(),
        name: "Team Slack".into(),
    }]
}

fn briefing(prompt: &str) -> llm::Briefing {
    let catalog = common::builtin_catalog();
    let connections = connections();
    let request = Request {
        prompt,
        timezone: "Europe/Paris",
        connections: &connections,
    };
    let analysis = analyze(&catalog, &request);
    let offline = generate(&catalog, &request);
    llm::brief(
        &catalog,
        prompt,
        "Europe/Paris",
        &connections,
        &analysis,
        &offline,
    )
}

#[test]
fn the_briefing_details_the_providers_the_description_is_about() {
    let briefing = briefing(SEED);
    for kind in [
        "stripe.trigger",
        "mailchimp.add_member",
        "slack.post_message",
        "condition",
        "delay",
    ] {
        assert!(
            briefing.detailed.iter().any(|k| k == kind),
            "{kind} is detailed"
        );
    }
    // Providers the description does not touch are named, not detailed.
    assert!(!briefing.detailed.iter().any(|k| k.starts_with("twilio.")));
    assert!(briefing.system.contains("- twilio.send_sms ("));
    // Fields with their types, events of the trigger, the connection ids.
    assert!(briefing.system.contains("### mailchimp.add_member"));
    assert!(briefing.system.contains("customer.created"));
    // How to read the trigger's delivery and each step's output.
    assert!(
        briefing
            .system
            .contains("Delivery, read as `{{ trigger.<path> }}`: event (string)")
    );
    assert!(
        briefing
            .system
            .contains("body.data.object.email (string) [customer.*]")
    );
    assert!(
        briefing
            .system
            .contains("Output, read as `{{ steps.<id>.output.<path> }}`:")
    );
    assert!(
        briefing
            .system
            .contains("id `c0a8e2f4-0000-4000-8000-000000000001`: slack connection “Team Slack”")
    );
    // The user message carries the description, the time zone and the
    // offline draft to start from.
    assert!(briefing.user.contains(SEED));
    assert!(briefing.user.contains("Europe/Paris"));
    assert!(briefing.user.contains("\"kind\":\"mailchimp.add_member\""));
    // Small enough for a local model's context (8k tokens, ~4 characters each).
    assert!(briefing.system.len() + briefing.user.len() < 24_000);
}

fn reply(nodes: serde_json::Value, edges: serde_json::Value) -> String {
    json!({"name": "Stripe to Slack", "nodes": nodes, "edges": edges, "unknown": [], "question": null})
        .to_string()
}

fn trigger() -> serde_json::Value {
    json!({"id": "trigger", "kind": "stripe.trigger", "label": "New customer",
           "config": {"events": ["customer.created"]}, "explanation": "Starts on a new Stripe customer."})
}

#[test]
fn a_valid_reply_becomes_a_draft_with_what_is_left_to_the_user() {
    let catalog = common::builtin_catalog();
    let text = format!(
        "Here it is:\n```json\n{}\n```",
        reply(
            json!([trigger(), {"id": "notify", "kind": "slack.post_message", "label": "Tell the team",
                   "config": {"channel": "#sales", "text": "New customer {{ trigger.body.data.object.email }}"},
                   "explanation": "Posts the new customer's email to #sales."}]),
            json!([{"source": "trigger", "target": "notify"}]),
        )
    );
    let draft = llm::check(&catalog, &connections(), &text, "fallback").expect("valid");
    assert_eq!(draft.planner, PlannerKind::Llm);
    assert_eq!(draft.workflow.name, "Stripe to Slack");
    assert_eq!(draft.workflow.edges[0].source_port, "out");
    // The account's Slack connection is filled in; Stripe's is missing.
    assert_eq!(
        draft.workflow.node("notify").unwrap().config["connection"],
        "c0a8e2f4-0000-4000-8000-000000000001"
    );
    let missing: Vec<_> = draft
        .missing_connections
        .iter()
        .map(|m| m.provider.as_str())
        .collect();
    assert_eq!(missing, ["stripe"]);
    assert_eq!(draft.providers, ["stripe", "slack"]);
    assert_eq!(
        draft.steps[1].explanation,
        "Posts the new customer's email to #sales."
    );
    assert!(draft.workflow.nodes[1].position.x > draft.workflow.nodes[0].position.x);
}

#[test]
fn an_invented_kind_is_named_for_repair() {
    let catalog = common::builtin_catalog();
    let text = reply(
        json!([trigger(), {"id": "fax", "kind": "fax.send", "config": {}}]),
        json!([{"source": "trigger", "target": "fax"}]),
    );
    let problems = llm::check(&catalog, &connections(), &text, "x").unwrap_err();
    assert_eq!(
        problems,
        ["node `fax`: kind `fax.send` does not exist; use only the kinds listed"]
    );
}

#[test]
fn an_invented_connection_or_field_is_named_for_repair() {
    let catalog = common::builtin_catalog();
    let text = reply(
        json!([trigger(), {"id": "notify", "kind": "slack.post_message",
               "config": {"connection": "conn_made_up", "channel": "#x", "text": "hi"}}]),
        json!([{"source": "trigger", "target": "notify"}]),
    );
    let problems = llm::check(&catalog, &connections(), &text, "x").unwrap_err();
    assert_eq!(problems.len(), 1);
    assert!(problems[0].starts_with("node `notify`, config.connection: `conn_made_up` is not one of the account's slack connections"), "{problems:?}");

    let text = reply(
        json!([trigger(), {"id": "notify", "kind": "slack.post_message",
               "config": {"channel": "#x", "text": "hi", "emoji": ":tada:"}}]),
        json!([{"source": "trigger", "target": "notify"}]),
    );
    let problems = llm::check(&catalog, &connections(), &text, "x").unwrap_err();
    assert!(
        problems
            .iter()
            .any(|p| p.contains("node `notify`") && p.contains("unknown field `emoji`")),
        "{problems:?}"
    );
}

#[test]
fn garbage_and_broken_graphs_are_named_for_repair() {
    let catalog = common::builtin_catalog();
    let problems = llm::check(&catalog, &[], "Sure! I would be glad to help.", "x").unwrap_err();
    assert_eq!(
        problems,
        ["the answer holds no JSON object; answer with the JSON object only"]
    );
    let problems = llm::check(&catalog, &[], "{\"nodes\": \"none\"}", "x").unwrap_err();
    assert!(
        problems[0].starts_with("the JSON does not have the required shape"),
        "{problems:?}"
    );
    let text = reply(
        json!([trigger()]),
        json!([{"source": "trigger", "target": "nowhere"}]),
    );
    let problems = llm::check(&catalog, &[], &text, "x").unwrap_err();
    assert!(
        problems.iter().any(|p| p.contains("nowhere")),
        "{problems:?}"
    );
}
