//! Loops in a run's state: starting one (within the run's budget of loop
//! steps), keeping its items running up to its concurrency, collecting
//! their results, and rebuilding all that from saved steps on resume.

use std::sync::Arc;

use model::StepStatus;
use serde_json::{Value, json};

use super::{ItemKey, MAX_LOOP_STEPS, RunState, Step, StepKey};
use crate::error::StepError;

pub(super) struct LoopProgress {
    pub(super) items: Arc<Vec<Value>>,
    concurrency: usize,
    started: usize,
    done: usize,
    results: Vec<Value>,
}

/// A loop item's instance of the loop body.
pub(super) struct Instance {
    pub(super) loop_node: usize,
    pub(super) parent: ItemKey,
    pub(super) index: usize,
}

impl RunState {
    /// A loop step came out with its items: count them against the budget,
    /// keep them with the step (what a resumed run restarts from) and start
    /// the first ones.
    pub(super) fn start_loop(
        &mut self,
        key: &StepKey,
        items: Vec<Value>,
        concurrency: usize,
        now: i64,
    ) {
        let count = items.len();
        if let Err(error) = self.take_on_loop(key, count) {
            self.fail_attempt(key, error, now);
            return;
        }
        if let Some(step) = self.steps.get_mut(key) {
            step.input = Some(json!({ "items": items, "concurrency": concurrency }));
            step.dirty = true;
        }
        if count == 0 {
            self.succeed(key, json!([]), "out".into(), now);
            return;
        }
        self.loops.insert(
            key.clone(),
            LoopProgress {
                items: Arc::new(items),
                concurrency: concurrency.max(1),
                started: 0,
                done: 0,
                results: vec![Value::Null; count],
            },
        );
        self.emit(
            "step.looping",
            self.step_ref(key, json!({ "items": count, "concurrency": concurrency })),
            now,
        );
        self.top_up_loop(key, now);
    }

    pub(super) fn rebuild_loops(&mut self) {
        let loop_steps: Vec<(StepKey, Value)> = self
            .steps
            .iter()
            .filter(|(k, s)| self.plan.nodes[k.node].is_loop && s.status == StepStatus::Running)
            .filter_map(|(k, s)| s.input.clone().map(|input| (k.clone(), input)))
            .collect();
        for (key, input) in loop_steps {
            let items: Vec<Value> = input
                .get("items")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let concurrency = input
                .get("concurrency")
                .and_then(Value::as_u64)
                .unwrap_or(1)
                .max(1) as usize;
            let body = self.plan.frame_nodes(Some(key.node)).to_vec();
            self.loop_steps += (items.len() * body.len()) as u64;
            let mut progress = LoopProgress {
                results: vec![Value::Null; items.len()],
                items: Arc::new(items),
                concurrency,
                started: 0,
                done: 0,
            };
            for index in 0..progress.items.len() {
                let child = child_item(&key.item, index);
                if !body.iter().any(|&n| {
                    self.steps.contains_key(&StepKey {
                        node: n,
                        item: child.clone(),
                    })
                }) {
                    continue;
                }
                progress.started = progress.started.max(index + 1);
                self.instances.insert(
                    child.clone(),
                    Instance {
                        loop_node: key.node,
                        parent: key.item.clone(),
                        index,
                    },
                );
                let complete = body.iter().all(|&n| {
                    self.steps
                        .get(&StepKey {
                            node: n,
                            item: child.clone(),
                        })
                        .is_some_and(Step::lets_run_continue)
                });
                if complete {
                    progress.done += 1;
                    progress.results[index] = self.item_result(key.node, &child);
                }
            }
            self.loops.insert(key, progress);
        }
    }

    pub(super) fn item_result(&self, loop_node: usize, item: &str) -> Value {
        let sinks = &self.plan.sinks[&loop_node];
        let output_of = |n: usize| {
            self.step(n, item)
                .and_then(|s| s.output.as_deref().cloned())
                .unwrap_or(Value::Null)
        };
        match sinks.as_slice() {
            [only] => output_of(*only),
            several => Value::Object(
                several
                    .iter()
                    .map(|&n| (self.plan.nodes[n].id.clone(), output_of(n)))
                    .collect(),
            ),
        }
    }

    pub(super) fn item_done(&mut self, item: ItemKey, now: i64) {
        let Some(instance) = self.instances.get(&item) else {
            return;
        };
        let loop_key = StepKey {
            node: instance.loop_node,
            item: instance.parent.clone(),
        };
        let index = instance.index;
        let result = self.item_result(loop_key.node, &item);
        let Some(progress) = self.loops.get_mut(&loop_key) else {
            return;
        };
        progress.results[index] = result;
        progress.done += 1;
        if progress.done == progress.items.len() {
            let results = std::mem::take(&mut progress.results);
            self.loops.remove(&loop_key);
            self.succeed(&loop_key, Value::Array(results), "out".into(), now);
        } else {
            self.top_up_loop(&loop_key, now);
        }
    }

    pub(super) fn top_up_loop(&mut self, loop_key: &StepKey, now: i64) {
        if self.failure.is_some() {
            return;
        }
        loop {
            let Some(progress) = self.loops.get_mut(loop_key) else {
                return;
            };
            if progress.started >= progress.items.len()
                || progress.started - progress.done >= progress.concurrency
            {
                return;
            }
            let index = progress.started;
            progress.started += 1;
            let child = child_item(&loop_key.item, index);
            self.instances.insert(
                child.clone(),
                Instance {
                    loop_node: loop_key.node,
                    parent: loop_key.item.clone(),
                    index,
                },
            );
            for node in self.plan.frame_nodes(Some(loop_key.node)).to_vec() {
                self.check_ready(node, &child, now);
            }
        }
    }

    /// Counts a loop's body steps against [`MAX_LOOP_STEPS`]. Inside
    /// another loop, the items that loop has yet to start are assumed to
    /// bring as many, so that loops within loops over too much fail at the
    /// first inner loop, not after taking most of the budget.
    fn take_on_loop(&mut self, key: &StepKey, count: usize) -> Result<(), StepError> {
        let body = self.plan.frame_nodes(Some(key.node)).len().max(1) as u64;
        let steps = count as u64 * body;
        let mut projected = steps;
        let mut item = key.item.clone();
        while let Some(instance) = self.instances.get(&item) {
            let enclosing = StepKey {
                node: instance.loop_node,
                item: instance.parent.clone(),
            };
            if let Some(progress) = self.loops.get(&enclosing) {
                let still_to_come = progress.items.len().saturating_sub(instance.index) as u64;
                projected = projected.saturating_mul(still_to_come.max(1));
            }
            item = instance.parent.clone();
        }
        if self.loop_steps.saturating_add(projected) > MAX_LOOP_STEPS {
            let node = &self.plan.nodes[key.node].id;
            return Err(StepError::validation(format!(
                "the loop `{node}` would make this run take about {} loop steps ({count} items × {body} steps{}), more than the {MAX_LOOP_STEPS} a run may take; split the work into smaller runs",
                self.loop_steps.saturating_add(projected),
                if projected > steps {
                    ", for each item of the enclosing loops"
                } else {
                    ""
                },
            )));
        }
        self.loop_steps += steps;
        Ok(())
    }
}

fn child_item(parent: &str, index: usize) -> ItemKey {
    if parent.is_empty() {
        index.to_string()
    } else {
        format!("{parent}/{index}")
    }
}
