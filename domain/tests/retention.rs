//! Retention on a real database filled with tens of thousands of rows:
//! a dry run counts exactly what the pass then deletes; the newest runs,
//! unfinished runs and kept dead letters stay; steps, events and payloads
//! go with their runs; runs queued meanwhile are not held up.

use chrono::{DateTime, Utc};
use domain::retention::{RetentionPolicy, prune};
use engine::{
    Engine, EngineConfig, Registry,
    store::{NewExecution, sql::Sql},
};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde_json::json;
use testkit::{
    Backend, TestDatabase,
    database::seed_workflow,
    fixtures::{FixtureRun as Run, fixture_runs as runs, insert_runs},
};
use uuid::Uuid;

const DAY: i64 = 24 * 60 * 60 * 1000;
const MINUTE: i64 = 60 * 1000;

async fn insert_payload(db: &DatabaseConnection, run: Uuid) {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("INSERT INTO step_payloads (execution_id, node_id, item_key, field, body) VALUES (")
        .bind(run)
        .push(", 'note', '', 'output', ")
        .bind("x".repeat(2_000))
        .push(")");
    db.execute_raw(sql.build()).await.unwrap();
}

async fn insert_dead_letter(db: &DatabaseConnection, run: &Run, at: i64) {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("INSERT INTO dead_letters (id, execution_id, owner_id, workflow_id, node_id, reason, error, created_at) VALUES (")
        .bind(Uuid::new_v4())
        .push(", ")
        .bind(run.id)
        .push(", ")
        .bind(run.owner)
        .push(", ")
        .bind(run.workflow)
        .push(", 'note', 'failed', ");
    sql.bind_json(Some(&json!({"class": "transient"})))
        .push(", ")
        .bind(at)
        .push(")");
    db.execute_raw(sql.build()).await.unwrap();
}

async fn insert_audit(db: &DatabaseConnection, owner: Uuid, at: DateTime<Utc>) {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("INSERT INTO audit_events (id, owner_id, actor_id, workflow_id, action, details, created_at) VALUES (")
        .bind(Uuid::new_v4())
        .push(", ")
        .bind(owner)
        .push(", ")
        .bind(owner)
        .push(", NULL, 'workflow.updated', ");
    sql.bind_json(Some(&json!({})))
        .push(", ")
        .bind(at)
        .push(")");
    db.execute_raw(sql.build()).await.unwrap();
}

async fn count(db: &DatabaseConnection, query: &str) -> i64 {
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            query,
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

fn definition(name: &str) -> serde_json::Value {
    json!({
        "name": name,
        "nodes": [
            {"id": "start", "kind": "manual_trigger"},
            {"id": "note", "kind": "transform", "config": {"template": "{{ trigger.n }}"}}
        ],
        "edges": [{"source": "start", "target": "note"}]
    })
}

async fn pruning_keeps_the_newest_and_deletes_the_rest(backend: Backend) {
    let Some(database) = TestDatabase::create(backend).await else {
        return;
    };
    let db = database.connect_migrated(None).await;
    let now = Utc::now().timestamp_millis();
    let (ada, busy) = seed_workflow(&db, &definition("Busy")).await;
    let (bob, quiet) = seed_workflow(&db, &definition("Quiet")).await;

    // Busy: 6,000 runs that ended 20-24 days ago, 6,000 in the last day.
    let old = runs(busy, ada, "succeeded", 6_000, |i| {
        now - 20 * DAY - i * MINUTE
    });
    let recent = runs(busy, ada, "succeeded", 6_000, |i| now - i * 10_000);
    // Quiet (another account): 4,000 recent runs.
    let quiet_runs = runs(quiet, bob, "failed", 4_000, |i| now - i * 15_000);
    // Unfinished runs, however old, are never pruned.
    let mut unfinished = Vec::new();
    for status in ["queued", "waiting", "running"] {
        unfinished.extend(runs(busy, ada, status, 50, |i| now - 30 * DAY - i));
    }
    // Failed runs with dead letters: one kept (20 days), one past its 90 days.
    let kept_letter = runs(busy, ada, "failed", 1, |_| now - 20 * DAY);
    let expired_letter = runs(busy, ada, "failed", 1, |_| now - 100 * DAY);
    // Runs 5 days old with whole step values: a succeeded one's go, a failed one's stay.
    let with_payload = runs(busy, ada, "succeeded", 100, |i| now - 5 * DAY - i);
    let failed_payload = runs(busy, ada, "failed", 10, |i| now - 5 * DAY - i);
    for batch in [
        &old,
        &recent,
        &quiet_runs,
        &unfinished,
        &kept_letter,
        &expired_letter,
        &with_payload,
        &failed_payload,
    ] {
        insert_runs(&db, batch).await;
    }
    for run in with_payload.iter().chain(&failed_payload) {
        insert_payload(&db, run.id).await;
    }
    insert_dead_letter(&db, &kept_letter[0], now - 20 * DAY).await;
    insert_dead_letter(&db, &expired_letter[0], now - 100 * DAY).await;
    for _ in 0..30 {
        insert_audit(&db, ada, Utc::now() - chrono::Duration::days(400)).await;
    }
    for _ in 0..10 {
        insert_audit(&db, ada, Utc::now()).await;
    }
    let total_runs = count(&db, "SELECT COUNT(*) FROM executions").await;
    assert_eq!(total_runs, 16_262);
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM execution_events").await,
        2 * total_runs
    );

    // By age only: the defaults without the count limit.
    let policy = RetentionPolicy {
        max_runs_per_workflow: 0,
        ..RetentionPolicy::default()
    };
    let dry = prune(&db, &policy, now, None, true).await.unwrap();
    assert_eq!(
        dry.runs, 6_001,
        "the old runs and the expired dead letter's run"
    );
    assert_eq!(dry.step_payloads, 100);
    assert_eq!(dry.dead_letters, 1);
    assert_eq!(dry.audit_entries, 30);
    assert_eq!(dry.by_workflow.len(), 1);
    assert_eq!(
        (dry.by_workflow[0].workflow_id, dry.by_workflow[0].runs),
        (busy, 6_001)
    );
    // One account's dry run sees only its own data.
    let bobs = prune(&db, &policy, now, Some(bob), true).await.unwrap();
    assert_eq!(
        (bobs.runs, bobs.dead_letters, bobs.audit_entries),
        (0, 0, 0)
    );
    // A dry run deletes nothing.
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM executions").await,
        total_runs
    );

    // Runs queued while the pass deletes still run to the end.
    let engine = Engine::start(db.clone(), Registry::builtin(), EngineConfig::default())
        .await
        .unwrap();
    let pass = prune(&db, &policy, now, None, false);
    let intake = async {
        let mut queued = Vec::new();
        for n in 0..20 {
            let run = engine
                .enqueue(NewExecution {
                    workflow_id: quiet,
                    owner_id: bob,
                    workflow_version: 1,
                    trigger_kind: "manual".into(),
                    payload: json!({"n": n}),
                    idempotency_key: None,
                })
                .await
                .unwrap();
            queued.push(run.id);
        }
        queued
    };
    let (done, queued) = tokio::join!(pass, intake);
    let done = done.unwrap();
    assert_eq!(
        (
            done.runs,
            done.step_payloads,
            done.dead_letters,
            done.audit_entries
        ),
        (
            dry.runs,
            dry.step_payloads,
            dry.dead_letters,
            dry.audit_entries
        ),
        "the pass deletes what the dry run counted"
    );
    for id in &queued {
        let finished = wait_finished(&db, *id).await;
        assert_eq!(finished, "succeeded");
    }

    let old_ids: Vec<Uuid> = old.iter().map(|r| r.id).collect();
    assert_eq!(runs_among(&db, &old_ids).await, 0, "old runs are gone");
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM executions").await,
        total_runs - 6_001 + 20
    );
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM executions WHERE status IN ('queued', 'waiting', 'running')"
        )
        .await,
        150,
        "unfinished runs stay (the 20 new ones ended)"
    );
    // Steps and events went with their runs, none are left without one.
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM step_runs s WHERE NOT EXISTS (SELECT 1 FROM executions e WHERE e.id = s.execution_id)").await,
        0
    );
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM execution_events v WHERE NOT EXISTS (SELECT 1 FROM executions e WHERE e.id = v.execution_id)").await,
        0
    );
    assert_eq!(count(&db, "SELECT COUNT(*) FROM dead_letters").await, 1);
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM step_payloads").await,
        10,
        "the failed runs' values stay"
    );
    assert_eq!(count(&db, "SELECT COUNT(*) FROM audit_events").await, 10);

    // Then at most 2,500 finished runs per workflow: the newest.
    let limited = RetentionPolicy {
        max_runs_per_workflow: 2_500,
        ..RetentionPolicy::default()
    };
    let dry = prune(&db, &limited, now, None, true).await.unwrap();
    let done = prune(&db, &limited, now, None, false).await.unwrap();
    assert_eq!(dry.runs, done.runs);
    for workflow in [busy, quiet] {
        let mut sql = Sql::new(db.get_database_backend());
        sql.push("SELECT COUNT(*) AS n FROM executions WHERE finished_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM dead_letters d WHERE d.execution_id = executions.id) AND workflow_id = ")
            .bind(workflow);
        let row = db.query_one_raw(sql.build()).await.unwrap().unwrap();
        let kept: i64 = row.try_get("", "n").unwrap();
        assert_eq!(kept, 2_500, "{workflow} keeps 2,500 runs");
    }
    // The ones kept are the newest: busy's 2,500 most recent.
    let newest: Vec<Uuid> = recent[..2_400].iter().map(|r| r.id).collect();
    let newest_gone = runs_among(&db, &newest).await;
    assert_eq!(newest_gone, 2_400, "the newest runs stay");
    assert!(dry.runs >= 3_500 + 1_500, "{}", dry.runs);
    engine.shutdown(std::time::Duration::from_secs(5)).await;
}

/// How many of `ids` are still runs.
async fn runs_among(db: &DatabaseConnection, ids: &[Uuid]) -> i64 {
    let mut total = 0;
    for chunk in ids.chunks(500) {
        let mut sql = Sql::new(db.get_database_backend());
        sql.push("SELECT COUNT(*) AS n FROM executions WHERE id IN (")
            .list(chunk)
            .push(")");
        let row = db.query_one_raw(sql.build()).await.unwrap().unwrap();
        total += row.try_get::<i64>("", "n").unwrap();
    }
    total
}

async fn wait_finished(db: &DatabaseConnection, id: Uuid) -> String {
    for _ in 0..400 {
        let status: String = {
            let mut sql = Sql::new(db.get_database_backend());
            sql.push("SELECT status FROM executions WHERE id = ")
                .bind(id);
            let row = db.query_one_raw(sql.build()).await.unwrap().unwrap();
            row.try_get("", "status").unwrap()
        };
        if matches!(status.as_str(), "succeeded" | "failed" | "cancelled") {
            return status;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("run {id} did not end");
}

mod sqlite {
    #[tokio::test]
    async fn pruning_keeps_the_newest_and_deletes_the_rest() {
        super::pruning_keeps_the_newest_and_deletes_the_rest(testkit::Backend::Sqlite).await;
    }
}

mod postgres {
    #[tokio::test]
    async fn pruning_keeps_the_newest_and_deletes_the_rest() {
        super::pruning_keeps_the_newest_and_deletes_the_rest(testkit::Backend::Postgres).await;
    }
}
