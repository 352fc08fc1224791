//! Expressions exported to TypeScript give what Switchyard gives: each
//! config value is evaluated by Switchyard and, translated, by the exported
//! runtime (type-checked with `tsc --strict`, run with Node.js), on the
//! same data; values, text and errors are compared.

use serde_json::{Value, json};
use testkit::typescript::Project;

fn context() -> Value {
    json!({
        "trigger": {"body": {"email": "Ada@Example.com", "name": "Ada Lovelace", "amount": 4900, "rate": 2.5,
                             "tags": ["vip", "beta", "vip"], "active": true, "note": null, "zero": 0,
                             "address": {"zip": "N1", "city": "London"}, "items": [{"id": 2, "n": 1.5}, {"id": 1, "n": 3}]},
                    "headers": {"x-id": "7"}},
        "steps": {"fetch": {"output": {"status": 200, "body": {"count": 3, "data": [1, 2, 3]}}, "status": "succeeded", "port": "out", "error": null}},
        "item": {"sku": "A-1", "qty": 2},
        "index": 1,
        "execution": {"id": "run-1", "workflow_id": "wf-1"}
    })
}

/// Config values as workflows hold them.
fn values() -> Vec<Value> {
    [
        "{{ trigger.body.email }}",
        "{{ trigger.body.email | lower }}",
        "Hi {{ trigger.body.name }}, you owe {{ trigger.body.amount / 100 }} EUR",
        "{{ trigger.body.amount / 100 }}",
        "{{ trigger.body.amount // 100 }}",
        "{{ trigger.body.amount % 7 }}",
        "{{ trigger.body.rate * 2 }}",
        "{{ trigger.body.amount > 1000 and trigger.body.active }}",
        "{{ trigger.body.zero or 'none' }}",
        "{{ not trigger.body.active }}",
        "{{ trigger.body.tags | length }}",
        "{{ trigger.body.tags | join(', ') }}",
        "{{ trigger.body.tags | unique | list }}",
        "{{ trigger.body.tags | first }}",
        "{{ trigger.body.tags[-1] }}",
        "{{ trigger.body.tags[0:2] }}",
        "{{ 'vip' in trigger.body.tags }}",
        "{{ trigger.body.name | split(' ') }}",
        "{{ trigger.body.name | upper | replace('A', '4') }}",
        "{{ trigger.body.phone | default('n/a') }}",
        "{{ trigger.body.zero | default(5, true) }}",
        "{{ trigger.body.phone is defined }}",
        "{{ trigger.body.note is none }}",
        "{{ trigger.body.email is startingwith('Ada') }}",
        "{{ trigger.body.address }}",
        "Address: {{ trigger.body.address }} / {{ trigger.body.tags }} / {{ trigger.body.active }} / {{ trigger.body.note }}",
        "{{ trigger.body.address | tojson }}",
        "{{ '%.2f' | format(trigger.body.amount / 100) }}",
        "{{ trigger.body.rate | round }}",
        "{{ trigger.body.amount | string }}",
        "{{ '42' | int + 1 }}",
        "{{ trigger.headers['x-id'] }}",
        "{{ steps.fetch.output.body.count }}",
        "{{ steps.fetch.output.body.data | sum }}",
        "{{ steps.fetch.status == 'succeeded' }}",
        "{{ item.sku ~ '-' ~ item.qty }}",
        "{{ index + 1 }}",
        "{{ execution.id }}",
        "{{ {'email': trigger.body.email | lower, 'n': index} }}",
        "{{ [1, 2.5, 'x'] }}",
        "{{ 'big' if trigger.body.amount > 100 else 'small' }}",
        "{% if trigger.body.active %}on{% else %}off{% endif %}",
        "{% for t in trigger.body.tags %}{{ loop.index }}:{{ t }} {% endfor %}",
        "{{ trigger.body.items | map(attribute='id') | list }}",
        "{{ trigger.body.phone }}",
        "{{ range(3) | list }}",
        "{{ trigger.body.items[0].n + trigger.body.items[1].n }}",
    ]
    .into_iter()
    .map(|s| json!(s))
    .chain([json!({"to": "{{ trigger.body.email }}", "lines": ["{{ index }}", 3, true]}), json!(12), json!(null)])
    .collect()
}

#[test]
fn exported_expressions_give_what_switchyard_gives() {
    let context = context();
    let jinja = model::expr::to_context(&context);
    let expressions = model::expr::shared();
    let mut cases = Vec::new();
    let mut expected = Vec::new();
    let mut refused = Vec::new();
    for value in values() {
        match domain::export::expression::value(&value) {
            Ok(code) => {
                cases.push(format!("() => ({code})"));
                expected.push((value.clone(), expressions.resolve(&value, &jinja)));
            }
            Err(unsupported) => refused.push((value, unsupported.0)),
        }
    }
    // The one construct here the runtime lacks is named, not guessed.
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(refused[0].1.contains("the filter `map`"), "{refused:?}");

    let project = Project::new("export-expressions");
    project.write("expressions.ts", domain::export::EXPRESSIONS_RUNTIME);
    // `process` without Node's types: declared for the test only.
    project.write(
        "cases.ts",
        &format!(
            "import * as x from \"./expressions\";\n\
             declare const process: {{ stdout: {{ write(text: string): void }} }};\n\
             const ctx = {context} as {{ [key: string]: x.Json }};\n\
             const cases: (() => x.Json)[] = [\n{}\n];\n\
             const results = cases.map((run) => {{\n\
               try {{ return {{ ok: run() }}; }} catch (error) {{ return {{ error: (error as Error).message }}; }}\n\
             }});\n\
             process.stdout.write(JSON.stringify(results));\n",
            cases.join(",\n")
        ),
    );
    project.compile("cases.ts", json!({"types": []}));
    let results: Vec<Value> = serde_json::from_value(project.run_json("cases.js")).unwrap();

    let mut differences = Vec::new();
    for ((value, switchyard), exported) in expected.iter().zip(&results) {
        match (switchyard, exported.get("ok")) {
            (Ok(a), Some(b)) if testkit::same_json(a, b) => {}
            (Err(_), None) => {}
            (a, _) => differences.push(format!("{value}: Switchyard {a:?}, exported {exported}")),
        }
    }
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}
