//! The state of one execution while the engine advances it: which steps
//! ran, what they output, which are ready, waiting or retrying. Pure
//! bookkeeping: no I/O and no clock reads (times are passed in), so the
//! same code drives durable runs and in-memory ones.

use std::{
    collections::{HashMap, VecDeque},
    sync::Arc,
};

use minijinja::value::{Serde, Value as Jinja};
use model::{StepStatus, expr};
use serde_json::{Value, json};

use super::plan::{Plan, redact};

mod context;
mod failures;
mod loops;

use crate::{error::StepError, nodes::Outcome};
use loops::{Instance, LoopProgress};

/// Longest wait a `Retry-After` may impose: one day.
const MAX_RETRY_AFTER_MS: u64 = 24 * 3600 * 1000;
/// Outputs up to this size travel inside live events.
const EVENT_OUTPUT_BYTES: usize = 1024;
/// Loop body steps one run may take at most (loops within loops count
/// their items multiplied): a run over more fails when its loop starts.
pub const MAX_LOOP_STEPS: u64 = 100_000;

/// Empty in the main frame; `3` for the fourth item of a loop, `3/1` nested.
pub type ItemKey = String;

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StepKey {
    pub node: usize,
    pub item: ItemKey,
}

#[derive(Clone, Debug)]
pub struct Step {
    pub status: StepStatus,
    pub attempts: u32,
    pub port: Option<String>,
    /// The evaluated config (credentials hidden), or a loop's items.
    pub input: Option<Value>,
    pub output: Option<Arc<Value>>,
    pub error: Option<StepError>,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub wake_at: Option<i64>,
    /// Changed since the last save.
    pub dirty: bool,
    context_cache: Option<Jinja>,
}

impl Step {
    pub fn new(status: StepStatus) -> Step {
        Step {
            status,
            attempts: 0,
            port: None,
            input: None,
            output: None,
            error: None,
            started_at: None,
            finished_at: None,
            wake_at: None,
            dirty: true,
            context_cache: None,
        }
    }

    /// Finished in a way that lets the run go on (a failure handled by
    /// `continue` or `route` counts, one that fails the run does not).
    fn lets_run_continue(&self) -> bool {
        match self.status {
            StepStatus::Succeeded | StepStatus::Skipped => true,
            StepStatus::Failed => self.port.is_some(),
            _ => false,
        }
    }
}

/// Something that happened, for the event log and live views.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub kind: &'static str,
    pub data: Value,
    pub at: i64,
}

/// Why a run failed.
#[derive(Clone, Debug)]
pub struct RunFailure {
    pub node: usize,
    pub item: ItemKey,
    pub error: StepError,
    /// It failed after using up retries of a retryable error.
    pub retries_exhausted: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub enum RunEnd {
    Succeeded,
    Failed(Value),
    Cancelled,
}

/// A step ready to run, with everything it needs.
pub struct Job {
    pub key: StepKey,
    pub config: Value,
    pub inputs: Vec<(String, Arc<Value>)>,
    pub attempt: u32,
    /// `execution:node[:item]`, stable across retries and restarts.
    pub step_key: String,
}

pub struct RunState {
    pub plan: Arc<Plan>,
    /// Whose run this is (nil for runs outside any account).
    pub owner_id: uuid::Uuid,
    pub execution_id: String,
    pub workflow_id: String,
    /// When the run first started (Unix ms): `execution.started_at`, the
    /// same on every retry and resumption.
    pub started_at: i64,
    pub trigger: Arc<Value>,
    trigger_context: Jinja,
    steps: HashMap<StepKey, Step>,
    loops: HashMap<StepKey, LoopProgress>,
    instances: HashMap<ItemKey, Instance>,
    finished: HashMap<ItemKey, usize>,
    ready: VecDeque<StepKey>,
    /// Loop body steps this run has taken on (see [`MAX_LOOP_STEPS`]).
    loop_steps: u64,
    pub failure: Option<RunFailure>,
    pub events: Vec<Event>,
}

impl RunState {
    pub fn new(
        plan: Arc<Plan>,
        execution_id: String,
        workflow_id: String,
        trigger: Value,
        now: i64,
    ) -> RunState {
        let mut state = RunState::empty(plan, execution_id, workflow_id, trigger);
        state.scan(now);
        state
    }

    fn empty(
        plan: Arc<Plan>,
        execution_id: String,
        workflow_id: String,
        trigger: Value,
    ) -> RunState {
        let trigger = Arc::new(trigger);
        RunState {
            trigger_context: Jinja::from(Serde(&*trigger)),
            plan,
            owner_id: uuid::Uuid::nil(),
            execution_id,
            workflow_id,
            started_at: crate::time::now_ms(),
            trigger,
            steps: HashMap::new(),
            loops: HashMap::new(),
            instances: HashMap::new(),
            finished: HashMap::new(),
            ready: VecDeque::new(),
            loop_steps: 0,
            failure: None,
            events: Vec::new(),
        }
    }

    /// Rebuilds a run from its saved steps. Steps that were running when
    /// the previous worker stopped run again (with the same step key).
    pub fn restore(
        plan: Arc<Plan>,
        execution_id: String,
        workflow_id: String,
        trigger: Value,
        saved: Vec<(StepKey, Step)>,
        now: i64,
    ) -> RunState {
        let mut state = RunState::empty(plan, execution_id, workflow_id, trigger);
        for (key, mut step) in saved {
            step.dirty = false;
            let is_loop = state.plan.nodes[key.node].is_loop;
            if step.status == StepStatus::Running && step.wake_at.is_none() && !is_loop {
                step.status = StepStatus::Pending;
                step.dirty = true;
            }
            state.steps.insert(key, step);
        }
        state.rebuild_loops();
        let mut finished_keys: Vec<StepKey> = state
            .steps
            .iter()
            .filter(|(_, s)| s.lets_run_continue())
            .map(|(k, _)| k.clone())
            .collect();
        finished_keys.sort();
        for key in &finished_keys {
            *state.finished.entry(key.item.clone()).or_default() += 1;
        }
        let pending: Vec<StepKey> = state
            .steps
            .iter()
            .filter(|(_, s)| s.status == StepStatus::Pending)
            .map(|(k, _)| k.clone())
            .collect();
        for key in pending {
            state.steps.remove(&key);
        }
        state.scan(now);
        state
    }

    /// Checks every node of every frame instance for readiness, and tops
    /// up loops to their concurrency.
    fn scan(&mut self, now: i64) {
        let loop_keys: Vec<StepKey> = self.loops.keys().cloned().collect();
        for key in loop_keys {
            self.top_up_loop(&key, now);
        }
        let mut instances: Vec<(Option<usize>, ItemKey)> = vec![(None, String::new())];
        instances.extend(
            self.instances
                .iter()
                .map(|(item, inst)| (Some(inst.loop_node), item.clone())),
        );
        for (frame, item) in instances {
            for node in self.plan.frame_nodes(frame).to_vec() {
                self.check_ready(node, &item, now);
            }
        }
    }

    fn step(&self, node: usize, item: &str) -> Option<&Step> {
        self.steps.get(&StepKey {
            node,
            item: item.to_owned(),
        })
    }

    /// Decides, once all its inputs are settled, whether a node runs or is skipped.
    fn check_ready(&mut self, node: usize, item: &str, now: i64) {
        if self.step(node, item).is_some() {
            return;
        }
        let plan = self.plan.clone();
        let spec = &plan.nodes[node];
        let mut any_taken = spec.is_trigger && item.is_empty();
        for (source, port) in &spec.incoming {
            if plan.is_body_edge(*source, port) && spec.frame == Some(*source) {
                any_taken = true;
                continue;
            }
            match self.step(*source, item) {
                Some(step) if step.lets_run_continue() => {
                    any_taken |= step.status != StepStatus::Skipped
                        && step.port.as_deref() == Some(port.as_str());
                }
                _ => return,
            }
        }
        let key = StepKey {
            node,
            item: item.to_owned(),
        };
        if any_taken {
            self.steps
                .insert(key.clone(), Step::new(StepStatus::Pending));
            self.ready.push_back(key);
        } else {
            let mut step = Step::new(StepStatus::Skipped);
            step.finished_at = Some(now);
            self.steps.insert(key.clone(), step);
            self.emit("step.skipped", self.step_ref(&key, json!({})), now);
            self.settled(&key, now);
        }
    }

    /// A step finished in a way that lets the run go on: count it and look
    /// at what comes after it.
    fn settled(&mut self, key: &StepKey, now: i64) {
        *self.finished.entry(key.item.clone()).or_default() += 1;
        let plan = self.plan.clone();
        for (target, _) in &plan.nodes[key.node].outgoing {
            if plan.nodes[*target].frame == plan.nodes[key.node].frame {
                self.check_ready(*target, &key.item, now);
            }
        }
        if let Some(instance) = self.instances.get(&key.item) {
            let loop_node = instance.loop_node;
            if self.finished[&key.item] == plan.frame_nodes(Some(loop_node)).len() {
                self.item_done(key.item.clone(), now);
            }
        }
    }

    /// The next step to start, unless the run is failing.
    pub fn next_ready(&mut self) -> Option<StepKey> {
        if self.failure.is_some() {
            return None;
        }
        self.ready.pop_front()
    }

    /// Puts back a step taken from [`RunState::next_ready`] but not started.
    pub fn requeue_ready(&mut self, key: StepKey) {
        self.ready.push_front(key);
    }

    /// Marks a step started and evaluates its config; `Err` when the config
    /// cannot be evaluated (the step has then failed).
    pub fn start(&mut self, key: &StepKey, now: i64) -> Result<Job, StepError> {
        let plan = self.plan.clone();
        let node = &plan.nodes[key.node];
        let definition = &plan.def.nodes[key.node];
        let config = if node.templated {
            let context = self.context(key);
            expr::shared()
                .resolve(&definition.config, &context)
                .map_err(|e| StepError::validation(format!("expression error: {e}")))
        } else {
            Ok(definition.config.clone())
        };
        let inputs = node
            .incoming
            .iter()
            .filter_map(|(source, port)| {
                if plan.is_body_edge(*source, port) && node.frame == Some(*source) {
                    let instance = self.instances.get(&key.item)?;
                    let items = &self
                        .loops
                        .get(&StepKey {
                            node: *source,
                            item: instance.parent.clone(),
                        })?
                        .items;
                    return Some((
                        plan.nodes[*source].id.clone(),
                        Arc::new(items.get(instance.index)?.clone()),
                    ));
                }
                let step = self.step(*source, &key.item)?;
                (step.status != StepStatus::Skipped && step.port.as_deref() == Some(port.as_str()))
                    .then(|| {
                        (
                            plan.nodes[*source].id.clone(),
                            step.output.clone().unwrap_or_default(),
                        )
                    })
            })
            .collect();
        let step = self.steps.get_mut(key).expect("a ready step exists");
        step.status = StepStatus::Running;
        step.attempts += 1;
        step.started_at.get_or_insert(now);
        step.wake_at = None;
        step.dirty = true;
        let attempt = step.attempts;
        if let Ok(config) = &config {
            step.input = Some(redact(node, config));
        }
        if !node.is_pure {
            self.emit(
                "step.started",
                self.step_ref(key, json!({ "attempt": attempt })),
                now,
            );
        }
        let step_key = if key.item.is_empty() {
            format!("{}:{}", self.execution_id, node.id)
        } else {
            format!("{}:{}:{}", self.execution_id, node.id, key.item)
        };
        Ok(Job {
            key: key.clone(),
            config: config?,
            inputs,
            attempt,
            step_key,
        })
    }

    /// Records what a step came to.
    pub fn apply(&mut self, key: &StepKey, outcome: Outcome, logs: Vec<String>, now: i64) {
        for line in logs {
            let line = crate::redact::text(&line).into_owned();
            self.emit("step.log", self.step_ref(key, json!({ "line": line })), now);
        }
        match outcome {
            Outcome::Done { output, port } => self.succeed(key, output, port, now),
            Outcome::Failed(error) => self.fail_attempt(key, error, now),
            Outcome::Sleep { until_ms } if until_ms <= now => self.succeed(
                key,
                json!({ "waited_until": crate::time::to_rfc3339(until_ms) }),
                "out".into(),
                now,
            ),
            Outcome::Sleep { until_ms } => {
                if let Some(step) = self.steps.get_mut(key) {
                    step.wake_at = Some(until_ms);
                    step.dirty = true;
                }
                self.emit(
                    "step.waiting",
                    self.step_ref(key, json!({ "until": crate::time::to_rfc3339(until_ms) })),
                    now,
                );
            }
            Outcome::Defer { until_ms, reason } => {
                if let Some(step) = self.steps.get_mut(key) {
                    // Waiting for its turn is not a failed attempt.
                    step.attempts = step.attempts.saturating_sub(1);
                    step.status = StepStatus::Retrying;
                    step.wake_at = Some(until_ms);
                    step.dirty = true;
                }
                let data = json!({ "until": crate::time::to_rfc3339(until_ms), "reason": reason });
                self.emit("step.deferred", self.step_ref(key, data), now);
            }
            Outcome::ForEach { items, concurrency } => {
                self.start_loop(key, items, concurrency, now);
            }
        }
    }

    fn succeed(&mut self, key: &StepKey, output: Value, port: String, now: i64) {
        let Some(step) = self.steps.get_mut(key) else {
            return;
        };
        let duration_ms = now - step.started_at.unwrap_or(now);
        step.status = StepStatus::Succeeded;
        step.port = Some(port.clone());
        step.error = None;
        step.finished_at = Some(now);
        step.wake_at = None;
        step.dirty = true;
        let attempt = step.attempts;
        let (shown, size) = output_for_event(&output);
        step.output = Some(Arc::new(output));
        let mut data = json!({ "attempt": attempt, "port": port, "duration_ms": duration_ms, "output_size": size });
        if let Some(shown) = shown {
            data["output"] = shown;
        }
        self.emit("step.succeeded", self.step_ref(key, data), now);
        self.settled(key, now);
    }

    /// Wakes retries and delays that are due.
    pub fn wake_due(&mut self, now: i64) {
        let mut due: Vec<StepKey> = self
            .steps
            .iter()
            .filter(|(_, s)| s.wake_at.is_some_and(|t| t <= now))
            .map(|(k, _)| k.clone())
            .collect();
        due.sort();
        for key in due {
            let step = self.steps.get_mut(&key).expect("the step exists");
            match step.status {
                StepStatus::Retrying => {
                    step.status = StepStatus::Pending;
                    step.wake_at = None;
                    self.ready.push_back(key);
                }
                StepStatus::Running => {
                    let until = step.wake_at.unwrap_or(now);
                    self.succeed(
                        &key,
                        json!({ "waited_until": crate::time::to_rfc3339(until) }),
                        "out".into(),
                        now,
                    );
                }
                _ => step.wake_at = None,
            }
        }
    }

    /// When the next retry or delay is due.
    pub fn next_wake(&self) -> Option<i64> {
        if self.failure.is_some() {
            return None;
        }
        self.steps.values().filter_map(|s| s.wake_at).min()
    }

    /// How the run ended, once nothing is left to do (`in_flight` steps
    /// still running keep it open).
    pub fn end(&self, in_flight: usize) -> Option<RunEnd> {
        if in_flight > 0 {
            return None;
        }
        if let Some(failure) = &self.failure {
            return Some(RunEnd::Failed(self.failure_json(failure)));
        }
        let main = self.plan.frame_nodes(None).len();
        (self.finished.get("").copied().unwrap_or(0) >= main).then_some(RunEnd::Succeeded)
    }

    pub fn failure_json(&self, failure: &RunFailure) -> Value {
        let mut error = failure.error.to_json();
        error["node_id"] = json!(self.plan.nodes[failure.node].id);
        if !failure.item.is_empty() {
            error["item"] = json!(failure.item);
        }
        error
    }

    /// Steps changed since the last call, oldest first; marks them saved.
    pub fn take_dirty(&mut self) -> Vec<(StepKey, Step)> {
        let mut dirty: Vec<(StepKey, Step)> = self
            .steps
            .iter_mut()
            .filter(|(_, s)| s.dirty)
            .map(|(k, s)| {
                s.dirty = false;
                (k.clone(), s.clone())
            })
            .collect();
        dirty.sort_by(|a, b| a.0.cmp(&b.0));
        dirty
    }

    pub fn has_dirty(&self) -> bool {
        !self.events.is_empty() || self.steps.values().any(|s| s.dirty)
    }

    pub fn steps(&self) -> impl Iterator<Item = (&StepKey, &Step)> {
        self.steps.iter()
    }

    pub fn emit(&mut self, kind: &'static str, data: Value, at: i64) {
        self.events.push(Event { kind, data, at });
    }

    /// `{node_id, item?}` merged into `extra`.
    fn step_ref(&self, key: &StepKey, mut extra: Value) -> Value {
        extra["node_id"] = json!(self.plan.nodes[key.node].id);
        if !key.item.is_empty() {
            extra["item"] = json!(key.item);
        }
        extra
    }
}

/// The output for a live event when it is small enough, and its size.
fn output_for_event(output: &Value) -> (Option<Value>, usize) {
    let size = serde_json::to_string(output).map_or(0, |s| s.len());
    ((size <= EVENT_OUTPUT_BYTES).then(|| output.clone()), size)
}
