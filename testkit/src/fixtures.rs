//! Finished and unfinished runs written straight into the tables, many at
//! a time, for tests and benchmarks of what reads or prunes them. Each run
//! gets one step row and two events, as a real one-step run has.

use sea_orm::{
    ConnectionTrait, DatabaseConnection,
    sea_query::{Alias, Query},
};
use serde_json::json;
use uuid::Uuid;

/// A run to write: its status and when it ended (or, unfinished, was created).
#[derive(Clone, Debug)]
pub struct FixtureRun {
    pub id: Uuid,
    pub workflow: Uuid,
    pub owner: Uuid,
    pub status: &'static str,
    /// Unix ms.
    pub at: i64,
}

/// `n` runs of `workflow`, the i-th at `at(i)`.
pub fn fixture_runs(
    workflow: Uuid,
    owner: Uuid,
    status: &'static str,
    n: i64,
    at: impl Fn(i64) -> i64,
) -> Vec<FixtureRun> {
    (0..n)
        .map(|i| FixtureRun {
            id: Uuid::new_v4(),
            workflow,
            owner,
            status,
            at: at(i),
        })
        .collect()
}

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// Writes `runs` with their step and events, 400 to a statement.
pub async fn insert_runs(db: &DatabaseConnection, runs: &[FixtureRun]) {
    for chunk in runs.chunks(400) {
        let mut executions = Query::insert()
            .into_table(Alias::new("executions"))
            .columns(
                [
                    "id",
                    "workflow_id",
                    "owner_id",
                    "workflow_version",
                    "status",
                    "trigger",
                    "idempotency_key",
                    "run_after",
                    "created_at",
                    "started_at",
                    "finished_at",
                ]
                .map(Alias::new),
            )
            .to_owned();
        let mut steps = Query::insert()
            .into_table(Alias::new("step_runs"))
            .columns(["execution_id", "node_id", "item_key", "status", "attempts"].map(Alias::new))
            .to_owned();
        let mut events = Query::insert()
            .into_table(Alias::new("execution_events"))
            .columns(
                [
                    "execution_id",
                    "owner_id",
                    "seq",
                    "kind",
                    "data",
                    "created_at",
                ]
                .map(Alias::new),
            )
            .to_owned();
        for run in chunk {
            let finished = matches!(run.status, "succeeded" | "failed" | "cancelled");
            // Unfinished runs are not due: an engine running beside leaves them be.
            let run_after = if finished {
                run.at
            } else {
                run.at + 60 * DAY_MS
            };
            executions.values_panic([
                run.id.into(),
                run.workflow.into(),
                run.owner.into(),
                1.into(),
                run.status.into(),
                json!({"payload": {}}).into(),
                run.id.to_string().into(),
                run_after.into(),
                run.at.into(),
                (run.at - 60_000).into(),
                finished.then_some(run.at).into(),
            ]);
            steps.values_panic([
                run.id.into(),
                "note".into(),
                "".into(),
                "succeeded".into(),
                1.into(),
            ]);
            for seq in [1, 2] {
                events.values_panic([
                    run.id.into(),
                    run.owner.into(),
                    seq.into(),
                    "step.succeeded".into(),
                    json!({"node_id": "note"}).into(),
                    run.at.into(),
                ]);
            }
        }
        for statement in [executions, steps, events] {
            db.execute(&statement)
                .await
                .expect("fixture rows are written");
        }
    }
}
