//! n8n expressions and their translations give the same values on the
//! same data: each expression is evaluated by Node.js, as n8n's
//! JavaScript does, and its translation by Switchyard's own expressions,
//! and the two results are compared as JSON.

use std::process::Command;

use domain::n8n::expression::{Sources, expression};
use serde_json::{Value, json};

/// `$json` is the output of step `fetch`; `$('Webhook')` is the trigger.
struct Sample;

impl Sources for Sample {
    fn current(&self, key: Option<&str>) -> Result<String, String> {
        Ok(path("steps.fetch.output", key))
    }

    fn node(&self, name: &str, key: Option<&str>) -> Result<String, String> {
        match name {
            "Webhook" => Ok(path("trigger", key)),
            "Fetch" => Ok(path("steps.fetch.output", key)),
            other => Err(format!("no node {other}")),
        }
    }
}

fn path(base: &str, key: Option<&str>) -> String {
    match key {
        Some(key) => domain::n8n::expression::attribute(base, key),
        None => base.to_owned(),
    }
}

fn fetched() -> Value {
    json!({
        "id": "cus_123", "email": "  Ada@Example.COM ", "name": "Ada Lovelace", "plan": "pro",
        "amount": 1250, "discount": 0, "tags": ["vip", "beta"], "note": null,
        "address": {"city": "London", "zip": "N1"}, "first name": "Ada", "active": true, "count": 3
    })
}

fn webhook() -> Value {
    json!({"body": {"email": "grace@example.com", "qty": 4, "price": 2.5}, "query": {"ref": "ad"}})
}

/// The expressions n8n users write, as they write them.
const EXPRESSIONS: &[&str] = &[
    "$json.email",
    "$json.email.trim().toLowerCase()",
    "$json.name.toUpperCase()",
    "$json.address.city",
    "$json[\"first name\"]",
    "$json.tags.length",
    "$json.tags[0]",
    "$json.tags.join(', ')",
    "$json.tags.includes('vip')",
    "$json.name.split(' ')",
    "$json.name.startsWith('Ada')",
    "$json.name.endsWith('Lace')",
    "$json.name.slice(0, 3)",
    "$json.amount / 100",
    "$json.amount * 2 + 1",
    "$json.amount % 7",
    "$json.amount > 1000",
    "$json.amount >= 1250 && $json.plan === 'pro'",
    "$json.plan !== 'free' || $json.active",
    "!$json.active",
    "$json.plan == 'pro' ? 'paid' : 'free'",
    "'Hello ' + $json.name + '!'",
    "`Dear ${$json.name}, you owe ${$json.amount / 100}`",
    "$json.discount || 'none'",
    "$json.note ?? 'no note'",
    "$json.note === null",
    "$json.missing === undefined",
    "$json.missing !== undefined",
    "$json.count - 1",
    "String($json.count)",
    "parseInt('42')",
    "Object.keys($json.address)",
    "$('Webhook').item.json.body.email",
    "$node[\"Webhook\"].json.body.qty * $node[\"Webhook\"].json.body.price",
    "$('Webhook').first().json.query.ref",
    "$input.item.json.id",
    "$('Fetch').item.json.tags.length > 1",
    "[$json.id, $json.plan]",
    "{ id: $json.id, city: $json.address.city }",
    "$json.email.replaceAll(' ', '')",
];

/// Evaluates every expression with Node.js over the same data.
fn in_javascript() -> Vec<Value> {
    let script = format!(
        r#"
const fetched = {fetched};
const webhook = {webhook};
const nodes = {{ "Webhook": webhook, "Fetch": fetched }};
const $json = fetched;
const $input = {{ item: {{ json: fetched }}, first: () => ({{ json: fetched }}) }};
const $ = (name) => ({{ item: {{ json: nodes[name] }}, first: () => ({{ json: nodes[name] }}), last: () => ({{ json: nodes[name] }}) }});
const $node = {{ "Webhook": {{ json: webhook }}, "Fetch": {{ json: fetched }} }};
const results = {list}.map((source) => {{
  const value = eval("(" + source + ")");
  return value === undefined ? null : value;
}});
process.stdout.write(JSON.stringify(results));
"#,
        fetched = fetched(),
        webhook = webhook(),
        list = serde_json::to_string(EXPRESSIONS).unwrap(),
    );
    let output = Command::new("node")
        .arg("-e")
        .arg(script)
        .output()
        .expect("Node.js runs (a prerequisite of the tests)");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn translated_expressions_give_what_javascript_gives() {
    let expected = in_javascript();
    let context = model::expr::to_context(&json!({
        "trigger": webhook(),
        "steps": {"fetch": {"output": fetched()}},
        "execution": {"id": "run", "workflow_id": "wf"},
    }));
    let expressions = model::expr::shared();
    let mut differences = Vec::new();
    for (source, expected) in EXPRESSIONS.iter().zip(&expected) {
        let translated = expression(source, &Sample).unwrap_or_else(|e| panic!("{source}: {e:?}"));
        let template = format!("{{{{ {} }}}}", translated.code);
        match expressions.evaluate(&template, &context) {
            Ok(got) if testkit::same_json(&got, expected) => {}
            Ok(got) => differences.push(format!("{source} → {template}: {got} ≠ {expected}")),
            Err(error) => differences.push(format!("{source} → {template}: {error}")),
        }
    }
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

#[test]
fn constructs_without_a_faithful_translation_are_named() {
    for (source, named) in [
        ("$json.items.map(i => i.id)", "arrow functions"),
        ("$json.name.replace('a', 'b')", "`.replace()`"),
        ("$now.plus(1, 'day')", "`$now.plus()`"),
        ("Math.round($json.amount)", "`Math.round()`"),
        ("$env.API_KEY", "`$env`"),
        ("$json.tags[-1]", "negative index"),
        ("DateTime.now()", "`DateTime.now()`"),
        // Switchyard writes JSON with spaces after `:` and `,`.
        ("JSON.stringify($json.address)", "`JSON.stringify()`"),
        ("$('Nowhere').item.json.x", "no node Nowhere"),
    ] {
        let error = expression(source, &Sample).unwrap_err();
        assert!(error.0.contains(named), "{source}: {}", error.0);
    }
}
