//! `delay`: waits for a duration or until a time. The wait is durable: the
//! run is put aside in the database and picked up again when due, even
//! after a restart.

use model::{
    Category, FieldSpec, FieldType, KindSpec,
    catalogue::{Rule, single_output},
};
use serde::Deserialize;

use super::{NodeKind, Outcome, StepFuture, StepInput, ready};
use crate::{error::StepError, time};

pub struct Delay;

/// Longest delay accepted: one year.
pub const MAX_DELAY_MS: i64 = 366 * 24 * 3600 * 1000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DelayConfig {
    duration_ms: Option<i64>,
    until: Option<String>,
}

impl NodeKind for Delay {
    fn spec(&self) -> KindSpec {
        KindSpec {
            kind: "delay".into(),
            label: "Delay".into(),
            category: Category::Logic,
            description: "Waits for a while, or until a date and time, without holding a worker."
                .into(),
            fields: vec![
                FieldSpec::new(
                    "duration_ms",
                    "Duration (ms)",
                    FieldType::Integer {
                        min: 0,
                        max: MAX_DELAY_MS,
                    },
                ),
                FieldSpec::new("until", "Until", FieldType::Timestamp)
                    .help("e.g. 2026-12-24T18:00:00Z"),
            ],
            ports: single_output(),
            provider: None,
            output: vec![],
            rules: vec![Rule::ExactlyOneOf {
                fields: vec!["duration_ms".into(), "until".into()],
            }],
        }
    }

    fn run<'a>(&'a self, step: StepInput<'a>) -> StepFuture<'a> {
        let outcome = match step.config::<DelayConfig>() {
            Err(error) => Outcome::Failed(error),
            Ok(DelayConfig {
                duration_ms: Some(ms),
                until: None,
            }) if (0..=MAX_DELAY_MS).contains(&ms) => Outcome::Sleep {
                until_ms: time::now_ms() + ms,
            },
            Ok(DelayConfig {
                duration_ms: None,
                until: Some(until),
            }) => match time::parse_rfc3339_ms(&until) {
                Some(until_ms) => Outcome::Sleep { until_ms },
                None => Outcome::Failed(StepError::validation(format!(
                    "`{until}` is not a date and time like 2026-01-31T09:00:00Z"
                ))),
            },
            Ok(_) => Outcome::Failed(StepError::validation(
                "set exactly one of duration_ms (0 to one year) or until",
            )),
        };
        ready(outcome)
    }
}
