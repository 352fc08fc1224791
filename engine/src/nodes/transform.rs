//! `transform`: builds a JSON value from a template whose strings may hold
//! expressions; the value is the step's output.

use model::{Category, FieldSpec, FieldType, KindSpec, catalogue::single_output};
use serde_json::Value;

use super::{NodeKind, Outcome, StepFuture, StepInput, ready};

pub struct Transform;

impl NodeKind for Transform {
    fn spec(&self) -> KindSpec {
        KindSpec {
            kind: "transform".into(),
            label: "Transform".into(),
            category: Category::Logic,
            description: "Builds a new JSON value from the trigger and earlier steps.".into(),
            fields: vec![FieldSpec::new("template", "Template", FieldType::Json)
                .required()
                .help(r#"Any JSON; strings may hold expressions, e.g. {"email": "{{ trigger.body.email | lower }}"}"#)],
            ports: single_output(),
            provider: None,
            output: vec![],
            rules: vec![],
        }
    }

    fn is_pure(&self) -> bool {
        true
    }

    fn run<'a>(&'a self, step: StepInput<'a>) -> StepFuture<'a> {
        let template = step.config.get("template").cloned().unwrap_or(Value::Null);
        ready(Outcome::out(template))
    }
}
