//! `condition`: fires `true` or `false` depending on an expression.

use model::{Category, FieldSpec, FieldType, KindSpec, Ports};
use serde_json::{Value, json};

use super::{NodeKind, Outcome, StepFuture, StepInput, ready};
use crate::error::StepError;

pub struct Condition;

/// How a value reads as a condition: `null`, `false`, `0`, `""`, `[]` and
/// `{}` are false; everything else is true.
pub fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

impl NodeKind for Condition {
    fn spec(&self) -> KindSpec {
        KindSpec {
            kind: "condition".into(),
            label: "Condition".into(),
            category: Category::Logic,
            description: "Continues on the true or the false branch.".into(),
            fields: vec![
                FieldSpec::new("expression", "Condition", FieldType::Expression)
                    .required()
                    .help("e.g. {{ steps.fetch.output.body.amount > 100 }}"),
            ],
            ports: Ports::Fixed(vec!["true".into(), "false".into()]),
            provider: None,
            output: vec![],
            rules: vec![],
        }
    }

    fn is_pure(&self) -> bool {
        true
    }

    fn run<'a>(&'a self, step: StepInput<'a>) -> StepFuture<'a> {
        let Some(value) = step.config.get("expression") else {
            return ready(Outcome::Failed(StepError::validation(
                "the condition has no expression",
            )));
        };
        let result = truthy(value);
        ready(Outcome::Done {
            output: json!({ "result": result }),
            port: result.to_string(),
        })
    }
}
