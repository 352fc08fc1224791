//! `switch`: fires the port of the first case whose expression holds, or
//! `default`.

use model::{Category, FieldSpec, FieldType, KindSpec, Ports, catalogue::Rule};
use serde_json::{Value, json};

use super::{NodeKind, Outcome, StepFuture, StepInput, condition::truthy, ready};

pub struct Switch;

pub const DEFAULT_CASE: &str = "default";

impl NodeKind for Switch {
    fn spec(&self) -> KindSpec {
        KindSpec {
            kind: "switch".into(),
            label: "Switch".into(),
            category: Category::Logic,
            description: "Continues on the first case that holds, or on default.".into(),
            fields: vec![
                FieldSpec::new(
                    "cases",
                    "Cases",
                    FieldType::List {
                        fields: vec![
                            FieldSpec::new("port", "Port", FieldType::text()).required(),
                            FieldSpec::new("expression", "When", FieldType::Expression).required(),
                        ],
                        max_items: 32,
                    },
                )
                .required(),
            ],
            ports: Ports::SwitchCases,
            provider: None,
            output: vec![],
            rules: vec![Rule::UniqueNames {
                list: "cases".into(),
                field: "port".into(),
                reserved: vec![DEFAULT_CASE.into(), "error".into()],
            }],
        }
    }

    fn is_pure(&self) -> bool {
        true
    }

    fn run<'a>(&'a self, step: StepInput<'a>) -> StepFuture<'a> {
        let cases = step
            .config
            .get("cases")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let port = cases
            .iter()
            .find(|case| case.get("expression").is_some_and(truthy))
            .and_then(|case| case.get("port").and_then(Value::as_str))
            .unwrap_or(DEFAULT_CASE)
            .to_owned();
        ready(Outcome::Done {
            output: json!({ "port": port }),
            port,
        })
    }
}
