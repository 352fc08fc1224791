//! The engine of one Switchyard instance: queues runs, works them off with
//! a bounded number of concurrent tasks, keeps leases alive, and shares
//! the work (and the event stream) with other instances on the same
//! Postgres through `LISTEN/NOTIFY`.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use model::{Catalogue, Problem, WorkflowDefinition, validate::has_errors};
use sea_orm::{DatabaseConnection, DbBackend, DbErr};
use tokio::sync::{Notify, broadcast, watch};
use tokio_util::task::TaskTracker;
use uuid::Uuid;

use crate::{
    credentials::{CredentialStore, NoCredentials},
    events::EventBus,
    intake::IntakeGauge,
    metrics::{Metrics, Snapshot, Tally},
    nodes::{Registry, Services},
    outbound::{OutboundClient, OutboundPolicy},
    providers::imported::ImportedKinds,
    run::{Plan, driver::Stop},
    signals::RunSignal,
    store::{
        Enqueued, NewExecution, StoredEvent,
        queue::{self, CancelOutcome, RequeueOutcome},
        writer::{Writer, WriterConfig},
    },
    time::now_ms,
    worker,
};

/// Plans kept in memory (one per workflow version).
const PLAN_CACHE: usize = 1_024;

#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// Names this instance in leases; unique per running process.
    pub instance_id: String,
    /// Runs worked on at the same time.
    pub concurrency: usize,
    /// How long a claimed run stays reserved without a heartbeat.
    pub lease_ms: i64,
    /// Waits up to this long keep the run in its worker; longer ones put it aside.
    pub hold_ms: i64,
    /// How often to look for due or abandoned runs when nothing signals.
    pub poll_ms: i64,
    /// Step inputs and outputs larger than this are stored truncated.
    pub output_cap_bytes: usize,
    /// While enqueueing takes longer than this, fewer runs are worked on
    /// at once (see `intake`); `None` always uses every worker.
    pub intake_target: Option<Duration>,
    pub outbound: OutboundPolicy,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            instance_id: format!("switchyard-{}", Uuid::new_v4().simple()),
            concurrency: 128,
            lease_ms: 30_000,
            hold_ms: 1_000,
            poll_ms: 1_000,
            output_cap_bytes: 1024 * 1024,
            intake_target: Some(Duration::from_millis(2)),
            outbound: OutboundPolicy::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("the workflow is not valid")]
    Invalid(Vec<Problem>),
    #[error("the workflow version does not exist")]
    UnknownVersion,
    /// The payload holds something that cannot be stored (the field, why).
    #[error("{0} {1}")]
    Payload(&'static str, String),
    #[error("database error: {0}")]
    Database(String),
}

impl From<DbErr> for EngineError {
    fn from(error: DbErr) -> Self {
        EngineError::Database(error.to_string())
    }
}

pub(crate) struct Inner {
    pub db: DatabaseConnection,
    pub config: EngineConfig,
    pub registry: Arc<Registry>,
    /// The kinds of each account's imported APIs, beside the built-in ones.
    pub imported: ImportedKinds,
    pub services: Services,
    pub writer: Writer,
    pub bus: Arc<EventBus>,
    pub wake: Notify,
    /// Signalled whenever a run's task ends (room for another).
    pub run_finished: Notify,
    pub intake: IntakeGauge,
    /// The earliest time a run this instance put aside falls due.
    pub next_local_wake: std::sync::atomic::AtomicI64,
    pub running: Mutex<HashMap<Uuid, watch::Sender<Option<Stop>>>>,
    pub shutdown: watch::Sender<bool>,
    pub tasks: TaskTracker,
    /// What happened to the runs this instance worked on.
    pub signals: broadcast::Sender<RunSignal>,
    /// Plans by workflow version; one using imported kinds is read again
    /// after [`IMPORTED_PLAN_TTL`], so a re-import elsewhere is seen.
    plans: Mutex<HashMap<(Uuid, i32), CachedPlan>>,
}

/// A prepared plan, and when it is to be read again (plans with kinds of
/// imported APIs only).
type CachedPlan = (Arc<Plan>, Option<std::time::Instant>);

/// How long a plan with kinds of imported APIs is kept.
const IMPORTED_PLAN_TTL: Duration = Duration::from_secs(30);

/// Signals a slow watcher may fall behind by before it misses some.
const SIGNAL_CAPACITY: usize = 4_096;

impl Inner {
    /// Counts and tells what a committed write held.
    pub fn observe(&self, tally: Tally) {
        for signal in tally.signals() {
            // Nobody listening is not an error.
            let _ = self.signals.send(signal);
        }
        self.services.metrics.record(tally);
    }

    /// The plan of a saved workflow version, from the cache or the database.
    pub async fn plan_for(&self, workflow_id: Uuid, version: i32) -> Result<Arc<Plan>, PlanError> {
        if let Some((plan, expires)) = self
            .plans
            .lock()
            .expect("plan cache")
            .get(&(workflow_id, version))
            && expires.is_none_or(|at| at > std::time::Instant::now())
        {
            return Ok(plan.clone());
        }
        let definition = queue::version_definition(&self.db, workflow_id, version)
            .await
            .map_err(|e| PlanError::Database(e.to_string()))?
            .ok_or(PlanError::UnknownVersion)?;
        let definition: WorkflowDefinition = serde_json::from_value(definition).map_err(|e| {
            PlanError::Invalid(vec![problem(format!("the workflow cannot be read: {e}"))])
        })?;
        let uses_imports = definition
            .nodes
            .iter()
            .any(|node| self.registry.get(&node.kind).is_none());
        let registry = if uses_imports {
            let owner = queue::workflow_owner(&self.db, workflow_id)
                .await
                .map_err(|e| PlanError::Database(e.to_string()))?
                .ok_or(PlanError::UnknownVersion)?;
            self.imported
                .for_owner(&self.db, &self.registry, owner)
                .await
                .map_err(|e| PlanError::Database(e.to_string()))?
        } else {
            self.registry.clone()
        };
        let problems = model::validate(&definition, registry.catalogue());
        if has_errors(&problems) {
            return Err(PlanError::Invalid(problems));
        }
        let plan = Arc::new(
            Plan::new(definition, &registry).map_err(|e| PlanError::Invalid(vec![problem(e)]))?,
        );
        let mut plans = self.plans.lock().expect("plan cache");
        if plans.len() >= PLAN_CACHE {
            plans.clear();
        }
        let expires = uses_imports.then(|| std::time::Instant::now() + IMPORTED_PLAN_TTL);
        plans.insert((workflow_id, version), (plan.clone(), expires));
        Ok(plan)
    }
}

/// Why a workflow version cannot run.
#[derive(Debug)]
pub(crate) enum PlanError {
    UnknownVersion,
    Invalid(Vec<Problem>),
    Database(String),
}

impl std::fmt::Display for PlanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PlanError::UnknownVersion => f.write_str("the workflow version does not exist"),
            PlanError::Invalid(problems) => {
                let first = problems
                    .iter()
                    .find(|p| p.severity == model::Severity::Error)
                    .map_or("", |p| p.message.as_str());
                write!(f, "the workflow is not valid: {first}")
            }
            PlanError::Database(error) => write!(f, "database error: {error}"),
        }
    }
}

fn problem(message: String) -> Problem {
    Problem {
        severity: model::Severity::Error,
        node_id: None,
        field: None,
        message,
    }
}

/// A running engine; cheap to clone.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

impl Engine {
    /// Starts the workers, the heartbeat and (on Postgres) the listener.
    pub async fn start(
        db: DatabaseConnection,
        registry: Registry,
        config: EngineConfig,
    ) -> Result<Engine, DbErr> {
        Engine::start_with_credentials(db, registry, config, Arc::new(NoCredentials)).await
    }

    /// Like [`Engine::start`], with stored connections available to steps.
    pub async fn start_with_credentials(
        db: DatabaseConnection,
        registry: Registry,
        config: EngineConfig,
        credentials: Arc<dyn CredentialStore>,
    ) -> Result<Engine, DbErr> {
        let bus = Arc::new(EventBus::new(db.clone()).await?);
        let writer = Writer::start(
            db.clone(),
            bus.clone(),
            WriterConfig {
                owner: config.instance_id.clone(),
                lease_ms: config.lease_ms,
                writers: 3,
            },
        );
        let services = Services {
            http: OutboundClient::new(config.outbound.clone()),
            credentials,
            limits: Arc::default(),
            metrics: Arc::new(Metrics::new()),
        };
        let (shutdown, _) = watch::channel(false);
        let inner = Arc::new(Inner {
            db,
            config,
            registry: Arc::new(registry),
            imported: ImportedKinds::default(),
            services,
            writer,
            bus,
            wake: Notify::new(),
            run_finished: Notify::new(),
            intake: IntakeGauge::default(),
            next_local_wake: std::sync::atomic::AtomicI64::new(i64::MAX),
            running: Mutex::new(HashMap::new()),
            shutdown,
            tasks: TaskTracker::new(),
            signals: broadcast::channel(SIGNAL_CAPACITY).0,
            plans: Mutex::new(HashMap::new()),
        });
        tokio::spawn(worker::dispatch(inner.clone()));
        tokio::spawn(heartbeat(inner.clone()));
        if inner.db.get_database_backend() == DbBackend::Postgres {
            tokio::spawn(listen(inner.clone()));
        }
        Ok(Engine { inner })
    }

    /// The kinds this engine runs, for editors and validation.
    pub fn catalogue(&self) -> &Catalogue {
        self.inner.registry.catalogue()
    }

    pub fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    /// The kinds `owner` can use: the built-in ones and those of the APIs
    /// the account imported. Validate and edit the account's workflows
    /// against this catalogue.
    pub async fn kinds_for(&self, owner: Uuid) -> Result<Arc<Registry>, EngineError> {
        Ok(self
            .inner
            .imported
            .for_owner(&self.inner.db, &self.inner.registry, owner)
            .await?)
    }

    /// Forgets prepared plans after an account's imported APIs changed,
    /// so its next runs use the new operations.
    pub fn forget_plans(&self) {
        self.inner.plans.lock().expect("plan cache").clear();
    }

    /// What happens to the runs this instance works on, from now on.
    pub fn signals(&self) -> broadcast::Receiver<RunSignal> {
        self.inner.signals.subscribe()
    }

    /// This instance's metrics, for handlers to count in.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.inner.services.metrics
    }

    /// The metrics text, with the queue and the database pool read now
    /// and `live_streams` as given.
    pub async fn render_metrics(&self, live_streams: usize) -> Result<String, DbErr> {
        // The pool first: the queue's query would count as a connection in use.
        let pool = crate::metrics::pool_stats(&self.inner.db).await;
        let depth = crate::store::depth::depth(&self.inner.db).await?;
        let snapshot = Snapshot {
            queue: depth,
            pool: Some(pool),
            live_streams: live_streams as i64,
        };
        Ok(self.inner.services.metrics.render(&snapshot))
    }

    pub fn instance_id(&self) -> &str {
        &self.inner.config.instance_id
    }

    /// Queues a run; returns once it is durably committed. A repeated
    /// idempotency key returns the existing run instead.
    pub async fn enqueue(&self, new: NewExecution) -> Result<Enqueued, EngineError> {
        match self
            .inner
            .plan_for(new.workflow_id, new.workflow_version)
            .await
        {
            Ok(_) => {}
            Err(PlanError::Invalid(problems)) => return Err(EngineError::Invalid(problems)),
            Err(PlanError::UnknownVersion) => return Err(EngineError::UnknownVersion),
            Err(PlanError::Database(error)) => return Err(EngineError::Database(error)),
        }
        if contains_nul(&new.payload) {
            // Postgres cannot store it; refused on SQLite too, so that the
            // two behave alike.
            return Err(EngineError::Payload(
                "body",
                "contains the NUL character (U+0000), which cannot be stored".into(),
            ));
        }
        let started = std::time::Instant::now();
        let enqueued = self.inner.writer.enqueue(new).await?;
        self.inner.intake.record(started.elapsed());
        self.inner.wake.notify_one();
        Ok(enqueued)
    }

    /// Cancels a run of `owner_id` (a running one at its next step boundary,
    /// with its in-flight calls aborted).
    pub async fn cancel(
        &self,
        execution_id: Uuid,
        owner_id: Uuid,
    ) -> Result<CancelOutcome, EngineError> {
        let outcome = queue::request_cancel(&self.inner.db, execution_id, owner_id).await?;
        match &outcome {
            CancelOutcome::Requested { owner } if owner.as_deref() == Some(self.instance_id()) => {
                if let Some(stop) = self
                    .inner
                    .running
                    .lock()
                    .expect("running map")
                    .get(&execution_id)
                {
                    let _ = stop.send(Some(Stop::Cancelled));
                }
            }
            CancelOutcome::Cancelled => self.inner.bus.catch_up().await,
            _ => {}
        }
        Ok(outcome)
    }

    /// Runs a failed or cancelled run again from where it failed.
    pub async fn rerun(
        &self,
        execution_id: Uuid,
        owner_id: Uuid,
    ) -> Result<RequeueOutcome, EngineError> {
        let outcome = queue::requeue(&self.inner.db, execution_id, owner_id).await?;
        if outcome == RequeueOutcome::Requeued {
            self.inner.bus.catch_up().await;
            self.inner.wake.notify_one();
        }
        Ok(outcome)
    }

    /// Redrives every run of `owner_id` in the dead-letter queue.
    pub async fn redrive_all(&self, owner_id: Uuid) -> Result<usize, EngineError> {
        let mut count = 0;
        for id in queue::open_dead_letters(&self.inner.db, owner_id).await? {
            if self.rerun(id, owner_id).await? == RequeueOutcome::Requeued {
                count += 1;
            }
        }
        Ok(count)
    }

    /// Every event saved from now on, in log order.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<StoredEvent>> {
        self.inner.bus.subscribe()
    }

    /// Stops claiming, asks running runs to save and step back, and waits
    /// up to `grace` for them; runs still open are left to other instances.
    pub async fn shutdown(&self, grace: Duration) {
        let _ = self.inner.shutdown.send(true);
        worker::signal_all(
            &self.inner.running.lock().expect("running map"),
            Stop::Shutdown,
        );
        self.inner.tasks.close();
        if tokio::time::timeout(grace, self.inner.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!("runs still open after the grace period; their leases will expire");
        }
    }
}

/// Whether any text in `value` (keys included) holds U+0000.
fn contains_nul(value: &serde_json::Value) -> bool {
    use serde_json::Value;
    match value {
        Value::String(text) => text.contains('\0'),
        Value::Array(items) => items.iter().any(contains_nul),
        Value::Object(map) => map
            .iter()
            .any(|(key, value)| key.contains('\0') || contains_nul(value)),
        _ => false,
    }
}

/// Keeps alive the leases of the runs this instance's tasks work on (and
/// only those: a run whose task ended without letting go of it expires).
async fn heartbeat(inner: Arc<Inner>) {
    let period = Duration::from_millis((inner.config.lease_ms / 3).max(10) as u64);
    let mut shutdown = inner.shutdown.subscribe();
    loop {
        tokio::select! {
            () = tokio::time::sleep(period) => {}
            _ = shutdown.changed() => return,
        }
        let until = now_ms() + inner.config.lease_ms;
        let working: Vec<Uuid> = inner
            .running
            .lock()
            .expect("running map")
            .keys()
            .copied()
            .collect();
        if working.is_empty() {
            continue;
        }
        if let Err(error) =
            queue::heartbeat(&inner.db, &inner.config.instance_id, &working, until).await
        {
            tracing::warn!(%error, "lease heartbeat failed");
        }
    }
}

/// Postgres notifications from every instance: new work, new events, and
/// cancel requests for runs this instance holds.
async fn listen(inner: Arc<Inner>) {
    use sea_orm::sqlx::postgres::PgListener;
    let mut shutdown = inner.shutdown.subscribe();
    loop {
        let listener = async {
            let mut listener =
                PgListener::connect_with(inner.db.get_postgres_connection_pool()).await?;
            listener
                .listen_all(["switchyard_work", "switchyard_events", "switchyard_cancel"])
                .await?;
            Ok::<_, sea_orm::sqlx::Error>(listener)
        };
        let mut listener = match listener.await {
            Ok(listener) => listener,
            Err(error) => {
                tracing::warn!(%error, "cannot listen for notifications; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        // Anything missed while not listening.
        inner.bus.catch_up().await;
        inner.wake.notify_one();
        loop {
            let notification = tokio::select! {
                notification = listener.recv() => notification,
                _ = shutdown.changed() => return,
            };
            match notification {
                Ok(notification) => match notification.channel() {
                    "switchyard_work" => inner.wake.notify_one(),
                    "switchyard_events" => inner.bus.catch_up().await,
                    "switchyard_cancel" => {
                        if let Ok(id) = notification.payload().parse::<Uuid>()
                            && let Some(stop) = inner.running.lock().expect("running map").get(&id)
                        {
                            let _ = stop.send(Some(Stop::Cancelled));
                        }
                    }
                    _ => {}
                },
                Err(error) => {
                    tracing::warn!(%error, "notification listener lost its connection");
                    break;
                }
            }
        }
    }
}
