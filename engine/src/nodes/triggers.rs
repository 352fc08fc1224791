//! The four ways a run starts. Each trigger's step outputs the trigger
//! payload, which expressions read as `trigger`:
//! - manual: the JSON input given to "Run" (or `{}`);
//! - webhook: `{method, headers, query, body}` of the request;
//! - schedule: `{scheduled_at, scheduled_unix, fired_at, missed}`;
//! - event: `{type, source, data}`.

use model::{Category, FieldSpec, FieldType, KindSpec, catalogue::single_output};
use serde_json::json;

use super::{NodeKind, Outcome, StepFuture, StepInput, ready};

fn trigger_spec(kind: &str, label: &str, description: &str, fields: Vec<FieldSpec>) -> KindSpec {
    KindSpec {
        kind: kind.into(),
        label: label.into(),
        category: Category::Trigger,
        description: description.into(),
        fields,
        ports: single_output(),
        provider: None,
        output: vec![],
        rules: vec![],
    }
}

/// Triggers pass their payload on unchanged.
pub(crate) fn pass_payload(step: StepInput<'_>) -> StepFuture<'static> {
    ready(Outcome::out(step.trigger.clone()))
}

pub struct ManualTrigger;

impl NodeKind for ManualTrigger {
    fn spec(&self) -> KindSpec {
        trigger_spec(
            "manual_trigger",
            "Manual trigger",
            "Starts when you press Run or call the execute endpoint; the JSON input becomes `trigger`.",
            vec![
                FieldSpec::new("sample_input", "Sample input", FieldType::Json)
                    .help("Pre-filled input for test runs from the editor."),
            ],
        )
    }

    fn is_pure(&self) -> bool {
        true
    }

    fn run<'a>(&'a self, step: StepInput<'a>) -> StepFuture<'a> {
        pass_payload(step)
    }
}

pub struct WebhookTrigger;

impl NodeKind for WebhookTrigger {
    fn spec(&self) -> KindSpec {
        let signature = vec![
            FieldSpec::new(
                "scheme",
                "Scheme",
                FieldType::select(&["stripe", "github", "slack", "hmac"]),
            )
            .required(),
            FieldSpec::new("secret", "Secret", FieldType::Secret).required(),
            FieldSpec::new("header", "Header", FieldType::text())
                .help("For hmac: the header carrying the signature."),
            FieldSpec::new(
                "algorithm",
                "Algorithm",
                FieldType::select(&["sha256", "sha1"]),
            ),
            FieldSpec::new("prefix", "Prefix", FieldType::text())
                .help("For hmac: text before the signature, e.g. sha256="),
            FieldSpec::new(
                "encoding",
                "Encoding",
                FieldType::select(&["hex", "base64"]),
            ),
        ];
        trigger_spec(
            "webhook_trigger",
            "Webhook",
            "Starts when a request reaches the workflow's webhook URL; the request becomes `trigger`.",
            vec![
                FieldSpec::new(
                    "methods",
                    "Methods",
                    FieldType::MultiSelect { options: ["POST", "PUT", "PATCH", "GET", "DELETE"].map(String::from).to_vec() },
                )
                .default_value(json!(["POST"])),
                FieldSpec::new("signature", "Signature check", FieldType::Object { fields: signature }),
                FieldSpec::new("dedupe_header", "Delivery id header", FieldType::text())
                    .help("A header naming each delivery (e.g. X-GitHub-Delivery); repeats within 24 h start no new run."),
                FieldSpec::new("respond", "Respond with", FieldType::select(&["accepted", "output"]))
                    .default_value(json!("accepted")),
            ],
        )
    }

    fn is_pure(&self) -> bool {
        true
    }

    fn run<'a>(&'a self, step: StepInput<'a>) -> StepFuture<'a> {
        pass_payload(step)
    }
}

pub struct ScheduleTrigger;

impl NodeKind for ScheduleTrigger {
    fn spec(&self) -> KindSpec {
        trigger_spec(
            "schedule_trigger",
            "Schedule",
            "Starts on a cron schedule in a time zone.",
            vec![
                FieldSpec::new("cron", "Cron expression", FieldType::text())
                    .required()
                    .help("5 fields (minute hour day month weekday), or 6 with seconds first."),
                FieldSpec::new("timezone", "Time zone", FieldType::text())
                    .default_value(json!("UTC")),
                FieldSpec::new(
                    "missed",
                    "Missed runs",
                    FieldType::select(&["skip", "run_once"]),
                )
                .default_value(json!("skip"))
                .help("What to do about fire times missed while Switchyard was down."),
            ],
        )
    }

    fn is_pure(&self) -> bool {
        true
    }

    fn run<'a>(&'a self, step: StepInput<'a>) -> StepFuture<'a> {
        pass_payload(step)
    }
}

pub struct EventTrigger;

impl NodeKind for EventTrigger {
    fn spec(&self) -> KindSpec {
        trigger_spec(
            "event_trigger",
            "Event",
            "Starts when an event of this type is posted to /api/v1/events and the filter holds.",
            vec![
                FieldSpec::new("type", "Event type", FieldType::text()).required(),
                FieldSpec::new("filter", "Filter", FieldType::Expression)
                    .help("Optional, on the event: {{ data.amount > 100 }}"),
            ],
        )
    }

    fn is_pure(&self) -> bool {
        true
    }

    fn run<'a>(&'a self, step: StepInput<'a>) -> StepFuture<'a> {
        pass_payload(step)
    }
}
