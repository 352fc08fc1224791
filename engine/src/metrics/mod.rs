//! What an instance tells Prometheus: one registry per instance (several
//! instances in one process, as in tests, never mix their counts), encoded
//! in the Prometheus/OpenMetrics text format at `/metrics`.
//!
//! Counts are taken where this instance does the work (after its writes
//! commit), never from the event bus, which also carries the events of
//! other instances. Labels stay bounded: workflow ids, built-in node kinds
//! and provider ids, status classes; kinds and providers of imported APIs
//! (named by users) are all labelled `imported`.

mod process;
mod tally;

use std::sync::atomic::AtomicU64;

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram, info::Info},
    registry::{Registry, Unit},
};

pub use tally::Tally;

/// The content type of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WorkflowLabel {
    workflow_id: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RunEndLabels {
    workflow_id: String,
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StepEndLabels {
    kind: String,
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RetryLabels {
    kind: String,
    error_class: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ClaimLabels {
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutboundLabels {
    provider: String,
    status_class: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProviderLabel {
    provider: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabel {
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WhatLabel {
    what: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;
type FloatGauge = Gauge<f64, AtomicU64>;

/// Runs take from milliseconds (a transform) to hours (a long delay).
fn run_buckets() -> Histogram {
    Histogram::new([
        0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0,
    ])
}

/// Steps: a pure step in microseconds, an API call up to its timeout.
fn step_buckets() -> Histogram {
    Histogram::new([
        0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
    ])
}

/// Webhook answers: milliseconds, unless the workflow answers with its output.
const WEBHOOK_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// What the database and the process hold at the moment of a scrape.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// The queue, every instance's runs.
    pub queue: crate::store::depth::QueueDepth,
    pub pool: Option<PoolStats>,
    /// Live event streams (server-sent events) open on this instance.
    pub live_streams: i64,
}

#[derive(Clone, Debug, Default)]
pub struct PoolStats {
    pub in_use: i64,
    pub idle: i64,
    pub max: i64,
    /// How long taking a connection from the pool took at the scrape.
    pub acquire_seconds: f64,
}

pub struct Metrics {
    registry: Registry,
    runs_started: Family<WorkflowLabel, Counter>,
    runs_finished: Family<RunEndLabels, Counter>,
    run_duration: HistogramFamily<WorkflowLabel>,
    steps_finished: Family<StepEndLabels, Counter>,
    step_duration: HistogramFamily<KindLabel>,
    step_retries: Family<RetryLabels, Counter>,
    dead_letters: Family<WorkflowLabel, Counter>,
    claims: Family<ClaimLabels, Counter>,
    leases_lost: Counter,
    webhook_requests: Family<OutcomeLabel, Counter>,
    webhook_duration: Histogram,
    outbound_requests: Family<OutboundLabels, Counter>,
    rate_limited: Family<ProviderLabel, Counter>,
    rate_limit_waits: Family<ProviderLabel, Counter>,
    queue_runs: Family<StatusLabel, Gauge>,
    oldest_queued: FloatGauge,
    db_connections: Family<StateLabel, Gauge>,
    db_max_connections: Gauge,
    db_acquire: FloatGauge,
    live_streams: Gauge,
    retention_deleted: Family<WhatLabel, Counter>,
    process: process::ProcessMetrics,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut root = Registry::default();
        let metrics = Metrics {
            runs_started: Family::default(),
            runs_finished: Family::default(),
            run_duration: Family::new_with_constructor(run_buckets),
            steps_finished: Family::default(),
            step_duration: Family::new_with_constructor(step_buckets),
            step_retries: Family::default(),
            dead_letters: Family::default(),
            claims: Family::default(),
            leases_lost: Counter::default(),
            webhook_requests: Family::default(),
            webhook_duration: Histogram::new(WEBHOOK_BUCKETS),
            outbound_requests: Family::default(),
            rate_limited: Family::default(),
            rate_limit_waits: Family::default(),
            queue_runs: Family::default(),
            oldest_queued: FloatGauge::default(),
            db_connections: Family::default(),
            db_max_connections: Gauge::default(),
            db_acquire: FloatGauge::default(),
            live_streams: Gauge::default(),
            retention_deleted: Family::default(),
            process: process::ProcessMetrics::default(),
            registry: Registry::default(),
        };
        let r = root.sub_registry_with_prefix("switchyard");
        r.register(
            "runs_started",
            "Runs this instance started (first claim of a queued run), by workflow",
            metrics.runs_started.clone(),
        );
        r.register(
            "runs_finished",
            "Runs this instance finished, by workflow and status (succeeded, failed, cancelled)",
            metrics.runs_finished.clone(),
        );
        r.register_with_unit(
            "run_duration",
            "From a run's first start to its end, by workflow",
            Unit::Seconds,
            metrics.run_duration.clone(),
        );
        r.register(
            "steps_finished",
            "Steps that ended, by node kind and status (succeeded, failed)",
            metrics.steps_finished.clone(),
        );
        r.register_with_unit(
            "step_duration",
            "Time of a step's last attempt, by node kind",
            Unit::Seconds,
            metrics.step_duration.clone(),
        );
        r.register(
            "step_retries",
            "Attempts that failed and are retried, by node kind and error class",
            metrics.step_retries.clone(),
        );
        r.register(
            "dead_letters",
            "Runs that failed after their retries and went to the dead-letter queue, by workflow",
            metrics.dead_letters.clone(),
        );
        r.register(
            "run_claims",
            "Runs claimed by this instance: due (queued or waiting) or takeover (a lease that expired)",
            metrics.claims.clone(),
        );
        r.register(
            "leases_lost",
            "Runs whose lease expired while this instance worked on them (another instance takes over)",
            metrics.leases_lost.clone(),
        );
        r.register(
            "webhook_requests",
            "Webhook deliveries by outcome: accepted, duplicate, answered, or the HTTP status refusing it",
            metrics.webhook_requests.clone(),
        );
        r.register_with_unit(
            "webhook_duration",
            "Time to answer a webhook delivery (for workflows that answer with their output, the run included)",
            Unit::Seconds,
            metrics.webhook_duration.clone(),
        );
        r.register(
            "outbound_requests",
            "HTTP requests steps sent, by provider (http for the HTTP step) and status class (2xx..5xx, error)",
            metrics.outbound_requests.clone(),
        );
        r.register(
            "rate_limited",
            "429 answers from providers, by provider",
            metrics.rate_limited.clone(),
        );
        r.register(
            "rate_limit_waits",
            "Steps that waited for a connection's rate-limit slot, by provider",
            metrics.rate_limit_waits.clone(),
        );
        r.register(
            "queue_runs",
            "Runs in the queue (all instances), by status: queued, waiting, running, held (paused workflows)",
            metrics.queue_runs.clone(),
        );
        r.register_with_unit(
            "queue_oldest_queued_age",
            "How long the oldest due run has waited for a worker",
            Unit::Seconds,
            metrics.oldest_queued.clone(),
        );
        r.register(
            "db_pool_connections",
            "Database connections of this instance's pool, by state: in_use, idle",
            metrics.db_connections.clone(),
        );
        r.register(
            "db_pool_max_connections",
            "The most connections the pool opens",
            metrics.db_max_connections.clone(),
        );
        r.register_with_unit(
            "db_pool_acquire",
            "How long taking a connection from the pool took at the last scrape",
            Unit::Seconds,
            metrics.db_acquire.clone(),
        );
        r.register(
            "live_streams",
            "Live event streams (server-sent events) open on this instance",
            metrics.live_streams.clone(),
        );
        r.register(
            "retention_deleted",
            "Rows the retention task deleted, by what: runs, step_payloads, dead_letters, audit_entries",
            metrics.retention_deleted.clone(),
        );
        r.register(
            "build",
            "The running build",
            Info::new(BuildLabels {
                version: env!("CARGO_PKG_VERSION"),
            }),
        );
        // Process metrics keep the names every Prometheus client uses.
        metrics
            .process
            .register(root.sub_registry_with_prefix("process"));
        Metrics {
            registry: root,
            ..metrics
        }
    }

    pub(crate) fn claimed(&self, takeover: bool, count: usize) {
        let kind = if takeover { "takeover" } else { "due" };
        self.claims
            .get_or_create(&ClaimLabels { kind })
            .inc_by(count as u64);
    }

    pub(crate) fn lease_lost(&self) {
        self.leases_lost.inc();
    }

    /// A webhook delivery answered with `outcome` after `seconds`.
    pub fn webhook(&self, outcome: &str, seconds: f64) {
        self.webhook_requests
            .get_or_create(&OutcomeLabel {
                outcome: outcome.to_owned(),
            })
            .inc();
        self.webhook_duration.observe(seconds);
    }

    /// An answer (`Some(status)`) or a transport failure (`None`) of an
    /// outbound request by `provider` (see [`provider_label`]).
    pub fn outbound(&self, provider: &str, status: Option<u16>) {
        let status_class = match status {
            Some(100..=199) => "1xx",
            Some(200..=299) => "2xx",
            Some(300..=399) => "3xx",
            Some(400..=499) => "4xx",
            Some(500..=599) => "5xx",
            _ => "error",
        };
        self.outbound_requests
            .get_or_create(&OutboundLabels {
                provider: provider.to_owned(),
                status_class,
            })
            .inc();
        if status == Some(429) {
            self.rate_limited
                .get_or_create(&ProviderLabel {
                    provider: provider.to_owned(),
                })
                .inc();
        }
    }

    pub fn rate_limit_wait(&self, provider: &str) {
        self.rate_limit_waits
            .get_or_create(&ProviderLabel {
                provider: provider.to_owned(),
            })
            .inc();
    }

    /// Rows of `what` the retention task deleted.
    pub fn pruned(&self, what: &'static str, rows: u64) {
        self.retention_deleted
            .get_or_create(&WhatLabel { what })
            .inc_by(rows);
    }

    /// Counts what a run's committed write held.
    pub(crate) fn record(&self, tally: Tally) {
        tally.record(self);
    }

    /// The text Prometheus scrapes, with the gauges read from `snapshot`
    /// and the process.
    pub fn render(&self, snapshot: &Snapshot) -> String {
        for (status, value) in [
            ("queued", snapshot.queue.queued),
            ("waiting", snapshot.queue.waiting),
            ("running", snapshot.queue.running),
            ("held", snapshot.queue.held),
        ] {
            self.queue_runs
                .get_or_create(&StatusLabel { status })
                .set(value);
        }
        self.oldest_queued
            .set(snapshot.queue.oldest_queued_ms as f64 / 1000.0);
        if let Some(pool) = &snapshot.pool {
            for (state, value) in [("in_use", pool.in_use), ("idle", pool.idle)] {
                self.db_connections
                    .get_or_create(&StateLabel { state })
                    .set(value);
            }
            self.db_max_connections.set(pool.max);
            self.db_acquire.set(pool.acquire_seconds);
        }
        self.live_streams.set(snapshot.live_streams);
        self.process.refresh();
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

/// A provider id as a label: built-in providers by id, imported APIs (named
/// by their users) as `imported`.
pub fn provider_label(id: &str) -> &str {
    if crate::providers::find(id).is_some() {
        id
    } else {
        "imported"
    }
}

/// The pool's connections now, and how long taking one takes.
pub async fn pool_stats(db: &sea_orm::DatabaseConnection) -> PoolStats {
    use sea_orm::DbBackend;
    macro_rules! read {
        ($pool:expr) => {{
            let pool = $pool;
            // Counted before this reading takes a connection itself.
            let idle = pool.num_idle() as i64;
            let in_use = (pool.size() as i64 - idle).max(0);
            let started = std::time::Instant::now();
            // Held only to time the wait; dropped at once.
            let acquired = pool.acquire().await.is_ok();
            let acquire_seconds = if acquired {
                started.elapsed().as_secs_f64()
            } else {
                f64::NAN
            };
            PoolStats {
                in_use,
                idle,
                max: pool.options().get_max_connections() as i64,
                acquire_seconds,
            }
        }};
    }
    match db.get_database_backend() {
        DbBackend::Postgres => read!(db.get_postgres_connection_pool()),
        _ => read!(db.get_sqlite_connection_pool()),
    }
}
