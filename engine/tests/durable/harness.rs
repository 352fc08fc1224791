//! Starting an engine on a fresh database, running workflows, and reading
//! back what it stored.

use std::time::Duration;

use engine::{
    Engine, EngineConfig, Registry,
    outbound::OutboundPolicy,
    store::{Enqueued, NewExecution},
};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};
use testkit::{Backend, ScriptedServer, TestDatabase, database::seed_workflow};
use uuid::Uuid;

pub struct Harness {
    pub db: DatabaseConnection,
    pub engine: Engine,
    pub server: ScriptedServer,
    pub database: TestDatabase,
}

/// Engine settings for tests: short leases and polls, loopback allowed.
pub fn test_config() -> EngineConfig {
    EngineConfig {
        lease_ms: 2_000,
        hold_ms: 300,
        poll_ms: 100,
        outbound: OutboundPolicy::parse("127.0.0.1/32").unwrap(),
        ..EngineConfig::default()
    }
}

impl Harness {
    pub async fn start(backend: Backend) -> Option<Harness> {
        Harness::start_with(backend, test_config()).await
    }

    pub async fn start_with(backend: Backend, config: EngineConfig) -> Option<Harness> {
        let database = TestDatabase::create(backend).await?;
        let db = database.connect_migrated(None).await;
        let engine = Engine::start(db.clone(), Registry::builtin(), config)
            .await
            .expect("engine starts");
        let server = ScriptedServer::start().await;
        Some(Harness {
            db,
            engine,
            server,
            database,
        })
    }

    /// Another engine on the same database, as a second instance would be.
    pub async fn second_engine(&self, config: EngineConfig) -> Engine {
        let db = self.database.connect_migrated(None).await;
        Engine::start(db, Registry::builtin(), config)
            .await
            .expect("second engine starts")
    }

    /// Saves a workflow and returns `(owner, workflow)`.
    pub async fn workflow(&self, definition: &Value) -> (Uuid, Uuid) {
        seed_workflow(&self.db, definition).await
    }

    pub fn new_run(owner: Uuid, workflow: Uuid, payload: Value) -> NewExecution {
        NewExecution {
            workflow_id: workflow,
            owner_id: owner,
            workflow_version: 1,
            trigger_kind: "manual".into(),
            payload,
            idempotency_key: None,
        }
    }

    /// Queues a run of a new workflow and waits for its end.
    pub async fn run(&self, definition: Value, payload: Value) -> Finished {
        let (owner, workflow) = self.workflow(&definition).await;
        let id = self.enqueue(owner, workflow, payload).await.id;
        self.wait(id).await
    }

    pub async fn enqueue(&self, owner: Uuid, workflow: Uuid, payload: Value) -> Enqueued {
        self.engine
            .enqueue(Harness::new_run(owner, workflow, payload))
            .await
            .expect("run is queued")
    }

    /// Waits until the run is succeeded, failed or cancelled.
    pub async fn wait(&self, id: Uuid) -> Finished {
        self.wait_for_status(id, &["succeeded", "failed", "cancelled"])
            .await
    }

    pub async fn wait_for_status(&self, id: Uuid, statuses: &[&str]) -> Finished {
        wait_for_status(&self.db, id, statuses).await
    }

    pub async fn steps(&self, id: Uuid) -> Vec<entity::step_run::Model> {
        entity::step_run::Entity::find()
            .filter(entity::step_run::Column::ExecutionId.eq(id))
            .all(&self.db)
            .await
            .unwrap()
    }

    pub async fn step(&self, id: Uuid, node: &str) -> entity::step_run::Model {
        self.steps(id)
            .await
            .into_iter()
            .find(|s| s.node_id == node && s.item_key.is_empty())
            .unwrap_or_else(|| panic!("no step {node}"))
    }

    pub async fn events(&self, id: Uuid) -> Vec<entity::execution_event::Model> {
        entity::execution_event::Entity::find()
            .filter(entity::execution_event::Column::ExecutionId.eq(id))
            .order_by_asc(entity::execution_event::Column::Seq)
            .all(&self.db)
            .await
            .unwrap()
    }
}

/// A run that reached an end.
#[derive(Debug)]
pub struct Finished {
    pub id: Uuid,
    pub status: String,
    pub error: Option<Value>,
}

pub async fn wait_for_status(db: &DatabaseConnection, id: Uuid, statuses: &[&str]) -> Finished {
    // A guard against hanging forever, not a timing assertion.
    for _ in 0..1_200 {
        if let Some(run) = entity::execution::Entity::find_by_id(id)
            .one(db)
            .await
            .unwrap()
            && statuses.contains(&run.status.as_str())
        {
            return Finished {
                id,
                status: run.status,
                error: run.error,
            };
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("run {id} did not reach {statuses:?} within a minute");
}

pub fn workflow(nodes: Value, edges: Value) -> Value {
    json!({
        "name": "test",
        "settings": {"retry": {"max_attempts": 3, "initial_delay_ms": 20, "max_delay_ms": 100, "jitter": false}},
        "nodes": nodes,
        "edges": edges
    })
}

/// trigger → one HTTP request to `url`.
pub fn http_workflow(url: &str, extra: Value) -> Value {
    let mut config = json!({"url": url});
    if let Value::Object(extra) = extra {
        config.as_object_mut().unwrap().extend(extra);
    }
    workflow(
        json!([{"id": "start", "kind": "manual_trigger"}, {"id": "call", "kind": "http_request", "config": config}]),
        json!([{"source": "start", "target": "call"}]),
    )
}

/// Declares each test once per backend: `sqlite::name` and `postgres::name`.
#[macro_export]
macro_rules! on_both_backends {
    ($($test:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let harness = $crate::harness::Harness::start(testkit::Backend::Sqlite).await.expect("SQLite works");
                    super::$test(harness).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let Some(harness) = $crate::harness::Harness::start(testkit::Backend::Postgres).await else { return };
                    super::$test(harness).await;
                }
            )+
        }
    };
}
