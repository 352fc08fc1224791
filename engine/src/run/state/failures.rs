//! How steps and runs stop short: a failed attempt (retried with backoff,
//! routed to an error port, or failing the run), a cancelled run, and the
//! steps a failed run never started.

use std::sync::Arc;

use model::{OnError, StepStatus};
use serde_json::json;

use super::{MAX_RETRY_AFTER_MS, RunFailure, RunState, StepKey};
use crate::error::{ErrorClass, StepError};

impl RunState {
    pub(super) fn fail_attempt(&mut self, key: &StepKey, error: StepError, now: i64) {
        // Whatever made it, the error is stored, sent as events and may end
        // in a dead letter: credentials in it are masked here, once.
        let error = error.redacted();
        let plan = self.plan.clone();
        let node = &plan.nodes[key.node];
        let Some(step) = self.steps.get_mut(key) else {
            return;
        };
        let attempt = step.attempts;
        if error.class.is_retryable() && attempt < node.retry.max_attempts && self.failure.is_none()
        {
            let backoff = node.retry.delay_ms(attempt, rand::random::<f64>());
            let delay = error
                .retry_after_ms
                .map_or(backoff, |asked| asked.min(MAX_RETRY_AFTER_MS))
                as i64;
            step.status = StepStatus::Retrying;
            step.wake_at = Some(now + delay);
            step.error = Some(error.clone());
            step.dirty = true;
            let data = json!({ "attempt": attempt, "next_attempt_in_ms": delay, "error": error.to_json() });
            self.emit("step.retrying", self.step_ref(key, data), now);
            return;
        }
        step.status = StepStatus::Failed;
        step.error = Some(error.clone());
        step.finished_at = Some(now);
        step.wake_at = None;
        step.dirty = true;
        let handling = if error.class == ErrorClass::Cancelled {
            OnError::Fail
        } else {
            node.on_error
        };
        let handled = match handling {
            OnError::Fail => "fail",
            OnError::Continue => "continue",
            OnError::Route => "route",
        };
        let duration_ms = now - step.started_at.unwrap_or(now);
        let data = json!({ "attempt": attempt, "error": error.to_json(), "handled": handled, "duration_ms": duration_ms });
        self.emit("step.failed", self.step_ref(key, data), now);
        match handling {
            OnError::Fail => {
                if self.failure.is_none() {
                    self.failure = Some(RunFailure {
                        node: key.node,
                        item: key.item.clone(),
                        retries_exhausted: error.class.is_retryable(),
                        error,
                    });
                }
            }
            OnError::Continue | OnError::Route => {
                let step = self.steps.get_mut(key).expect("the step exists");
                step.port = Some(
                    if handling == OnError::Route {
                        "error"
                    } else {
                        "out"
                    }
                    .to_owned(),
                );
                step.output = Some(Arc::new(json!({ "error": error.to_json() })));
                self.settled(key, now);
            }
        }
    }

    /// Stops the run: steps in flight or waiting fail as cancelled, steps
    /// not yet started are skipped.
    pub fn cancel(&mut self, in_flight: &[StepKey], now: i64) {
        let mut open: Vec<StepKey> = self
            .steps
            .iter()
            .filter(|(_, s)| !s.status.is_finished())
            .map(|(k, _)| k.clone())
            .collect();
        open.sort();
        for key in open {
            let step = self.steps.get_mut(&key).expect("the step exists");
            let was_started = in_flight.contains(&key)
                || step.wake_at.is_some()
                || step.status == StepStatus::Running;
            step.status = if was_started {
                StepStatus::Failed
            } else {
                StepStatus::Skipped
            };
            if was_started {
                step.error = Some(StepError::new(
                    ErrorClass::Cancelled,
                    "the run was cancelled",
                ));
            }
            step.finished_at = Some(now);
            step.wake_at = None;
            step.dirty = true;
        }
        self.ready.clear();
    }

    /// Once a run has failed, its steps that never started are skipped.
    pub fn skip_unstarted(&mut self, now: i64) {
        for step in self.steps.values_mut() {
            if matches!(step.status, StepStatus::Pending | StepStatus::Retrying)
                || (step.status == StepStatus::Running && step.wake_at.is_some())
            {
                step.status = StepStatus::Skipped;
                step.finished_at = Some(now);
                step.wake_at = None;
                step.dirty = true;
            }
        }
        self.ready.clear();
    }
}
