//! Drives one execution: starts ready steps (pure ones inline, others
//! concurrently), feeds outcomes back into the state, saves progress before
//! every side effect, and stops for long waits, cancellation or a lost lease.

use std::{future::Future, sync::Arc};

use futures_util::{FutureExt, StreamExt, stream::FuturesUnordered};
use serde_json::{Value, json};

use super::{
    plan::Plan,
    state::{Job, RunEnd, RunState, StepKey},
};
use crate::{
    credentials::SecretSlot,
    error::StepError,
    nodes::{NodeKind, Outcome, Services, StepInput, StepLog},
    time::now_ms,
};

/// Why a drive stopped before the run ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Stop {
    /// Someone cancelled the run; it has been marked cancelled.
    Cancelled,
    /// Another worker owns the run now; nothing more may be written.
    LeaseLost,
    /// The instance is shutting down; the run will resume elsewhere.
    Shutdown,
    /// Saving failed; the run will resume once the lease expires.
    Store(String),
    /// The database refused the run's data; saving it again cannot help.
    Rejected(String),
}

#[derive(Clone, Debug, PartialEq)]
pub enum DriveEnd {
    Ended(RunEnd),
    /// Nothing to do until `wake_at`: put the run aside until then.
    Sleeping {
        wake_at: i64,
    },
    Stopped(Stop),
}

/// Where a drive saves its progress.
pub trait Persistence {
    /// Saves changed steps and new events.
    fn save(&mut self, state: &mut RunState) -> impl Future<Output = Result<(), Stop>> + Send;
    /// Completes when the drive must stop (cancel-safe: polled repeatedly).
    fn stopped(&mut self) -> impl Future<Output = Stop> + Send;
}

/// Drives until the run ends, stops, or has nothing to do for longer than
/// `hold_ms` (shorter waits are slept through here).
pub async fn drive<P: Persistence + Send>(
    state: &mut RunState,
    services: &Services,
    persistence: &mut P,
    hold_ms: i64,
    deadline: Option<i64>,
) -> DriveEnd {
    let mut in_flight = FuturesUnordered::new();
    let mut running: Vec<StepKey> = Vec::new();
    let mut inline_steps: u32 = 0;
    loop {
        let now = now_ms();
        state.wake_due(now);
        while let Some(key) = state.next_ready() {
            // Steps that finish at once never wait on anything: every so
            // often give the thread back, and heed a stop or the deadline,
            // so that a long loop of them cannot hold a worker thread.
            inline_steps += 1;
            if inline_steps.is_multiple_of(INLINE_STEPS_PER_YIELD) {
                tokio::task::yield_now().await;
                if let Some(stop) = persistence.stopped().now_or_never() {
                    state.requeue_ready(key);
                    drop(in_flight);
                    return stopped(state, &running, stop);
                }
                if let Some(limit) = deadline.filter(|limit| now_ms() >= *limit) {
                    state.requeue_ready(key);
                    drop(in_flight);
                    return past_deadline(state, &running, limit);
                }
            }
            let job = match state.start(&key, now) {
                Ok(job) => job,
                Err(error) => {
                    state.apply(&key, Outcome::Failed(error), Vec::new(), now);
                    continue;
                }
            };
            let pure = state.plan.nodes[key.node].is_pure;
            let job = run_job(
                state.plan.clone(),
                state.trigger.clone(),
                state.owner_id,
                state.workflow_id.clone(),
                job,
                services,
            );
            // Lines a step logs name its node; pure steps log nothing and
            // are spared the span.
            let mut future = if pure {
                job.boxed()
            } else {
                let span = tracing::info_span!("step", node_id = %state.plan.nodes[key.node].id);
                tracing::Instrument::instrument(job, span).boxed()
            };
            if pure && let Some((key, outcome, logs)) = (&mut future).now_or_never() {
                state.apply(&key, outcome, logs, now);
                continue;
            }
            // Side effects follow: what happened so far must be durable first.
            let saved = save_while_running(persistence, state, &mut in_flight).await;
            if let Err(stop) = saved {
                return stopped(state, &running, stop);
            }
            running.push(key);
            in_flight.push(future);
            apply_finished(state, &mut running, saved.unwrap_or_default());
        }

        if let Some(end) = state.end(in_flight.len()) {
            if matches!(end, RunEnd::Failed(_)) {
                state.skip_unstarted(now_ms());
            }
            return DriveEnd::Ended(end);
        }
        let wake = state.next_wake();
        if in_flight.is_empty() {
            match wake {
                // A run asleep past its deadline is woken at the deadline,
                // to end then rather than when its delay is over.
                Some(wake_at) if wake_at.min(deadline.unwrap_or(i64::MAX)) - now > hold_ms => {
                    return DriveEnd::Sleeping {
                        wake_at: wake_at.min(deadline.unwrap_or(i64::MAX)),
                    };
                }
                Some(_) => {}
                None => {
                    // Nothing running, ready or due, yet not finished: a bug.
                    let error = StepError::internal("the run stalled: no step can run");
                    return DriveEnd::Ended(RunEnd::Failed(error.to_json()));
                }
            }
        }
        if state.has_dirty() {
            match save_while_running(persistence, state, &mut in_flight).await {
                Ok(finished) if finished.is_empty() => {}
                Ok(finished) => {
                    // Their outcomes may make more steps ready.
                    apply_finished(state, &mut running, finished);
                    continue;
                }
                Err(stop) => {
                    drop(in_flight);
                    return stopped(state, &running, stop);
                }
            }
        }

        let sleep_until = |at: Option<i64>| async move {
            match at {
                Some(at) => {
                    tokio::time::sleep(std::time::Duration::from_millis(
                        (at - now_ms()).max(0) as u64
                    ))
                    .await
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            Some((key, outcome, logs)) = in_flight.next(), if !in_flight.is_empty() => {
                running.retain(|k| k != &key);
                state.apply(&key, outcome, logs, now_ms());
            }
            () = sleep_until(wake) => {}
            stop = persistence.stopped() => {
                drop(in_flight);
                return stopped(state, &running, stop);
            }
            () = sleep_until(deadline) => {
                drop(in_flight);
                return past_deadline(state, &running, deadline.unwrap_or_default());
            }
        }
    }
}

/// What a step future yields: its key, outcome and log lines.
type Finished = (StepKey, Outcome, Vec<String>);

/// Saves while the steps in flight keep running: a step may be halfway
/// through a query of its own (loading its connection), and with a small
/// pool (SQLite has one connection) the save waits for that connection,
/// which the step gives back only when it is polled again. Steps that
/// finish meanwhile are handed back, to be applied after the save.
async fn save_while_running<P, F>(
    persistence: &mut P,
    state: &mut RunState,
    in_flight: &mut FuturesUnordered<F>,
) -> Result<Vec<Finished>, Stop>
where
    P: Persistence + Send,
    F: Future<Output = Finished> + Unpin,
{
    let mut finished = Vec::new();
    let save = persistence.save(state);
    tokio::pin!(save);
    loop {
        tokio::select! {
            saved = &mut save => return saved.map(|()| finished),
            Some(done) = in_flight.next(), if !in_flight.is_empty() => finished.push(done),
        }
    }
}

fn apply_finished(state: &mut RunState, running: &mut Vec<StepKey>, finished: Vec<Finished>) {
    for (key, outcome, logs) in finished {
        running.retain(|k| k != &key);
        state.apply(&key, outcome, logs, now_ms());
    }
}

/// Steps run inline between two yields to the scheduler.
const INLINE_STEPS_PER_YIELD: u32 = 64;

/// Ends a drive whose run passed its deadline (`timeout_ms`).
fn past_deadline(state: &mut RunState, running: &[StepKey], limit: i64) -> DriveEnd {
    state.cancel(running, now_ms());
    let error = json!({ "class": "transient", "message": format!("the run did not finish before its deadline ({})", crate::time::to_rfc3339(limit)) });
    DriveEnd::Ended(RunEnd::Failed(error))
}

/// Ends a drive early; a cancelled run's open steps are closed.
fn stopped(state: &mut RunState, running: &[StepKey], stop: Stop) -> DriveEnd {
    if stop == Stop::Cancelled {
        state.cancel(running, now_ms());
    }
    DriveEnd::Stopped(stop)
}

/// Runs one step to its outcome. Owns what it reads, so that many can run
/// at once while the state keeps changing.
async fn run_job(
    plan: Arc<Plan>,
    trigger: Arc<Value>,
    owner_id: uuid::Uuid,
    workflow_id: String,
    job: Job,
    services: &Services,
) -> (StepKey, Outcome, Vec<String>) {
    let kind: Arc<dyn NodeKind> = plan.nodes[job.key.node].kind.clone();
    let log = StepLog::default();
    let mut config = job.config;
    if let Err(error) = unseal_secrets(&plan, job.key.node, &workflow_id, &mut config, services) {
        return (job.key, Outcome::Failed(error), Vec::new());
    }
    let input = StepInput {
        node: &plan.def.nodes[job.key.node],
        config,
        inputs: job.inputs,
        trigger: &trigger,
        step_key: &job.step_key,
        attempt: job.attempt,
        owner_id,
        services,
        log: log.clone(),
    };
    let outcome = kind.run(input).await;
    (job.key, outcome, log.take())
}

/// Opens the secrets a workflow stores sealed (`sealed:…`) just before
/// the step that uses them runs; they never enter the run's state. Only
/// values sealed in the saved workflow are opened: sealed-looking text that
/// a template produced (from a webhook's payload, say) is left as it is.
fn unseal_secrets(
    plan: &Plan,
    node: usize,
    workflow_id: &str,
    config: &mut Value,
    services: &Services,
) -> Result<(), StepError> {
    let saved = &plan.def.nodes[node];
    for path in &plan.nodes[node].secret_paths {
        let pointer: String = path.iter().map(|part| format!("/{part}")).collect();
        if let Some(Value::String(sealed)) = saved.config.pointer(&pointer)
            && sealed.starts_with("sealed:")
            && let Some(value) = config.pointer_mut(&pointer)
        {
            let slot = SecretSlot {
                workflow_id,
                node_id: &saved.id,
                pointer: &pointer,
            };
            *value = Value::String(services.credentials.unseal(sealed, slot)?);
        }
    }
    Ok(())
}

/// Keeps nothing: for tests, benchmarks and previews.
pub struct InMemory;

impl Persistence for InMemory {
    async fn save(&mut self, state: &mut RunState) -> Result<(), Stop> {
        state.take_dirty();
        state.events.clear();
        Ok(())
    }

    async fn stopped(&mut self) -> Stop {
        std::future::pending().await
    }
}

/// Runs a workflow to its end in memory, sleeping through every wait.
pub async fn run_in_memory(
    plan: Arc<Plan>,
    trigger: Value,
    services: &Services,
) -> (RunEnd, RunState) {
    let mut state = RunState::new(plan, "memory".into(), "memory".into(), trigger, now_ms());
    loop {
        match drive(&mut state, services, &mut InMemory, i64::MAX, None).await {
            DriveEnd::Ended(end) => return (end, state),
            DriveEnd::Sleeping { wake_at } => {
                tokio::time::sleep(std::time::Duration::from_millis(
                    (wake_at - now_ms()).max(0) as u64,
                ))
                .await
            }
            DriveEnd::Stopped(stop) => {
                return (
                    RunEnd::Failed(json!({ "message": format!("{stop:?}") })),
                    state,
                );
            }
        }
    }
}
