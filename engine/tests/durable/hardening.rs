//! Issue #13's engine defects, each reproduced: runs whose task died, intake
//! batches that fail in part, step values over the display cap across a
//! resume, and loops that would take too much.

use std::collections::HashSet;

use engine::{EngineError, store::queue};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};
use testkit::{Backend, Reply};
use uuid::Uuid;

use crate::{
    harness::{Harness, workflow},
    on_both_backends,
};

on_both_backends!(
    item1_a_step_output_the_database_cannot_store_ends_the_run,
    item1_a_run_no_task_works_on_is_taken_over_when_its_lease_expires,
    item2_a_failing_part_of_an_intake_batch_queues_no_run_twice,
    item2_redeliveries_racing_in_several_writers_queue_one_run_per_key,
    item3_a_large_output_survives_a_durable_wait_whole,
    item3_a_loop_over_more_than_the_cap_resumes_with_every_item,
    item4_loops_within_loops_over_too_much_fail_at_once,
    item4_a_run_of_only_inline_steps_keeps_its_deadline,
);

async fn item1_a_step_output_the_database_cannot_store_ends_the_run(h: Harness) {
    h.server
        .script("/nul", vec![Reply::json(200, json!({"text": "a\u{0}b"}))]);
    let definition = workflow(
        json!([
            {"id": "start", "kind": "manual_trigger"},
            {"id": "call", "kind": "http_request", "config": {"url": h.server.url("/nul")}},
            {"id": "after", "kind": "transform", "config": {"template": "{{ steps.call.output.body.text | length }}"}}
        ]),
        json!([{"source": "start", "target": "call"}, {"source": "call", "target": "after"}]),
    );
    // The harness gives up after a minute: a run kept `running` by a
    // heartbeat that outlived its task fails the test there.
    let run = h.run(definition, json!({})).await;
    if h.database.backend == Backend::Sqlite {
        // SQLite stores the text as it is.
        assert_eq!(run.status, "succeeded", "{:?}", run.error);
        assert_eq!(h.step(run.id, "after").await.output, Some(json!(3)));
        return;
    }
    assert_eq!(run.status, "failed");
    let error = run.error.unwrap();
    assert!(
        error["message"].as_str().unwrap().contains("NUL character"),
        "{error}"
    );
    let call = h.step(run.id, "call").await;
    assert_eq!(call.status, "failed", "no step is left running");
    let kinds: Vec<String> = h.events(run.id).await.into_iter().map(|e| e.kind).collect();
    assert_eq!(kinds.last().map(String::as_str), Some("execution.failed"));
    let owner = owner_of(&h, run.id).await;
    let cancel = h.engine.cancel(run.id, owner).await.unwrap();
    assert_eq!(
        cancel,
        queue::CancelOutcome::AlreadyFinished("failed".into())
    );
}

async fn item1_a_run_no_task_works_on_is_taken_over_when_its_lease_expires(h: Harness) {
    let definition = workflow(
        json!([
            {"id": "start", "kind": "manual_trigger"},
            {"id": "wait", "kind": "delay", "config": {"duration_ms": 2_500}},
            {"id": "after", "kind": "transform", "config": {"template": "done"}}
        ]),
        json!([{"source": "start", "target": "wait"}, {"source": "wait", "target": "after"}]),
    );
    let (owner, workflow) = h.workflow(&definition).await;
    let id = h.enqueue(owner, workflow, json!({})).await.id;
    h.wait_for_status(id, &["waiting"]).await;
    // As if a task of this instance had claimed the run and died: the run
    // is `running` under this instance's lease, and no task works on it.
    let lease_until = engine::time::now_ms() + 2_000;
    h.db.execute_raw(Statement::from_sql_and_values(
        h.db.get_database_backend(),
        match h.database.backend {
            Backend::Postgres => "UPDATE executions SET status = 'running', lease_owner = $1, lease_token = 'dead', lease_expires_at = $2 WHERE id = $3",
            Backend::Sqlite => "UPDATE executions SET status = 'running', lease_owner = ?, lease_token = 'dead', lease_expires_at = ? WHERE id = ?",
        },
        [h.engine.instance_id().into(), lease_until.into(), id.into()],
    ))
    .await
    .unwrap();
    let run = h.wait(id).await;
    assert_eq!(run.status, "succeeded", "{:?}", run.error);
    let kinds: Vec<String> = h.events(id).await.into_iter().map(|e| e.kind).collect();
    assert!(
        kinds.iter().any(|k| k == "execution.resumed"),
        "taken over: {kinds:?}"
    );
}

async fn item2_a_failing_part_of_an_intake_batch_queues_no_run_twice(h: Harness) {
    let simple = workflow(
        json!([{"id": "start", "kind": "manual_trigger"}]),
        json!([]),
    );
    let (owner, kept) = h.workflow(&simple).await;
    let (other_owner, deleted) = h.workflow(&simple).await;
    // The engine knows the deleted workflow's plan, so its runs reach the
    // database (and fail there) inside the same batches as the others.
    let first = h.enqueue(other_owner, deleted, json!({})).await;
    h.wait(first.id).await;
    let delete = match h.database.backend {
        Backend::Postgres => "DELETE FROM workflows WHERE id = $1",
        Backend::Sqlite => "DELETE FROM workflows WHERE id = ?",
    };
    let deleted_rows =
        h.db.execute_raw(Statement::from_sql_and_values(
            h.db.get_database_backend(),
            delete,
            [deleted.into()],
        ))
        .await
        .unwrap();
    assert_eq!(deleted_rows.rows_affected(), 1);
    // Payloads of about a kilobyte: a batch spans several statements.
    let pad = "p".repeat(1_000);
    let mut tasks = Vec::new();
    for i in 0..80 {
        let engine = h.engine.clone();
        let (owner, workflow, payload) = match i % 8 {
            3 => (other_owner, deleted, json!({ "i": i, "pad": pad })),
            5 => (owner, kept, json!({ "i": i, "text": "nul \u{0} byte" })),
            _ => (owner, kept, json!({ "i": i, "pad": pad })),
        };
        tasks.push(tokio::spawn(async move {
            engine
                .enqueue(Harness::new_run(owner, workflow, payload))
                .await
        }));
    }
    let mut accepted = HashSet::new();
    let (mut gone, mut refused) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(run) => {
                assert!(run.created);
                assert!(accepted.insert(run.id), "one id answered twice");
            }
            Err(EngineError::UnknownVersion) => gone += 1,
            Err(EngineError::Payload(field, _)) => {
                assert_eq!(field, "body");
                refused += 1
            }
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((accepted.len(), gone, refused), (60, 10, 10));
    let rows =
        h.db.query_all_raw(Statement::from_string(
            h.db.get_database_backend(),
            "SELECT id, workflow_id FROM executions",
        ))
        .await
        .unwrap();
    let stored: Vec<Uuid> = rows
        .iter()
        .map(|row| row.try_get::<Uuid>("", "id").unwrap())
        .collect();
    assert_eq!(stored.len(), 60, "exactly one run per accepted request");
    assert_eq!(stored.into_iter().collect::<HashSet<_>>(), accepted);
}

/// Duplicates of one delivery arriving together land in different
/// writers' statements; the second of a key waits for the first to commit.
/// Neither may hold the event log's turn meanwhile (that deadlocked).
async fn item2_redeliveries_racing_in_several_writers_queue_one_run_per_key(h: Harness) {
    let simple = workflow(
        json!([{"id": "start", "kind": "manual_trigger"}]),
        json!([]),
    );
    let (owner, kept) = h.workflow(&simple).await;
    let pad = "p".repeat(1_500);
    let mut tasks = Vec::new();
    for i in 0..400 {
        let engine = h.engine.clone();
        let mut run = Harness::new_run(owner, kept, json!({ "i": i, "pad": pad }));
        run.idempotency_key = Some(format!("delivery:{}", i % 40));
        tasks.push(tokio::spawn(
            async move { (i % 40, engine.enqueue(run).await) },
        ));
    }
    let mut by_key: std::collections::HashMap<usize, HashSet<Uuid>> = Default::default();
    for task in tasks {
        let (key, answer) = task.await.unwrap();
        let run = answer.unwrap_or_else(|e| panic!("delivery {key}: {e:?}"));
        by_key.entry(key).or_default().insert(run.id);
    }
    assert_eq!(by_key.len(), 40);
    assert!(
        by_key.values().all(|ids| ids.len() == 1),
        "every copy of a delivery answers with one run"
    );
    let rows =
        h.db.query_all_raw(Statement::from_string(
            h.db.get_database_backend(),
            "SELECT id FROM executions",
        ))
        .await
        .unwrap();
    assert_eq!(rows.len(), 40);
}

async fn item3_a_large_output_survives_a_durable_wait_whole(h: Harness) {
    let items: Vec<Value> = (0..20_000)
        .map(|n| json!({ "n": n, "pad": "x".repeat(90) }))
        .collect();
    let definition = workflow(
        json!([
            {"id": "start", "kind": "manual_trigger"},
            {"id": "make", "kind": "transform", "config": {"template": "{{ trigger.items }}"}},
            {"id": "wait", "kind": "delay", "config": {"duration_ms": 2_000}},
            {"id": "count", "kind": "transform", "config": {"template": {
                "length": "{{ steps.make.output | length }}",
                "last": "{{ steps.make.output[-1].n }}"
            }}}
        ]),
        json!([
            {"source": "start", "target": "make"}, {"source": "make", "target": "wait"},
            {"source": "wait", "target": "count"}
        ]),
    );
    let (owner, workflow) = h.workflow(&definition).await;
    let id = h
        .enqueue(owner, workflow, json!({ "items": items }))
        .await
        .id;
    h.wait_for_status(id, &["waiting"]).await;
    let run = h.wait(id).await;
    assert_eq!(run.status, "succeeded", "{:?}", run.error);
    assert_eq!(
        h.step(id, "count").await.output,
        Some(json!({"length": 20_000, "last": 19_999}))
    );
    let shown = h.step(id, "make").await.output.unwrap();
    assert_eq!(shown["_truncated"], true, "the row shows a preview");
    assert!(shown["original_size"].as_u64().unwrap() > 2_000_000);
}

async fn item3_a_loop_over_more_than_the_cap_resumes_with_every_item(h: Harness) {
    // One round of 50 (the most run at once), 1.25 MB together; each waits
    // 2 s, far longer than the 300 ms a run is held in memory however slow
    // the machine is, so the run is certainly put aside and resumed.
    let items: Vec<Value> = (0..50)
        .map(|n| json!(format!("{n}:{}", "y".repeat(25_000))))
        .collect();
    let definition = workflow(
        json!([
            {"id": "start", "kind": "manual_trigger"},
            {"id": "each", "kind": "loop", "config": {"items": "{{ trigger.items }}", "concurrency": 50}},
            {"id": "pause", "kind": "delay", "config": {"duration_ms": 2_000}},
            {"id": "count", "kind": "transform", "config": {"template": "{{ steps.each.output | length }}"}}
        ]),
        json!([
            {"source": "start", "target": "each"},
            {"source": "each", "source_port": "body", "target": "pause"},
            {"source": "each", "source_port": "out", "target": "count"}
        ]),
    );
    let run = h.run(definition, json!({ "items": items })).await;
    assert_eq!(run.status, "succeeded", "{:?}", run.error);
    assert_eq!(h.step(run.id, "count").await.output, Some(json!(50)));
    let resumed = h
        .events(run.id)
        .await
        .into_iter()
        .filter(|e| e.kind == "execution.resumed")
        .count();
    assert!(resumed >= 1, "the loop was put aside and resumed");
}

async fn item4_loops_within_loops_over_too_much_fail_at_once(h: Harness) {
    let definition = workflow(
        json!([
            {"id": "start", "kind": "manual_trigger"},
            {"id": "outer", "kind": "loop", "config": {"items": "{{ range(10000) | list }}"}},
            {"id": "inner", "kind": "loop", "config": {"items": "{{ range(10000) | list }}"}},
            {"id": "work", "kind": "transform", "config": {"template": "{{ item }}"}}
        ]),
        json!([
            {"source": "start", "target": "outer"},
            {"source": "outer", "source_port": "body", "target": "inner"},
            {"source": "inner", "source_port": "body", "target": "work"}
        ]),
    );
    let run = h.run(definition, json!({})).await;
    assert_eq!(run.status, "failed");
    let error = run.error.unwrap();
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("loop `inner`"), "{message}");
    assert!(message.contains("100000"), "{message}");
    let steps = h.steps(run.id).await;
    assert!(
        steps.len() < 100,
        "failed before running the loop: {} steps",
        steps.len()
    );
}

async fn item4_a_run_of_only_inline_steps_keeps_its_deadline(h: Harness) {
    let mut definition = workflow(
        json!([
            {"id": "start", "kind": "manual_trigger"},
            {"id": "each", "kind": "loop", "config": {"items": "{{ range(10000) | list }}", "concurrency": 50}},
            {"id": "work", "kind": "transform", "config": {"template": "{{ item * 2 }}"}}
        ]),
        json!([
            {"source": "start", "target": "each"},
            {"source": "each", "source_port": "body", "target": "work"}
        ]),
    );
    definition["settings"]["timeout_ms"] = json!(1);
    let run = h.run(definition, json!({})).await;
    assert_eq!(run.status, "failed");
    let message = run.error.unwrap()["message"].as_str().unwrap().to_owned();
    assert!(message.contains("deadline"), "{message}");
}

async fn owner_of(h: &Harness, id: Uuid) -> Uuid {
    use sea_orm::EntityTrait;
    entity::execution::Entity::find_by_id(id)
        .one(&h.db)
        .await
        .unwrap()
        .unwrap()
        .owner_id
}
