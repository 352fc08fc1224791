//! The scheduler against a real database and engine: one run per tick,
//! missed ticks by policy, paused workflows silent.

use chrono::{DateTime, Utc};
use engine::{Engine, EngineConfig, Registry};
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait, Statement};
use serde_json::{Value, json};
use testkit::{Backend, TestDatabase, database::seed_workflow};
use uuid::Uuid;

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn scheduled(missed: &str) -> Value {
    json!({
        "name": "Every minute",
        "nodes": [
            {"id": "tick", "kind": "schedule_trigger", "config": {"cron": "* * * * *", "timezone": "UTC", "missed": missed}},
            {"id": "note", "kind": "transform", "config": {"template": "{{ trigger.scheduled_at }}"}}
        ],
        "edges": [{"source": "tick", "target": "note"}]
    })
}

async fn setup(
    database: &TestDatabase,
    missed: &str,
    next_fire_at: DateTime<Utc>,
) -> (DatabaseConnection, Engine, Uuid) {
    let db = database.connect_migrated(None).await;
    let engine = Engine::start(db.clone(), Registry::builtin(), EngineConfig::default())
        .await
        .unwrap();
    let (owner, workflow) = seed_workflow(&db, &scheduled(missed)).await;
    let model = entity::workflow::Entity::find_by_id(workflow)
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    domain::schedules::sync(&db, &model).await.unwrap();
    let _ = owner;
    set_next_fire(&db, workflow, next_fire_at).await;
    (db, engine, workflow)
}

async fn set_next_fire(db: &DatabaseConnection, workflow: Uuid, at: DateTime<Utc>) {
    let backend = db.get_database_backend();
    let sql = if backend == sea_orm::DbBackend::Postgres {
        "UPDATE schedules SET next_fire_at = $1 WHERE workflow_id = $2"
    } else {
        "UPDATE schedules SET next_fire_at = ? WHERE workflow_id = ?"
    };
    let done = db
        .execute_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [at.timestamp_millis().into(), workflow.into()],
        ))
        .await
        .unwrap();
    assert_eq!(
        done.rows_affected(),
        1,
        "the active workflow has a schedule"
    );
}

async fn runs(db: &DatabaseConnection) -> Vec<Value> {
    entity::execution::Entity::find()
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.trigger["payload"].clone())
        .collect()
}

async fn next_fire(db: &DatabaseConnection, workflow: Uuid) -> i64 {
    entity::schedule::Entity::find_by_id(workflow)
        .one(db)
        .await
        .unwrap()
        .unwrap()
        .next_fire_at
}

#[tokio::test]
async fn a_due_tick_fires_once_even_when_fired_twice() {
    let database = TestDatabase::create(Backend::Sqlite).await.unwrap();
    let (db, engine, workflow) = setup(&database, "skip", at("2026-05-01T10:00:00Z")).await;
    let now = at("2026-05-01T10:00:20Z");
    let fired = domain::schedules::fire_due(&db, &engine, now)
        .await
        .unwrap();
    assert_eq!(fired.runs, 1);
    assert_eq!(
        next_fire(&db, workflow).await,
        at("2026-05-01T10:01:00Z").timestamp_millis()
    );
    // Another instance that saw the same tick due starts nothing new.
    set_next_fire(&db, workflow, at("2026-05-01T10:00:00Z")).await;
    domain::schedules::fire_due(&db, &engine, now)
        .await
        .unwrap();
    let payloads = runs(&db).await;
    assert_eq!(payloads.len(), 1, "{payloads:?}");
    assert_eq!(payloads[0]["scheduled_at"], "2026-05-01T10:00:00+00:00");
    assert_eq!(payloads[0]["missed"], 0);
}

#[tokio::test]
async fn missed_ticks_are_skipped_or_run_once() {
    for (policy, expected_runs) in [("skip", 0), ("run_once", 1)] {
        let database = TestDatabase::create(Backend::Sqlite).await.unwrap();
        // Down from 09:00 to 10:30: 90 ticks missed.
        let (db, engine, workflow) = setup(&database, policy, at("2026-05-01T09:00:00Z")).await;
        let fired = domain::schedules::fire_due(&db, &engine, at("2026-05-01T10:30:30Z"))
            .await
            .unwrap();
        let payloads = runs(&db).await;
        // The 10:30 tick is within the grace period and fires normally.
        assert_eq!(payloads.len(), expected_runs + 1, "{policy}: {payloads:?}");
        assert_eq!(fired.runs, expected_runs + 1);
        if policy == "run_once" {
            let catch_up = payloads
                .iter()
                .find(|p| p["scheduled_at"] == "2026-05-01T10:29:00+00:00")
                .expect("the last missed tick ran");
            assert_eq!(catch_up["missed"], 90);
        }
        assert_eq!(
            next_fire(&db, workflow).await,
            at("2026-05-01T10:31:00Z").timestamp_millis(),
            "it resumes from now"
        );
    }
}

#[tokio::test]
async fn two_instances_fire_each_tick_once() {
    let Some(database) = TestDatabase::create(Backend::Postgres).await else {
        return;
    };
    let (db, first, workflow) = setup(&database, "skip", at("2026-05-01T10:00:00Z")).await;
    let second_db = database.connect_migrated(None).await;
    let second = Engine::start(
        second_db.clone(),
        Registry::builtin(),
        EngineConfig::default(),
    )
    .await
    .unwrap();
    for minute in 0..5 {
        let now = at("2026-05-01T10:00:10Z") + chrono::Duration::minutes(minute);
        let (a, b) = tokio::join!(
            domain::schedules::fire_due(&db, &first, now),
            domain::schedules::fire_due(&second_db, &second, now)
        );
        assert_eq!(
            a.unwrap().runs + b.unwrap().runs,
            1,
            "minute {minute}: one instance fired the tick"
        );
    }
    let payloads = runs(&db).await;
    let mut ticks: Vec<String> = payloads
        .iter()
        .map(|p| p["scheduled_at"].as_str().unwrap().to_owned())
        .collect();
    ticks.sort();
    ticks.dedup();
    assert_eq!(ticks.len(), 5);
    assert_eq!(payloads.len(), 5);
    let _ = workflow;
}

#[tokio::test]
async fn pausing_stops_the_schedule() {
    let database = TestDatabase::create(Backend::Sqlite).await.unwrap();
    let (db, engine, workflow) = setup(&database, "skip", at("2026-05-01T10:00:00Z")).await;
    let mut model = entity::workflow::Entity::find_by_id(workflow)
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    model.status = "paused".into();
    domain::schedules::sync(&db, &model).await.unwrap();
    assert!(
        entity::schedule::Entity::find_by_id(workflow)
            .one(&db)
            .await
            .unwrap()
            .is_none()
    );
    let fired = domain::schedules::fire_due(&db, &engine, at("2026-05-01T10:00:20Z"))
        .await
        .unwrap();
    assert_eq!(fired.runs, 0);
}
