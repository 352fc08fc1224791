//! How long run data is kept, and the background task that prunes the
//! rest: finished runs by age (14 days by default, like n8n) and by count
//! per workflow, large step values of succeeded runs sooner, dead letters
//! and audit entries longer, each on its own clock. A dry run counts what
//! a pass would delete, for one account or the whole database.

use std::time::Duration;

use engine::{
    metrics::Metrics,
    store::retention::{self, Cutoffs, Pass, Pruned},
};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr};
use serde::Serialize;
use tokio::sync::watch;
use uuid::Uuid;

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// Rows deleted per statement, and the rest between two statements.
const BATCH: u64 = 100;
const PAUSE: Duration = Duration::from_millis(20);

/// The operator's settings. A zero keeps by that rule forever.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RetentionPolicy {
    /// Finished runs are deleted this many days after they ended.
    pub run_days: u32,
    /// Only the newest this many finished runs of each workflow are kept.
    pub max_runs_per_workflow: u64,
    /// Whole values of large steps of succeeded runs go after this many
    /// days; the step keeps its preview.
    pub payload_days: u32,
    /// Dead letters (and the failed runs they hold) are kept this long.
    pub dead_letter_days: u32,
    /// Audit log entries are kept this long.
    pub audit_days: u32,
    /// Minutes between two pruning passes.
    #[serde(skip)]
    pub every: Duration,
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        RetentionPolicy {
            run_days: 14,
            max_runs_per_workflow: 10_000,
            payload_days: 3,
            dead_letter_days: 90,
            audit_days: 365,
            every: Duration::from_secs(600),
        }
    }
}

impl RetentionPolicy {
    /// The cutoffs of a pass made at `now` (Unix ms).
    pub fn cutoffs(&self, now: i64) -> Cutoffs {
        let before = |days: u32| (days > 0).then(|| now - i64::from(days) * DAY_MS);
        Cutoffs {
            runs_before: before(self.run_days),
            max_runs_per_workflow: (self.max_runs_per_workflow > 0)
                .then_some(self.max_runs_per_workflow),
            payloads_before: before(self.payload_days),
            dead_letters_before: before(self.dead_letter_days),
        }
    }
}

/// What one pass deleted, or would delete.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PruneReport {
    pub runs: u64,
    /// Whole step values (of succeeded runs) removed.
    pub step_payloads: u64,
    pub dead_letters: u64,
    pub audit_entries: u64,
    /// Runs by workflow, most first (dry runs only).
    pub by_workflow: Vec<WorkflowRuns>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct WorkflowRuns {
    pub workflow_id: Uuid,
    pub runs: u64,
}

impl PruneReport {
    fn from_pruned(pruned: Pruned, audit_entries: u64) -> PruneReport {
        PruneReport {
            runs: pruned.runs,
            step_payloads: pruned.payloads,
            dead_letters: pruned.dead_letters,
            audit_entries,
            by_workflow: pruned
                .by_workflow
                .into_iter()
                .map(|(workflow_id, runs)| WorkflowRuns { workflow_id, runs })
                .collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.runs + self.step_payloads + self.dead_letters + self.audit_entries == 0
    }
}

/// Prunes at `now` (or counts, when `dry_run`); `owner`'s data only when given.
pub async fn prune(
    db: &DatabaseConnection,
    policy: &RetentionPolicy,
    now: i64,
    owner: Option<Uuid>,
    dry_run: bool,
) -> Result<PruneReport, DbErr> {
    let pass = Pass {
        batch: BATCH,
        pause: PAUSE,
        dry_run,
    };
    let pruned = retention::prune(db, &policy.cutoffs(now), owner, pass).await?;
    let audit_entries = match policy.audit_days {
        0 => 0,
        days => {
            let before = now - i64::from(days) * DAY_MS;
            audit(db, before, owner, pass).await?
        }
    };
    Ok(PruneReport::from_pruned(pruned, audit_entries))
}

async fn audit(
    db: &DatabaseConnection,
    before_ms: i64,
    owner: Option<Uuid>,
    pass: Pass,
) -> Result<u64, DbErr> {
    use engine::store::sql::Sql;
    let before = chrono::DateTime::from_timestamp_millis(before_ms).unwrap_or_default();
    let backend = db.get_database_backend();
    let condition = |sql: &mut Sql| {
        sql.push("created_at < ").bind(before);
        if let Some(owner) = owner {
            sql.push(" AND owner_id = ").bind(owner);
        }
    };
    if pass.dry_run {
        let mut sql = Sql::new(backend);
        sql.push("SELECT COUNT(*) AS n FROM audit_events WHERE ");
        condition(&mut sql);
        let row = db.query_one_raw(sql.build()).await?;
        let n: i64 = match row {
            Some(row) => row.try_get("", "n")?,
            None => 0,
        };
        return Ok(n as u64);
    }
    let mut total = 0;
    loop {
        let mut sql = Sql::new(backend);
        sql.push("DELETE FROM audit_events WHERE id IN (SELECT id FROM audit_events WHERE ");
        condition(&mut sql);
        sql.push(" LIMIT ").bind(pass.batch as i64).push(")");
        let deleted = db.execute_raw(sql.build()).await?.rows_affected();
        total += deleted;
        if deleted < pass.batch {
            return Ok(total);
        }
        tokio::time::sleep(pass.pause).await;
    }
}

/// Prunes now and every `policy.every` until `stop` turns true.
pub async fn run_pruner(
    db: DatabaseConnection,
    policy: RetentionPolicy,
    metrics: std::sync::Arc<Metrics>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let now = chrono::Utc::now().timestamp_millis();
        match prune(&db, &policy, now, None, false).await {
            Ok(report) => {
                metrics.pruned("runs", report.runs);
                metrics.pruned("step_payloads", report.step_payloads);
                metrics.pruned("dead_letters", report.dead_letters);
                metrics.pruned("audit_entries", report.audit_entries);
                if !report.is_empty() {
                    tracing::info!(
                        runs = report.runs,
                        step_payloads = report.step_payloads,
                        dead_letters = report.dead_letters,
                        audit_entries = report.audit_entries,
                        "pruned data past its retention"
                    );
                }
            }
            Err(error) => tracing::warn!(%error, "could not prune data past its retention"),
        }
        tokio::select! {
            () = tokio::time::sleep(policy.every) => {}
            _ = stop.wait_for(|stop| *stop) => return,
        }
    }
}
