//! `stop_and_fail`: ends the run as failed with a message.

use model::{Category, FieldSpec, FieldType, KindSpec, Ports};
use serde_json::Value;

use super::{NodeKind, Outcome, StepFuture, StepInput, ready};
use crate::error::{ErrorClass, StepError};

pub struct StopAndFail;

impl NodeKind for StopAndFail {
    fn spec(&self) -> KindSpec {
        KindSpec {
            kind: "stop_and_fail".into(),
            label: "Stop and fail".into(),
            category: Category::Logic,
            description: "Stops the run and marks it failed with your message.".into(),
            fields: vec![
                FieldSpec::new("message", "Message", FieldType::Text { multiline: true })
                    .required()
                    .help("May use expressions: Order {{ trigger.body.id }} has no customer"),
            ],
            ports: Ports::Fixed(vec![]),
            provider: None,
            output: vec![],
            rules: vec![],
        }
    }

    fn is_pure(&self) -> bool {
        true
    }

    fn run<'a>(&'a self, step: StepInput<'a>) -> StepFuture<'a> {
        let message = match step.config.get("message") {
            Some(Value::String(text)) => text.clone(),
            Some(other) => other.to_string(),
            None => "stopped".to_owned(),
        };
        ready(Outcome::Failed(StepError::new(
            ErrorClass::Stopped,
            message,
        )))
    }
}
