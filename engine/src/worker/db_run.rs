//! How a worker's task saves a run: its progress through the shared
//! writer (fenced by the lease), its end, and, when the database refuses
//! the run's data, failing it without that data.

use std::sync::Arc;

use model::StepStatus;
use serde_json::Value;
use tokio::sync::watch;
use uuid::Uuid;

use crate::{
    engine::Inner,
    error::StepError,
    metrics::Tally,
    run::{
        RunState, Step, StepKey,
        driver::{Persistence, Stop},
    },
    signals::RunIds,
    store::{
        EventRow, Spilled, StepRow, queue, spill,
        writer::{Finish, SaveError, SaveOp},
    },
    time::now_ms,
};

/// Ends a run `failed` without saving its state (which could not be
/// saved): done with the lease this task holds, so that a run another
/// worker took over is left alone. When even that cannot be written, the
/// lease expires and another worker takes the run over.
pub(super) async fn fail_unsaved(
    inner: &Inner,
    id: Uuid,
    workflow_id: Uuid,
    owner_id: Uuid,
    token: &str,
    error: Value,
) {
    match queue::fail_unsaved(
        &inner.db,
        id,
        owner_id,
        (&inner.config.instance_id, token),
        error,
    )
    .await
    {
        Ok(true) => {
            inner.observe(Tally::run_failed(RunIds {
                execution_id: id,
                workflow_id,
                owner_id,
            }));
            inner.bus.catch_up().await
        }
        Ok(false) => tracing::warn!("the run was no longer this worker's to fail"),
        Err(error) => {
            tracing::error!(%error, "could not fail the run; it resumes when its lease expires")
        }
    }
}

/// The error a run ends with when the database refuses its data.
pub(super) fn rejected_error(error: &str) -> Value {
    tracing::error!(%error, "the database refused the run's data; the run fails");
    let why = if error.contains("\\u0000") || error.contains("Unicode escape") {
        "a value contains the NUL character (U+0000), which the database cannot store"
    } else {
        "the database refused to store it"
    };
    StepError::internal(format!("the run's progress could not be saved: {why}")).to_json()
}

/// Saves one run's progress through the shared writer.
pub(super) struct DbRun {
    pub(super) inner: Arc<Inner>,
    pub(super) id: Uuid,
    pub(super) workflow_id: Uuid,
    pub(super) owner_id: Uuid,
    pub(super) token: String,
    pub(super) next_seq: i32,
    pub(super) stop: watch::Receiver<Option<Stop>>,
}

impl DbRun {
    fn ids(&self) -> RunIds {
        RunIds {
            execution_id: self.id,
            workflow_id: self.workflow_id,
            owner_id: self.owner_id,
        }
    }

    /// The write, and what it counts for once it commits.
    fn save_op(&mut self, state: &mut RunState, finish: Option<Finish>) -> (SaveOp, Tally) {
        let cap = self.inner.config.output_cap_bytes;
        let steps = state
            .take_dirty()
            .into_iter()
            .map(|(key, step)| step_to_row(&state.plan.nodes[key.node].id, &key, step, cap))
            .collect();
        let events = std::mem::take(&mut state.events)
            .into_iter()
            .map(|event| {
                let seq = self.next_seq;
                self.next_seq += 1;
                EventRow {
                    execution_id: self.id,
                    owner_id: self.owner_id,
                    seq,
                    kind: event.kind.to_owned(),
                    data: event.data,
                    created_at: event.at,
                }
            })
            .collect::<Vec<_>>();
        let tally = Tally::of(self.ids(), &events, Some(&state.plan), &self.inner.registry)
            .with_dead_letter(finish.as_ref().is_some_and(|f| f.dead_letter.is_some()));
        let op = SaveOp {
            execution_id: self.id,
            token: self.token.clone(),
            steps,
            events,
            finish,
        };
        (op, tally)
    }

    pub(super) async fn finish(&mut self, state: &mut RunState, finish: Finish) -> Result<(), ()> {
        let (op, tally) = self.save_op(state, Some(finish));
        match self.inner.writer.save(op).await {
            Ok(_) => {
                self.inner.observe(tally);
                Ok(())
            }
            Err(SaveError::Rejected(error)) => {
                let error = rejected_error(&error);
                fail_unsaved(
                    &self.inner,
                    self.id,
                    self.workflow_id,
                    self.owner_id,
                    &self.token,
                    error,
                )
                .await;
                Err(())
            }
            Err(error) => {
                if matches!(error, SaveError::LeaseLost) {
                    self.inner.services.metrics.lease_lost();
                }
                tracing::error!(?error, "could not save the end of the run");
                Err(())
            }
        }
    }

    pub(super) async fn finish_without_state(
        &mut self,
        finish: Finish,
        (kind, data): (&str, Value),
    ) -> Result<(), ()> {
        let event = EventRow {
            execution_id: self.id,
            owner_id: self.owner_id,
            seq: self.next_seq,
            kind: kind.into(),
            data,
            created_at: now_ms(),
        };
        let tally = Tally::of(
            self.ids(),
            std::slice::from_ref(&event),
            None,
            &self.inner.registry,
        );
        let op = SaveOp {
            execution_id: self.id,
            token: self.token.clone(),
            steps: vec![],
            events: vec![event],
            finish: Some(finish),
        };
        self.inner
            .writer
            .save(op)
            .await
            .map(|_| self.inner.observe(tally))
            .map_err(|error| tracing::error!(?error, "could not save the end of the run"))
    }
}

impl Persistence for DbRun {
    async fn save(&mut self, state: &mut RunState) -> Result<(), Stop> {
        let (op, tally) = self.save_op(state, None);
        let saved = self.inner.writer.save(op).await;
        if saved.is_ok() {
            self.inner.observe(tally);
        }
        match saved {
            Ok(ack) if ack.cancel_requested => Err(Stop::Cancelled),
            Ok(_) => Ok(()),
            Err(SaveError::LeaseLost) => Err(Stop::LeaseLost),
            Err(SaveError::Database(error)) => Err(Stop::Store(error)),
            Err(SaveError::Rejected(error)) => Err(Stop::Rejected(error)),
        }
    }

    async fn stopped(&mut self) -> Stop {
        let stop = match self.stop.wait_for(Option::is_some).await {
            Ok(stop) => stop.clone(),
            Err(_) => None,
        };
        match stop {
            Some(stop) => stop,
            None => std::future::pending().await,
        }
    }
}

fn step_to_row(node_id: &str, key: &StepKey, step: Step, cap: usize) -> StepRow {
    let mut spilled = Vec::new();
    let mut keep = |field: &'static str, value: Value| {
        let (shown, whole) = spill(value, cap);
        if let Some(text) = whole {
            spilled.push(Spilled { field, text });
        }
        shown
    };
    let input = step.input.map(|input| keep("input", input));
    let output = step
        .output
        .map(|output| keep("output", Arc::unwrap_or_clone(output)));
    StepRow {
        node_id: node_id.to_owned(),
        item_key: key.item.clone(),
        status: step.status.as_str().to_owned(),
        attempts: step.attempts as i32,
        port: step.port,
        input,
        output,
        error: step.error.map(|error| error.to_json()),
        started_at: step.started_at,
        finished_at: step.finished_at,
        wake_at: step.wake_at,
        spilled,
    }
}

pub(super) fn step_from_row(plan: &crate::run::Plan, row: &StepRow) -> Option<(StepKey, Step)> {
    let node = plan.index_of(&row.node_id)?;
    let mut step = Step::new(StepStatus::parse(&row.status).unwrap_or(StepStatus::Pending));
    step.attempts = row.attempts.max(0) as u32;
    step.port = row.port.clone();
    step.input = row.input.clone();
    step.output = row.output.clone().map(Arc::new);
    step.error = row
        .error
        .clone()
        .and_then(|e| serde_json::from_value(e).ok());
    step.started_at = row.started_at;
    step.finished_at = row.finished_at;
    step.wake_at = row.wake_at;
    Some((
        StepKey {
            node,
            item: row.item_key.clone(),
        },
        step,
    ))
}
