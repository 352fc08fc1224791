//! `loop`: runs the sub-path behind its `body` port once per item of an
//! array, at most `concurrency` items at a time, then fires `out` with the
//! results in item order. Inside the body, `item` is the current item and
//! `index` its position.

use model::{Category, FieldSpec, FieldType, KindSpec, Ports};
use serde_json::{Value, json};

use super::{NodeKind, Outcome, StepFuture, StepInput, ready};
use crate::error::StepError;

pub struct Loop;

pub const MAX_ITEMS: usize = 10_000;
pub const MAX_CONCURRENCY: i64 = 50;

impl NodeKind for Loop {
    fn spec(&self) -> KindSpec {
        KindSpec {
            kind: "loop".into(),
            label: "Loop".into(),
            category: Category::Logic,
            description: "Runs the body branch for each item of a list and collects the results."
                .into(),
            fields: vec![
                FieldSpec::new("items", "Items", FieldType::Expression)
                    .required()
                    .help("A list, e.g. {{ steps.fetch.output.body.customers }}"),
                FieldSpec::new(
                    "concurrency",
                    "Concurrency",
                    FieldType::Integer {
                        min: 1,
                        max: MAX_CONCURRENCY,
                    },
                )
                .default_value(json!(1))
                .help("How many items run at the same time."),
            ],
            ports: Ports::Fixed(vec![model::graph::LOOP_BODY_PORT.into(), "out".into()]),
            provider: None,
            output: vec![],
            rules: vec![],
        }
    }

    fn is_pure(&self) -> bool {
        true
    }

    fn run<'a>(&'a self, step: StepInput<'a>) -> StepFuture<'a> {
        let concurrency = step
            .config
            .get("concurrency")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        let outcome = match step.config.get("items") {
            Some(Value::Array(items)) if items.len() > MAX_ITEMS => {
                Outcome::Failed(StepError::validation(format!(
                    "a loop runs at most {MAX_ITEMS} items, got {}",
                    items.len()
                )))
            }
            Some(Value::Array(items)) if (1..=MAX_CONCURRENCY).contains(&concurrency) => {
                Outcome::ForEach {
                    items: items.clone(),
                    concurrency: concurrency as usize,
                }
            }
            Some(Value::Array(_)) => Outcome::Failed(StepError::validation(format!(
                "concurrency must be between 1 and {MAX_CONCURRENCY}"
            ))),
            other => Outcome::Failed(StepError::validation(format!(
                "items must be a list, got {}",
                other.map_or("nothing", json_type)
            ))),
        };
        ready(outcome)
    }
}

pub fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}
