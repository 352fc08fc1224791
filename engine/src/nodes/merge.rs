//! `merge`: waits for every incoming branch that will run (branches not
//! taken do not hold it up) and outputs their outputs by node id.

use model::{Category, KindSpec, catalogue::single_output};
use serde_json::{Map, Value};

use super::{NodeKind, Outcome, StepFuture, StepInput, ready};

pub struct Merge;

impl NodeKind for Merge {
    fn spec(&self) -> KindSpec {
        KindSpec {
            kind: "merge".into(),
            label: "Merge".into(),
            category: Category::Logic,
            description: "Joins branches: waits for those that run and combines their outputs."
                .into(),
            fields: vec![],
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
        let output: Map<String, Value> = step
            .inputs
            .iter()
            .map(|(id, v)| (id.clone(), (**v).clone()))
            .collect();
        ready(Outcome::out(Value::Object(output)))
    }
}
