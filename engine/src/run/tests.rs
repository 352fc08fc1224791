//! In-memory runs: branching, merging, loops, retries, error handling and
//! expressions, plus a property test over random graphs.

use std::sync::{Arc, Mutex};

use model::{Category, FieldSpec, FieldType, KindSpec, StepStatus, catalogue::single_output};
use proptest::prelude::*;
use serde_json::{Value, json};

use super::{Plan, RunEnd, RunState, driver::run_in_memory};
use crate::{
    error::{ErrorClass, StepError},
    nodes::{NodeKind, Outcome, Registry, Services, StepFuture, StepInput},
    outbound::{OutboundClient, OutboundPolicy},
};

/// Records which node ran, in order; not pure, so it runs as a future.
struct Record(Arc<Mutex<Vec<String>>>);

impl NodeKind for Record {
    fn spec(&self) -> KindSpec {
        KindSpec {
            kind: "test.record".into(),
            label: "Record".into(),
            category: Category::Action,
            description: String::new(),
            fields: vec![FieldSpec::new("value", "Value", FieldType::Json)],
            ports: single_output(),
            provider: None,
            output: vec![],
            rules: vec![],
        }
    }

    fn run<'a>(&'a self, step: StepInput<'a>) -> StepFuture<'a> {
        Box::pin(async move {
            tokio::task::yield_now().await;
            self.0.lock().unwrap().push(step.node.id.clone());
            Outcome::out(
                step.config
                    .get("value")
                    .cloned()
                    .unwrap_or(json!(step.node.id)),
            )
        })
    }
}

/// Fails with `class` on its first `fail_times` attempts.
struct Flaky;

impl NodeKind for Flaky {
    fn spec(&self) -> KindSpec {
        KindSpec {
            kind: "test.flaky".into(),
            label: "Flaky".into(),
            category: Category::Action,
            description: String::new(),
            fields: vec![
                FieldSpec::new(
                    "fail_times",
                    "Failures",
                    FieldType::Integer { min: 0, max: 100 },
                ),
                FieldSpec::new("class", "Class", FieldType::text()),
            ],
            ports: single_output(),
            provider: None,
            output: vec![],
            rules: vec![],
        }
    }

    fn run<'a>(&'a self, step: StepInput<'a>) -> StepFuture<'a> {
        Box::pin(async move {
            let fail_times = step.config["fail_times"].as_u64().unwrap_or(0) as u32;
            let class: ErrorClass = serde_json::from_value(step.config["class"].clone())
                .unwrap_or(ErrorClass::Transient);
            if step.attempt <= fail_times {
                Outcome::Failed(StepError::new(
                    class,
                    format!("attempt {} failed", step.attempt),
                ))
            } else {
                Outcome::out(json!({ "attempts": step.attempt, "key": step.step_key }))
            }
        })
    }
}

fn registry(log: &Arc<Mutex<Vec<String>>>) -> Registry {
    let mut registry = Registry::builtin();
    registry.register(Record(log.clone()));
    registry.register(Flaky);
    registry
}

fn services() -> Services {
    Services::new(OutboundClient::new(OutboundPolicy::default()))
}

async fn run(definition: Value, trigger: Value) -> (RunEnd, RunState, Vec<String>) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let def = serde_json::from_value(definition).unwrap();
    let plan = Arc::new(Plan::new(def, &registry(&log)).expect("valid workflow"));
    let (end, state) = run_in_memory(plan, trigger, &services()).await;
    let order = log.lock().unwrap().clone();
    (end, state, order)
}

fn status_of(state: &RunState, id: &str, item: &str) -> Option<StepStatus> {
    state
        .steps()
        .find(|(k, _)| state.plan.nodes[k.node].id == id && k.item == item)
        .map(|(_, s)| s.status)
}

fn output_of(state: &RunState, id: &str, item: &str) -> Value {
    state
        .steps()
        .find(|(k, _)| state.plan.nodes[k.node].id == id && k.item == item)
        .and_then(|(_, s)| s.output.as_deref().cloned())
        .unwrap_or(Value::Null)
}

fn workflow(nodes: Value, edges: Value) -> Value {
    json!({"name": "t", "settings": {"retry": {"max_attempts": 3, "initial_delay_ms": 1, "max_delay_ms": 5}}, "nodes": nodes, "edges": edges})
}

#[tokio::test]
async fn branches_run_and_the_branch_not_taken_is_skipped() {
    let (end, state, _) = run(
        workflow(
            json!([
                {"id": "start", "kind": "manual_trigger"},
                {"id": "check", "kind": "condition", "config": {"expression": "{{ trigger.amount > 100 }}"}},
                {"id": "big", "kind": "transform", "config": {"template": {"size": "big", "amount": "{{ trigger.amount }}"}}},
                {"id": "small", "kind": "transform", "config": {"template": {"size": "small"}}},
                {"id": "after_small", "kind": "test.record"},
                {"id": "join", "kind": "merge"}
            ]),
            json!([
                {"source": "start", "target": "check"},
                {"source": "check", "source_port": "true", "target": "big"},
                {"source": "check", "source_port": "false", "target": "small"},
                {"source": "small", "target": "after_small"},
                {"source": "big", "target": "join"},
                {"source": "after_small", "target": "join"}
            ]),
        ),
        json!({"amount": 250}),
    )
    .await;
    assert_eq!(end, RunEnd::Succeeded);
    assert_eq!(status_of(&state, "small", ""), Some(StepStatus::Skipped));
    assert_eq!(
        status_of(&state, "after_small", ""),
        Some(StepStatus::Skipped)
    );
    assert_eq!(
        output_of(&state, "big", ""),
        json!({"size": "big", "amount": 250})
    );
    // The merge waited only for the branch that ran.
    assert_eq!(
        output_of(&state, "join", ""),
        json!({"big": {"size": "big", "amount": 250}})
    );
}

#[tokio::test]
async fn parallel_branches_both_feed_the_merge() {
    let (end, state, order) = run(
        workflow(
            json!([
                {"id": "start", "kind": "manual_trigger"},
                {"id": "a", "kind": "test.record", "config": {"value": 1}},
                {"id": "b", "kind": "test.record", "config": {"value": 2}},
                {"id": "join", "kind": "merge"},
                {"id": "sum", "kind": "transform", "config": {"template": "{{ steps.join.output.a + steps.join.output.b }}"}}
            ]),
            json!([
                {"source": "start", "target": "a"}, {"source": "start", "target": "b"},
                {"source": "a", "target": "join"}, {"source": "b", "target": "join"},
                {"source": "join", "target": "sum"}
            ]),
        ),
        json!({}),
    )
    .await;
    assert_eq!(end, RunEnd::Succeeded);
    assert_eq!(order.len(), 2);
    assert_eq!(output_of(&state, "sum", ""), json!(3));
}

#[tokio::test]
async fn switch_fires_the_first_matching_case_or_default() {
    let def = |country: &str| {
        (
            workflow(
                json!([
                    {"id": "start", "kind": "manual_trigger"},
                    {"id": "route", "kind": "switch", "config": {"cases": [
                        {"port": "eu", "expression": "{{ trigger.country in ['DE', 'FR'] }}"},
                        {"port": "us", "expression": "{{ trigger.country == 'US' }}"}]}},
                    {"id": "eu", "kind": "test.record"}, {"id": "us", "kind": "test.record"}, {"id": "other", "kind": "test.record"}
                ]),
                json!([
                    {"source": "start", "target": "route"},
                    {"source": "route", "source_port": "eu", "target": "eu"},
                    {"source": "route", "source_port": "us", "target": "us"},
                    {"source": "route", "source_port": "default", "target": "other"}
                ]),
            ),
            json!({ "country": country }),
        )
    };
    for (country, ran) in [("FR", "eu"), ("US", "us"), ("JP", "other")] {
        let (definition, trigger) = def(country);
        let (end, _, order) = run(definition, trigger).await;
        assert_eq!(end, RunEnd::Succeeded);
        assert_eq!(order, [ran], "{country}");
    }
}

#[tokio::test]
async fn loops_run_the_body_per_item_and_collect_results_in_order() {
    let (end, state, order) = run(
        workflow(
            json!([
                {"id": "start", "kind": "manual_trigger"},
                {"id": "each", "kind": "loop", "config": {"items": "{{ trigger.names }}", "concurrency": 2}},
                {"id": "greet", "kind": "transform", "config": {"template": "{{ index }}:{{ item | upper }}"}},
                {"id": "mark", "kind": "test.record", "config": {"value": "{{ steps.greet.output }}!"}},
                {"id": "done", "kind": "transform", "config": {"template": "{{ steps.each.output | join(',') }}"}}
            ]),
            json!([
                {"source": "start", "target": "each"},
                {"source": "each", "source_port": "body", "target": "greet"},
                {"source": "greet", "target": "mark"},
                {"source": "each", "target": "done"}
            ]),
        ),
        json!({"names": ["ada", "bob", "cy"]}),
    )
    .await;
    assert_eq!(end, RunEnd::Succeeded);
    assert_eq!(order.len(), 3);
    assert_eq!(
        output_of(&state, "each", ""),
        json!(["0:ADA!", "1:BOB!", "2:CY!"])
    );
    assert_eq!(output_of(&state, "done", ""), json!("0:ADA!,1:BOB!,2:CY!"));
    assert_eq!(status_of(&state, "mark", "2"), Some(StepStatus::Succeeded));
}

#[tokio::test]
async fn nested_loops_and_empty_lists() {
    let (end, state, _) = run(
        workflow(
            json!([
                {"id": "start", "kind": "manual_trigger"},
                {"id": "rows", "kind": "loop", "config": {"items": "{{ trigger.grid }}"}},
                {"id": "cells", "kind": "loop", "config": {"items": "{{ item }}"}},
                {"id": "double", "kind": "transform", "config": {"template": "{{ item * 2 }}"}}
            ]),
            json!([
                {"source": "start", "target": "rows"},
                {"source": "rows", "source_port": "body", "target": "cells"},
                {"source": "cells", "source_port": "body", "target": "double"}
            ]),
        ),
        json!({"grid": [[1, 2], [], [3]]}),
    )
    .await;
    assert_eq!(end, RunEnd::Succeeded);
    assert_eq!(output_of(&state, "rows", ""), json!([[2, 4], [], [6]]));
    assert_eq!(output_of(&state, "double", "0/1"), json!(4));
}

#[tokio::test]
async fn transient_failures_are_retried_until_they_pass() {
    let (end, state, _) = run(
        workflow(
            json!([
                {"id": "start", "kind": "manual_trigger"},
                {"id": "call", "kind": "test.flaky", "config": {"fail_times": 2, "class": "transient"}}
            ]),
            json!([{"source": "start", "target": "call"}]),
        ),
        json!({}),
    )
    .await;
    assert_eq!(end, RunEnd::Succeeded);
    let output = output_of(&state, "call", "");
    assert_eq!(output["attempts"], 3);
    assert_eq!(
        output["key"], "memory:call",
        "the step key is stable across attempts"
    );
}

#[tokio::test]
async fn exhausted_retries_fail_the_run_and_say_so() {
    let (end, state, order) = run(
        workflow(
            json!([
                {"id": "start", "kind": "manual_trigger"},
                {"id": "call", "kind": "test.flaky", "config": {"fail_times": 10, "class": "rate_limit"}},
                {"id": "after", "kind": "test.record"}
            ]),
            json!([{"source": "start", "target": "call"}, {"source": "call", "target": "after"}]),
        ),
        json!({}),
    )
    .await;
    let RunEnd::Failed(error) = end else {
        panic!("expected failure, got {end:?}")
    };
    assert_eq!(error["node_id"], "call");
    assert_eq!(error["message"], "attempt 3 failed");
    assert!(state.failure.as_ref().unwrap().retries_exhausted);
    assert!(order.is_empty(), "nothing runs after the failed step");
}

#[tokio::test]
async fn validation_errors_are_never_retried() {
    let (end, state, _) = run(
        workflow(
            json!([
                {"id": "start", "kind": "manual_trigger"},
                {"id": "call", "kind": "test.flaky", "config": {"fail_times": 1, "class": "validation"}}
            ]),
            json!([{"source": "start", "target": "call"}]),
        ),
        json!({}),
    )
    .await;
    assert!(matches!(end, RunEnd::Failed(_)));
    let attempts = state
        .steps()
        .find(|(k, _)| state.plan.nodes[k.node].id == "call")
        .unwrap()
        .1
        .attempts;
    assert_eq!(attempts, 1);
    assert!(!state.failure.as_ref().unwrap().retries_exhausted);
}

#[tokio::test]
async fn on_error_continue_and_route() {
    let (end, state, order) = run(
        workflow(
            json!([
                {"id": "start", "kind": "manual_trigger"},
                {"id": "soft", "kind": "test.flaky", "on_error": "continue", "retry": {"max_attempts": 1}, "config": {"fail_times": 5}},
                {"id": "next", "kind": "test.record", "config": {"value": "{{ steps.soft.output.error.message }}"}},
                {"id": "routed", "kind": "stop_and_fail", "on_error": "route", "config": {"message": "nope"}},
                {"id": "handler", "kind": "test.record", "config": {"value": "{{ steps.routed.error.message }}"}}
            ]),
            json!([
                {"source": "start", "target": "soft"}, {"source": "soft", "target": "next"},
                {"source": "start", "target": "routed"}, {"source": "routed", "source_port": "error", "target": "handler"}
            ]),
        ),
        json!({}),
    )
    .await;
    assert_eq!(end, RunEnd::Succeeded);
    assert_eq!(status_of(&state, "soft", ""), Some(StepStatus::Failed));
    assert_eq!(output_of(&state, "next", ""), json!("attempt 1 failed"));
    assert_eq!(output_of(&state, "handler", ""), json!("nope"));
    assert_eq!(order.len(), 2);
}

#[tokio::test]
async fn a_missing_path_fails_the_step_with_a_clear_message() {
    let (end, _, _) = run(
        workflow(
            json!([
                {"id": "start", "kind": "manual_trigger"},
                {"id": "shape", "kind": "transform", "config": {"template": {"email": "{{ trigger.body.email }}"}}}
            ]),
            json!([{"source": "start", "target": "shape"}]),
        ),
        json!({"body": {}}),
    )
    .await;
    let RunEnd::Failed(error) = end else {
        panic!("expected failure")
    };
    assert_eq!(error["class"], "validation");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("`trigger.body.email` is not defined"),
        "{error}"
    );
}

#[tokio::test]
async fn stop_and_fail_ends_the_run_with_the_message() {
    let (end, _, _) = run(
        workflow(
            json!([
                {"id": "start", "kind": "manual_trigger"},
                {"id": "stop", "kind": "stop_and_fail", "config": {"message": "Order {{ trigger.id }} has no customer"}}
            ]),
            json!([{"source": "start", "target": "stop"}]),
        ),
        json!({"id": 7}),
    )
    .await;
    let RunEnd::Failed(error) = end else {
        panic!("expected failure")
    };
    assert_eq!(error["message"], "Order 7 has no customer");
    assert_eq!(error["class"], "stopped");
}

#[tokio::test]
async fn short_delays_complete_in_memory() {
    let (end, state, _) = run(
        workflow(
            json!([{"id": "start", "kind": "manual_trigger"}, {"id": "wait", "kind": "delay", "config": {"duration_ms": 20}}]),
            json!([{"source": "start", "target": "wait"}]),
        ),
        json!({}),
    )
    .await;
    assert_eq!(end, RunEnd::Succeeded);
    assert!(output_of(&state, "wait", "")["waited_until"].is_string());
}

#[tokio::test]
async fn a_run_asleep_past_its_deadline_ends_at_the_deadline() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let def = serde_json::from_value(workflow(
        json!([{"id": "start", "kind": "manual_trigger"}, {"id": "wait", "kind": "delay", "config": {"duration_ms": 3_600_000}}]),
        json!([{"source": "start", "target": "wait"}]),
    ))
    .unwrap();
    let plan = Arc::new(Plan::new(def, &registry(&log)).unwrap());
    let started = crate::time::now_ms();
    let mut state = RunState::new(plan, "run".into(), "wf".into(), json!({}), started);
    let deadline = started + 1_000;
    let services = services();
    // The delay sleeps for an hour; the run is handed back to wake at its deadline.
    let mut store = super::driver::InMemory;
    let super::driver::DriveEnd::Sleeping { wake_at } =
        super::driver::drive(&mut state, &services, &mut store, 10, Some(deadline)).await
    else {
        panic!("the run sleeps through its delay");
    };
    assert_eq!(wake_at, deadline);
    tokio::time::sleep(std::time::Duration::from_millis(
        (wake_at - crate::time::now_ms()).max(0) as u64,
    ))
    .await;
    let super::driver::DriveEnd::Ended(RunEnd::Failed(error)) =
        super::driver::drive(&mut state, &services, &mut store, 10, Some(deadline)).await
    else {
        panic!("the run ends at its deadline");
    };
    assert!(
        error["message"].as_str().unwrap().contains("deadline"),
        "{error}"
    );
    assert_eq!(status_of(&state, "wait", ""), Some(StepStatus::Failed));
}

/// A random DAG over `n` recording nodes: node 0 is the trigger, edges only
/// go from lower to higher indices.
fn random_dag() -> impl Strategy<Value = (usize, Vec<(usize, usize)>)> {
    (2usize..14).prop_flat_map(|n| {
        let edges = prop::collection::vec((0..n, 0..n), 0..(n * 3)).prop_map(|pairs| {
            let mut edges: Vec<(usize, usize)> = pairs.into_iter().filter(|(a, b)| a < b).collect();
            edges.sort();
            edges.dedup();
            edges
        });
        (Just(n), edges)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    #[test]
    fn every_reachable_node_runs_once_after_its_dependencies((n, edges) in random_dag()) {
        let nodes: Vec<Value> = (0..n)
            .map(|i| if i == 0 { json!({"id": "n0", "kind": "manual_trigger"}) } else { json!({"id": format!("n{i}"), "kind": "test.record"}) })
            .collect();
        let edge_json: Vec<Value> = edges.iter().map(|(a, b)| json!({"source": format!("n{a}"), "target": format!("n{b}")})).collect();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (end, _, order) = runtime.block_on(run(workflow(json!(nodes), json!(edge_json)), json!({})));
        prop_assert_eq!(end, RunEnd::Succeeded);

        let mut reachable = vec![false; n];
        reachable[0] = true;
        for &(a, b) in &edges {
            if reachable[a] { reachable[b] = true; }
        }
        let ran: Vec<usize> = order.iter().map(|id| id[1..].parse().unwrap()).collect();
        let mut expected: Vec<usize> = (1..n).filter(|&i| reachable[i]).collect();
        let mut sorted = ran.clone();
        sorted.sort();
        expected.sort();
        prop_assert_eq!(&sorted, &expected, "each reachable node runs exactly once");
        for &(a, b) in &edges {
            if a > 0 && reachable[a] {
                let (pa, pb) = (ran.iter().position(|&x| x == a), ran.iter().position(|&x| x == b).unwrap());
                prop_assert!(pa.unwrap() < pb, "n{} ran before its dependency n{}", b, a);
            }
        }
    }
}
