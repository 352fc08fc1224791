//! What one write of a run's progress counts for: read off the events it
//! holds before the write, recorded (metrics) and told (signals) only once
//! the write has committed. A write that fails is made again, by this
//! worker or another, and counted then.

use serde_json::Value;

use super::{KindLabel, Metrics, RetryLabels, RunEndLabels, StepEndLabels, WorkflowLabel};
use crate::{
    nodes::Registry,
    run::Plan,
    signals::{RunIds, RunSignal},
    store::EventRow,
};

enum Seen {
    RunStarted,
    RunEnded {
        status: &'static str,
        seconds: Option<f64>,
    },
    StepEnded {
        kind: String,
        node_id: String,
        status: &'static str,
        /// The error class of a failure.
        class: Option<String>,
        seconds: Option<f64>,
    },
    StepRetried {
        kind: String,
        node_id: String,
        class: &'static str,
    },
    DeadLetter,
}

/// The counts of one write, for one run.
pub struct Tally {
    run: RunIds,
    seen: Vec<Seen>,
}

impl Tally {
    /// Reads `events`; node kinds come from `plan` (when there is one), kinds
    /// not in `registry` (imported APIs) are labelled `imported`.
    pub fn of(run: RunIds, events: &[EventRow], plan: Option<&Plan>, registry: &Registry) -> Tally {
        let kind_of = |data: &Value| -> String {
            let node = data["node_id"].as_str().unwrap_or_default();
            let kind = plan
                .and_then(|plan| plan.def.nodes.iter().find(|n| n.id == node))
                .map(|n| n.kind.as_str())
                .unwrap_or("unknown");
            if registry.get(kind).is_some() {
                kind.to_owned()
            } else {
                "imported".to_owned()
            }
        };
        let node_of = |data: &Value| data["node_id"].as_str().unwrap_or_default().to_owned();
        let seconds = |data: &Value| data["duration_ms"].as_i64().map(|ms| ms as f64 / 1000.0);
        let seen = events
            .iter()
            .filter_map(|event| {
                let data = &event.data;
                Some(match event.kind.as_str() {
                    "execution.started" => Seen::RunStarted,
                    "execution.succeeded" | "execution.failed" | "execution.cancelled" => {
                        Seen::RunEnded {
                            status: status_word(&event.kind["execution.".len()..]),
                            seconds: seconds(data),
                        }
                    }
                    "step.succeeded" => Seen::StepEnded {
                        kind: kind_of(data),
                        node_id: node_of(data),
                        status: "succeeded",
                        class: None,
                        seconds: seconds(data),
                    },
                    "step.failed" => Seen::StepEnded {
                        kind: kind_of(data),
                        node_id: node_of(data),
                        status: "failed",
                        class: data["error"]["class"].as_str().map(str::to_owned),
                        seconds: seconds(data),
                    },
                    "step.retrying" => Seen::StepRetried {
                        kind: kind_of(data),
                        node_id: node_of(data),
                        class: retried_class(data["error"]["class"].as_str()),
                    },
                    _ => return None,
                })
            })
            .collect();
        Tally { run, seen }
    }

    /// A run failed without its state (which could not be saved).
    pub fn run_failed(run: RunIds) -> Tally {
        Tally {
            run,
            seen: vec![Seen::RunEnded {
                status: "failed",
                seconds: None,
            }],
        }
    }

    /// Also counts a dead letter the write adds.
    pub fn with_dead_letter(mut self, added: bool) -> Tally {
        if added {
            self.seen.push(Seen::DeadLetter);
        }
        self
    }

    /// What the write tells watchers: 429s, refused credentials, the end.
    pub fn signals(&self) -> Vec<RunSignal> {
        let run = self.run;
        let dead_letter = self.seen.iter().any(|s| matches!(s, Seen::DeadLetter));
        self.seen
            .iter()
            .filter_map(|seen| match seen {
                Seen::RunEnded { status, .. } => Some(RunSignal::Ended {
                    run,
                    status,
                    dead_letter,
                }),
                Seen::StepRetried {
                    node_id,
                    class: "rate_limit",
                    ..
                } => Some(RunSignal::RateLimited {
                    run,
                    node_id: node_id.clone(),
                }),
                Seen::StepEnded {
                    node_id,
                    class: Some(class),
                    ..
                } => match class.as_str() {
                    "rate_limit" => Some(RunSignal::RateLimited {
                        run,
                        node_id: node_id.clone(),
                    }),
                    "auth" => Some(RunSignal::CredentialsRefused {
                        run,
                        node_id: node_id.clone(),
                    }),
                    _ => None,
                },
                _ => None,
            })
            .collect()
    }

    pub(super) fn record(self, metrics: &Metrics) {
        let workflow = WorkflowLabel {
            workflow_id: self.run.workflow_id.to_string(),
        };
        for seen in self.seen {
            match seen {
                Seen::RunStarted => {
                    metrics.runs_started.get_or_create(&workflow).inc();
                }
                Seen::RunEnded { status, seconds } => {
                    let labels = RunEndLabels {
                        workflow_id: workflow.workflow_id.clone(),
                        status,
                    };
                    metrics.runs_finished.get_or_create(&labels).inc();
                    if let Some(seconds) = seconds {
                        metrics
                            .run_duration
                            .get_or_create(&workflow)
                            .observe(seconds);
                    }
                }
                Seen::StepEnded {
                    kind,
                    status,
                    seconds,
                    ..
                } => {
                    if let Some(seconds) = seconds {
                        let labels = KindLabel { kind: kind.clone() };
                        metrics
                            .step_duration
                            .get_or_create(&labels)
                            .observe(seconds);
                    }
                    metrics
                        .steps_finished
                        .get_or_create(&StepEndLabels { kind, status })
                        .inc();
                }
                Seen::StepRetried { kind, class, .. } => {
                    let labels = RetryLabels {
                        kind,
                        error_class: class,
                    };
                    metrics.step_retries.get_or_create(&labels).inc();
                }
                Seen::DeadLetter => {
                    metrics.dead_letters.get_or_create(&workflow).inc();
                }
            }
        }
    }
}

fn status_word(word: &str) -> &'static str {
    match word {
        "succeeded" => "succeeded",
        "cancelled" => "cancelled",
        _ => "failed",
    }
}

/// Only these classes are retried; a label never carries another text.
fn retried_class(class: Option<&str>) -> &'static str {
    match class {
        Some("rate_limit") => "rate_limit",
        Some("transient") => "transient",
        _ => "other",
    }
}
