//! One n8n node into one Switchyard step: its kind, its config (with the
//! expressions translated), which port each n8n output becomes, and how
//! later nodes read its data.

mod fields;
mod flow;
mod http;
mod loops;
mod providers;
mod triggers;

use std::cell::RefCell;

use model::workflow_import::{ImportIssue, ImportReport};
use serde_json::{Map, Value, json};

use super::{
    EXPRESSION_NOT_IMPORTED, NOT_IMPORTED,
    expression::{self, Sources},
    graph::N8nNode,
};

/// How later nodes read a node's data (`$json`).
#[derive(Clone, Debug, PartialEq)]
pub enum Data {
    /// The run's trigger payload.
    Trigger,
    /// A schedule's payload: n8n's `timestamp` is `scheduled_at`.
    Schedule,
    /// A provider's webhook delivery: n8n's item is its body.
    Delivery,
    /// This expression (`steps.fetch.output.body`).
    Output(String),
    /// These fields from `base`, the others from the node's input.
    Fields { base: String, names: Vec<String> },
    /// The node's input, unchanged (conditions, waits).
    PassThrough,
    /// The input at this index (a merge that passes one branch on).
    FromInput(usize),
    /// A loop: its body (output `body_output`) reads `item` (the whole
    /// item for the field split out, when there is one).
    Loop {
        body_output: usize,
        field: Option<String>,
    },
    /// A merge of several branches.
    Merged,
    /// Nothing a later node can read.
    Nothing,
}

#[derive(Clone, Debug)]
pub struct Step {
    pub kind: String,
    pub config: Value,
    /// For each n8n output, the ports it becomes (none: not connectable).
    pub ports: Vec<Vec<String>>,
    pub data: Data,
    /// A stand-in for a node that was not imported.
    pub placeholder: bool,
}

impl Step {
    pub fn is_trigger(&self) -> bool {
        matches!(self.data, Data::Trigger | Data::Schedule | Data::Delivery)
    }

    pub fn new(kind: &str, config: Value, ports: &[&[&str]], data: Data) -> Step {
        Step {
            kind: kind.to_owned(),
            config,
            ports: ports
                .iter()
                .map(|p| p.iter().map(|s| (*s).to_owned()).collect())
                .collect(),
            data,
            placeholder: false,
        }
    }
}

pub enum Translation {
    Step(Step),
    /// Why the node has no counterpart.
    Unsupported(String),
}

/// A step in place of a node that was not imported: it keeps the node's
/// place and first output, and fails with its reason when run.
pub fn placeholder() -> Step {
    Step {
        placeholder: true,
        ..Step::new(
            "transform",
            json!({"template": format!("{{{{ {NOT_IMPORTED} }}}}")}),
            &[&["out"]],
            Data::Nothing,
        )
    }
}

/// What one node's translation sees, and the issues it collects.
pub struct Context<'a> {
    pub node: &'a N8nNode,
    pub id: &'a str,
    pub sources: &'a dyn Sources,
    pub timezone: Option<&'a str>,
    issues: RefCell<Vec<(bool, Option<String>, String)>>,
}

impl<'a> Context<'a> {
    pub fn new(
        node: &'a N8nNode,
        id: &'a str,
        sources: &'a dyn Sources,
        timezone: Option<&'a str>,
    ) -> Context<'a> {
        Context {
            node,
            id,
            sources,
            timezone,
            issues: RefCell::new(Vec::new()),
        }
    }

    pub fn unsupported(&self, field: Option<&str>, message: impl Into<String>) {
        self.issues.borrow_mut().push((
            true,
            field.map(|f| format!("parameters.{f}")),
            message.into(),
        ));
    }

    pub fn note(&self, field: Option<&str>, message: impl Into<String>) {
        self.issues.borrow_mut().push((
            false,
            field.map(|f| format!("parameters.{f}")),
            message.into(),
        ));
    }

    pub fn finish(&self, report: &mut ImportReport) {
        for (unsupported, field, message) in self.issues.borrow_mut().drain(..) {
            let issue = ImportIssue {
                node: self.node.name.clone(),
                node_type: self.node.ty.clone(),
                node_id: Some(self.id.to_owned()),
                field,
                message,
            };
            if unsupported {
                report.unsupported.push(issue);
            } else {
                report.notes.push(issue);
            }
        }
    }

    /// A parameter by its `.`-separated path; a resource locator
    /// (`{"__rl": true, "value": …}`) gives its value.
    pub fn param(&self, path: &str) -> Option<&'a Value> {
        let mut value = &self.node.parameters;
        for part in path.split('.') {
            value = value.get(part)?;
        }
        match value {
            Value::Object(map) if map.contains_key("__rl") => map.get("value"),
            other => Some(other),
        }
    }

    pub fn text(&self, path: &str) -> Option<&'a str> {
        self.param(path).and_then(Value::as_str)
    }

    /// A parameter as a config value, its expressions translated; one that
    /// cannot be is kept as text behind a variable that fails when run.
    pub fn value(&self, path: &str) -> Option<Value> {
        self.param(path).map(|v| self.translate(v, path))
    }

    pub fn translate(&self, value: &Value, path: &str) -> Value {
        match value {
            Value::String(text) => match expression::template(text, self.sources) {
                Ok(template) => Value::String(template),
                Err(error) => {
                    self.unsupported(
                        Some(path),
                        format!("the expression could not be translated: {}", error.0),
                    );
                    Value::String(format!(
                        "{{{{ {EXPRESSION_NOT_IMPORTED} }}}}{{% raw %}}{text}{{% endraw %}}"
                    ))
                }
            },
            Value::Array(items) => {
                Value::Array(items.iter().map(|v| self.translate(v, path)).collect())
            }
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), self.translate(v, path)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    /// One expression for a condition; one that cannot be translated
    /// becomes a variable that fails when run.
    pub fn condition(
        &self,
        field: &str,
        built: Result<String, expression::Untranslatable>,
    ) -> Value {
        match built {
            Ok(code) => Value::String(format!("{{{{ {code} }}}}")),
            Err(error) => {
                self.unsupported(
                    Some(field),
                    format!("the condition could not be translated: {}", error.0),
                );
                Value::String(format!("{{{{ {EXPRESSION_NOT_IMPORTED} }}}}"))
            }
        }
    }

    /// `[{name, value}]` lists (query, headers, body fields) as an object.
    pub fn pairs(&self, path: &str) -> Option<Value> {
        let list = self.param(path)?.as_array()?;
        let mut object = Map::new();
        for (i, pair) in list.iter().enumerate() {
            let Some(name) = pair.get("name").and_then(Value::as_str) else {
                continue;
            };
            let value = pair
                .get("value")
                .cloned()
                .unwrap_or(Value::String(String::new()));
            object.insert(
                name.to_owned(),
                self.translate(&value, &format!("{path}[{i}].value")),
            );
        }
        Some(Value::Object(object))
    }
}

pub fn translate(cx: &Context) -> Translation {
    if cx.node.disabled {
        cx.note(
            None,
            "disabled in n8n: imported as a step that passes its input on",
        );
        return flow::no_op(cx);
    }
    match cx.node.ty.as_str() {
        "n8n-nodes-base.manualTrigger" | "n8n-nodes-base.start" => triggers::manual(cx),
        "n8n-nodes-base.webhook" => triggers::webhook(cx),
        "n8n-nodes-base.scheduleTrigger" => triggers::schedule(cx),
        "n8n-nodes-base.cron" => triggers::cron(cx),
        "n8n-nodes-base.interval" => triggers::interval(cx),
        "n8n-nodes-base.stripeTrigger" | "n8n-nodes-base.githubTrigger" | "n8n-nodes-base.slackTrigger"
        | "n8n-nodes-base.twilioTrigger" => triggers::provider(cx),
        "n8n-nodes-base.httpRequest" => http::request(cx),
        "n8n-nodes-base.if" => flow::condition(cx, true),
        "n8n-nodes-base.filter" => flow::condition(cx, false),
        "n8n-nodes-base.switch" => flow::switch(cx),
        "n8n-nodes-base.set" => fields::set(cx),
        "n8n-nodes-base.wait" => flow::wait(cx),
        "n8n-nodes-base.merge" => flow::merge(cx),
        "n8n-nodes-base.noOp" => flow::no_op(cx),
        "n8n-nodes-base.stopAndError" => flow::stop(cx),
        "n8n-nodes-base.splitOut" => loops::split_out(cx),
        "n8n-nodes-base.splitInBatches" => loops::batches(cx),
        "n8n-nodes-base.code" | "n8n-nodes-base.function" | "n8n-nodes-base.functionItem" => Translation::Unsupported(
            "a Code node runs JavaScript, which Switchyard does not run: redo it with transform, condition and loop steps".into(),
        ),
        other => match providers::translate(cx) {
            Some(translation) => translation,
            None => Translation::Unsupported(format!("Switchyard has no counterpart for the node type `{other}`")),
        },
    }
}
