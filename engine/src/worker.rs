//! Workers: a dispatcher claims due runs under a lease and starts one task
//! per run ([`execute`], the `try_execute_task` step), which restores the
//! run's progress, drives it, and writes how it ended.

use std::{collections::HashMap, sync::Arc};

use futures_util::FutureExt;

use serde_json::{Value, json};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use uuid::Uuid;

mod db_run;

use db_run::{DbRun, fail_unsaved, rejected_error, step_from_row};

use crate::{
    engine::Inner,
    error::StepError,
    intake::{self, ExecutionLimit},
    run::{
        RunEnd, RunState,
        driver::{DriveEnd, Persistence, Stop, drive},
    },
    store::{
        StepRow,
        queue::{self, ClaimKind, Claimed},
        writer::{DeadLetter, Finish},
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
        if !claimed.is_empty() {
            let takeovers = claimed
                .iter()
                .filter(|c| c.previous_status == "running")
                .count();
            inner.services.metrics.claimed(true, takeovers);
            inner
                .services
                .metrics
                .claimed(false, claimed.len() - takeovers);
        }
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
    let (id, workflow_id, owner_id) = (run.id, run.workflow_id, run.owner_id);
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
        fail_unsaved(&inner, id, workflow_id, owner_id, &token, error).await;
    }
    drop(working);
    // The room is free before the dispatcher hears of it.
    drop(permit);
    inner.run_finished.notify_one();
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
        workflow_id: run.workflow_id,
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
    state.started_at = run.started_at.unwrap_or(now);
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
            tracing::debug!(duration_ms, "run succeeded");
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
            tracing::info!(
                node_id = error["node_id"].as_str().unwrap_or_default(),
                error_class = error["class"].as_str().unwrap_or_default(),
                duration_ms,
                "run failed"
            );
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
            inner.services.metrics.lease_lost();
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
                run.workflow_id,
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

/// Tells the tasks of running executions to stop.
pub(crate) fn signal_all(running: &HashMap<Uuid, watch::Sender<Option<Stop>>>, stop: Stop) {
    for sender in running.values() {
        let _ = sender.send(Some(stop.clone()));
    }
}
