//! Workers: a dispatcher claims due runs under a lease and starts one task
//! per run ([`execute`], the `try_execute_task` step), which restores the
//! run's progress, drives it, and writes how it ended.

use std::{collections::HashMap, sync::Arc};

use futures_util::FutureExt;

use model::StepStatus;
use serde_json::{Value, json};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use uuid::Uuid;

use crate::{
    engine::Inner,
    error::StepError,
    intake::{self, ExecutionLimit},
    run::{
        RunEnd, RunState, Step, StepKey,
        driver::{DriveEnd, Persistence, Stop, drive},
    },
    store::{
        EventRow, Spilled, StepRow,
        queue::{self, ClaimKind, Claimed},
        spill,
        writer::{DeadLetter, Finish, SaveError, SaveOp},
    },
    time::now_ms,
};

/// Runs claimed by one query at most.
const CLAIM_BATCH: usize = 64;

/// Claims runs while there is room, and waits for work otherwise.
pub(crate) async fn dispatch(inner: Arc<Inner>) {
    let permits = Arc::new(Semaphore::new(inner.config.concurrency));
    let mut limit = ExecutionLimit::new(inner.config.concurrency, inner.config.intake_target);
    let mut window_ends = tokio::time::Instant::now() + intake::WINDOW;
    let mut shutdown = inner.shutdown.subscribe();
    let mut last_abandoned_check = 0;
    let mut last_due_check = 0;
    let mut db_due: Option<i64> = None;
    loop {
        if *shutdown.borrow() {
            return;
        }
        if tokio::time::Instant::now() >= window_ends {
            let before = limit.current();
            if limit.update(&inner.intake) != before {
                tracing::debug!(limit = limit.current(), "runs worked on at once");
            }
            window_ends = tokio::time::Instant::now() + intake::WINDOW;
        }
        let in_flight = inner.config.concurrency - permits.available_permits();
        let free = limit.room(in_flight).min(CLAIM_BATCH);
        if free == 0 {
            tokio::select! {
                () = inner.run_finished.notified() => {}
                () = tokio::time::sleep_until(window_ends) => {}
                _ = shutdown.changed() => {}
            }
            continue;
        }
        let now = now_ms();
        let token = Uuid::new_v4().to_string();
        let lease_until = now + inner.config.lease_ms;
        let mut claimed = Vec::new();
        let mut failed = false;
        if now - last_abandoned_check >= inner.config.poll_ms {
            last_abandoned_check = now;
            match queue::claim(
                &inner.db,
                ClaimKind::Abandoned,
                &inner.config.instance_id,
                &token,
                lease_until,
                free as u64,
            )
            .await
            {
                Ok(runs) => claimed.extend(runs),
                Err(error) => {
                    tracing::error!(%error, "could not claim abandoned runs");
                    failed = true;
                }
            }
        }
        let room = free - claimed.len();
        if room > 0 && !failed {
            match queue::claim(
                &inner.db,
                ClaimKind::Due,
                &inner.config.instance_id,
                &token,
                lease_until,
                room as u64,
            )
            .await
            {
                Ok(runs) => claimed.extend(runs),
                Err(error) => {
                    tracing::error!(%error, "could not claim runs");
                    failed = true;
                }
            }
        }
        let full = claimed.len() >= free;
        limit.started(claimed.len());
        if !claimed.is_empty() {
            start_runs(&inner, claimed, token, &permits).await;
        }
        if full && !failed {
            continue;
        }
        // Due times: those this instance set itself, and the database's
        // (others' runs) looked up once per poll period, not on every wake.
        if !failed && now - last_due_check >= inner.config.poll_ms {
            last_due_check = now;
            db_due = queue::next_due(&inner.db).await.unwrap_or(None);
        }
        let local_due = inner
            .next_local_wake
            .swap(i64::MAX, std::sync::atomic::Ordering::AcqRel);
        let wake_at = [db_due, (local_due != i64::MAX).then_some(local_due)]
            .into_iter()
            .flatten()
            .fold(now + inner.config.poll_ms, i64::min);
        if db_due.is_some_and(|due| due <= wake_at) {
            db_due = None;
        }
        let pause = std::time::Duration::from_millis((wake_at - now_ms()).max(0) as u64);
        tokio::select! {
            () = inner.wake.notified() => {}
            () = tokio::time::sleep(pause) => {}
            _ = shutdown.changed() => {}
        }
    }
}

async fn start_runs(
    inner: &Arc<Inner>,
    claimed: Vec<Claimed>,
    token: String,
    permits: &Arc<Semaphore>,
) {
    let resumed: Vec<Uuid> = claimed
        .iter()
        .filter(|c| c.previous_status != "queued" || c.run_count > 0)
        .map(|c| c.id)
        .collect();
    let (mut steps, seqs) = match queue::progress(&inner.db, &resumed).await {
        Ok(progress) => progress,
        Err(error) => {
            tracing::error!(%error, "could not load the progress of claimed runs");
            let ids: Vec<Uuid> = claimed.iter().map(|c| c.id).collect();
            release(inner, &ids).await;
            return;
        }
    };
    for run in claimed {
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            tracing::warn!(execution_id = %run.id, "claimed more runs than there is room for");
            release(inner, &[run.id]).await;
            continue;
        };
        let saved = steps.remove(&run.id).unwrap_or_default();
        let last_seq = seqs.get(&run.id).copied().unwrap_or(1);
        let inner = inner.clone();
        let token = token.clone();
        inner
            .tasks
            .clone()
            .spawn(execute(inner, run, token, saved, last_seq, permit));
    }
}

/// A run this instance's task works on: listed for the heartbeat (and
/// for stop signals) exactly while the task lives, however it ends.
struct Working<'a> {
    inner: &'a Inner,
    id: Uuid,
}

impl<'a> Working<'a> {
    fn start(inner: &'a Inner, id: Uuid) -> (Working<'a>, watch::Receiver<Option<Stop>>) {
        let (stop_sender, stop) = watch::channel(None);
        inner
            .running
            .lock()
            .expect("running map")
            .insert(id, stop_sender);
        (Working { inner, id }, stop)
    }
}

impl Drop for Working<'_> {
    fn drop(&mut self) {
        if let Ok(mut running) = self.inner.running.lock() {
            running.remove(&self.id);
        }
    }
}

/// Lets other workers take runs this instance claimed but will not work
/// on; when even that fails, their leases expire (nothing renews them).
async fn release(inner: &Inner, ids: &[Uuid]) {
    if let Err(error) = queue::release(&inner.db, &inner.config.instance_id, ids).await {
        tracing::warn!(%error, "could not release claimed runs; their leases will expire");
    }
}

/// Runs one claimed execution until it ends, sleeps or stops.
async fn execute(
    inner: Arc<Inner>,
    run: Claimed,
    token: String,
    saved: Vec<StepRow>,
    last_seq: i32,
    permit: OwnedSemaphorePermit,
) {
    let (working, stop) = Working::start(&inner, run.id);
    let (id, owner_id) = (run.id, run.owner_id);
    let span = tracing::info_span!("execution", execution_id = %id, workflow_id = %run.workflow_id);
    let task = std::panic::AssertUnwindSafe(try_execute_task(
        &inner,
        run,
        token.clone(),
        saved,
        last_seq,
        stop,
    ))
    .catch_unwind();
    if tracing::Instrument::instrument(task, span.clone())
        .await
        .is_err()
    {
        let _enter = span.enter();
        tracing::error!("the run's task panicked; the run fails");
        let error = StepError::internal("the run stopped on an internal error").to_json();
        fail_unsaved(&inner, id, owner_id, &token, error).await;
    }
    drop(working);
    // The room is free before the dispatcher hears of it.
    drop(permit);
    inner.run_finished.notify_one();
}

/// Ends a run `failed` without saving its state (which could not be
/// saved): done with the lease this task holds, so that a run another
/// worker took over is left alone. When even that cannot be written, the
/// lease expires and another worker takes the run over.
async fn fail_unsaved(inner: &Inner, id: Uuid, owner_id: Uuid, token: &str, error: Value) {
    match queue::fail_unsaved(
        &inner.db,
        id,
        owner_id,
        (&inner.config.instance_id, token),
        error,
    )
    .await
    {
        Ok(true) => inner.bus.catch_up().await,
        Ok(false) => tracing::warn!("the run was no longer this worker's to fail"),
        Err(error) => {
            tracing::error!(%error, "could not fail the run; it resumes when its lease expires")
        }
    }
}

/// The error a run ends with when the database refuses its data.
fn rejected_error(error: &str) -> Value {
    tracing::error!(%error, "the database refused the run's data; the run fails");
    let why = if error.contains("\\u0000") || error.contains("Unicode escape") {
        "a value contains the NUL character (U+0000), which the database cannot store"
    } else {
        "the database refused to store it"
    };
    StepError::internal(format!("the run's progress could not be saved: {why}")).to_json()
}

async fn try_execute_task(
    inner: &Arc<Inner>,
    run: Claimed,
    token: String,
    saved: Vec<StepRow>,
    last_seq: i32,
    stop: watch::Receiver<Option<Stop>>,
) -> Result<(), ()> {
    let now = now_ms();
    let mut persistence = DbRun {
        inner: inner.clone(),
        id: run.id,
        owner_id: run.owner_id,
        token,
        next_seq: last_seq + 1,
        stop,
    };
    let payload = run.trigger.get("payload").cloned().unwrap_or(Value::Null);
    let plan = match inner.plan_for(run.workflow_id, run.workflow_version).await {
        Ok(plan) => plan,
        Err(crate::engine::PlanError::Database(error)) => {
            tracing::error!(%error, "could not load the workflow; the run resumes when its lease expires");
            return Err(());
        }
        Err(problem) => {
            // A run whose workflow cannot be planned fails for good.
            let error = StepError::validation(problem.to_string()).to_json();
            let event = ("execution.failed", json!({ "error": error }));
            return persistence
                .finish_without_state(failed_finish(error, None), event)
                .await;
        }
    };
    let mut state = if saved.is_empty() {
        RunState::new(
            plan,
            run.id.to_string(),
            run.workflow_id.to_string(),
            payload,
            now,
        )
    } else {
        let steps = saved
            .iter()
            .filter_map(|row| step_from_row(&plan, row))
            .collect();
        RunState::restore(
            plan,
            run.id.to_string(),
            run.workflow_id.to_string(),
            payload,
            steps,
            now,
        )
    };
    state.owner_id = run.owner_id;
    match run.previous_status.as_str() {
        "queued" => state.emit(
            "execution.started",
            json!({ "run_count": run.run_count, "instance": inner.config.instance_id }),
            now,
        ),
        previous => state.emit(
            "execution.resumed",
            json!({ "from": previous, "instance": inner.config.instance_id }),
            now,
        ),
    }
    let deadline = state
        .plan
        .def
        .settings
        .timeout_ms
        .map(|ms| run.started_at.unwrap_or(now) + ms as i64);
    let end = drive(
        &mut state,
        &inner.services,
        &mut persistence,
        inner.config.hold_ms,
        deadline,
    )
    .await;
    let now = now_ms();
    let duration_ms = now - run.started_at.unwrap_or(now);
    match end {
        DriveEnd::Ended(RunEnd::Succeeded) => {
            state.emit(
                "execution.succeeded",
                json!({ "duration_ms": duration_ms }),
                now,
            );
            let finish = Finish {
                status: "succeeded",
                error: None,
                run_after: None,
                finished_at: Some(now),
                dead_letter: None,
            };
            persistence.finish(&mut state, finish).await
        }
        DriveEnd::Ended(RunEnd::Failed(error)) => {
            state.emit(
                "execution.failed",
                json!({ "error": error, "duration_ms": duration_ms }),
                now,
            );
            let dead_letter =
                state
                    .failure
                    .as_ref()
                    .filter(|f| f.retries_exhausted)
                    .map(|failure| DeadLetter {
                        workflow_id: run.workflow_id,
                        node_id: state.plan.nodes[failure.node].id.clone(),
                        reason: format!(
                            "{} failed after {} attempts: {}",
                            state.plan.nodes[failure.node].id,
                            state.plan.nodes[failure.node].retry.max_attempts,
                            failure.error.message
                        ),
                        error: error.clone(),
                    });
            persistence
                .finish(&mut state, failed_finish(error, dead_letter))
                .await
        }
        DriveEnd::Ended(RunEnd::Cancelled) | DriveEnd::Stopped(Stop::Cancelled) => {
            state.emit("execution.cancelled", json!({}), now);
            let finish = Finish {
                status: "cancelled",
                error: None,
                run_after: None,
                finished_at: Some(now),
                dead_letter: None,
            };
            persistence.finish(&mut state, finish).await
        }
        DriveEnd::Sleeping { wake_at } => {
            inner
                .next_local_wake
                .fetch_min(wake_at, std::sync::atomic::Ordering::AcqRel);
            state.emit(
                "execution.waiting",
                json!({ "until": crate::time::to_rfc3339(wake_at) }),
                now,
            );
            let finish = Finish {
                status: "waiting",
                error: None,
                run_after: Some(wake_at),
                finished_at: None,
                dead_letter: None,
            };
            persistence.finish(&mut state, finish).await
        }
        DriveEnd::Stopped(Stop::Shutdown) => {
            // Keep what is done; another worker takes the rest at once.
            let _ = persistence.save(&mut state).await;
            let _ = queue::release(&inner.db, &inner.config.instance_id, &[run.id]).await;
            Ok(())
        }
        DriveEnd::Stopped(Stop::LeaseLost) => {
            tracing::warn!("lease lost; another worker continues this run");
            Err(())
        }
        DriveEnd::Stopped(Stop::Store(error)) => {
            tracing::error!(%error, "could not save; the run resumes when its lease expires");
            Err(())
        }
        DriveEnd::Stopped(Stop::Rejected(error)) => {
            fail_unsaved(
                inner,
                run.id,
                run.owner_id,
                &persistence.token,
                rejected_error(&error),
            )
            .await;
            Err(())
        }
    }
}

fn failed_finish(error: Value, dead_letter: Option<DeadLetter>) -> Finish {
    Finish {
        status: "failed",
        error: Some(error),
        run_after: None,
        finished_at: Some(now_ms()),
        dead_letter,
    }
}

/// Saves one run's progress through the shared writer.
struct DbRun {
    inner: Arc<Inner>,
    id: Uuid,
    owner_id: Uuid,
    token: String,
    next_seq: i32,
    stop: watch::Receiver<Option<Stop>>,
}

impl DbRun {
    fn save_op(&mut self, state: &mut RunState, finish: Option<Finish>) -> SaveOp {
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
            .collect();
        SaveOp {
            execution_id: self.id,
            token: self.token.clone(),
            steps,
            events,
            finish,
        }
    }

    async fn finish(&mut self, state: &mut RunState, finish: Finish) -> Result<(), ()> {
        let op = self.save_op(state, Some(finish));
        match self.inner.writer.save(op).await {
            Ok(_) => Ok(()),
            Err(SaveError::Rejected(error)) => {
                let error = rejected_error(&error);
                fail_unsaved(&self.inner, self.id, self.owner_id, &self.token, error).await;
                Err(())
            }
            Err(error) => {
                tracing::error!(?error, "could not save the end of the run");
                Err(())
            }
        }
    }

    async fn finish_without_state(
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
            .map(|_| ())
            .map_err(|error| tracing::error!(?error, "could not save the end of the run"))
    }
}

impl Persistence for DbRun {
    async fn save(&mut self, state: &mut RunState) -> Result<(), Stop> {
        let op = self.save_op(state, None);
        match self.inner.writer.save(op).await {
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

fn step_from_row(plan: &crate::run::Plan, row: &StepRow) -> Option<(StepKey, Step)> {
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

/// Tells the tasks of running executions to stop.
pub(crate) fn signal_all(running: &HashMap<Uuid, watch::Sender<Option<Stop>>>, stop: Stop) {
    for sender in running.values() {
        let _ = sender.send(Some(stop.clone()));
    }
}
