//! Pruning what finished runs leave behind, in small batches so that the
//! queue's own writes slip in between (on SQLite they share one writer):
//! the whole values of large steps of succeeded runs first (the rows keep
//! their preview; only a resumed run reads them, and a succeeded run never
//! resumes), dead letters past their own, longer retention, then finished
//! runs older than the retention age or beyond the newest N of their
//! workflow, with their steps, events and payloads (deleted with them).
//!
//! Runs still queued, waiting or running are never touched, nor runs with
//! a dead letter that is kept. The same conditions count what a pass would
//! delete (a dry run).

use std::time::Duration;

use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr};
use uuid::Uuid;

use super::{get, sql::Sql};

/// What to keep. `None` keeps by that rule forever.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cutoffs {
    /// Finished runs that ended before this (Unix ms) are deleted.
    pub runs_before: Option<i64>,
    /// The newest this many finished runs of each workflow are kept.
    pub max_runs_per_workflow: Option<u64>,
    /// Whole step values of succeeded runs that ended before this go.
    pub payloads_before: Option<i64>,
    /// Dead letters added before this go (and then their runs may).
    pub dead_letters_before: Option<i64>,
}

/// What a pass deleted (or, dry, would delete).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pruned {
    pub runs: u64,
    pub payloads: u64,
    pub dead_letters: u64,
    /// Runs by workflow (dry runs only).
    pub by_workflow: Vec<(Uuid, u64)>,
}

/// How a pass goes about it.
#[derive(Clone, Copy, Debug)]
pub struct Pass {
    /// Rows deleted per statement.
    pub batch: u64,
    /// Rest between two batches, for other writers.
    pub pause: Duration,
    /// Count instead of deleting.
    pub dry_run: bool,
}

const FINISHED: &str = "status IN ('succeeded', 'failed', 'cancelled') AND finished_at IS NOT NULL";

/// Prunes (or counts) by `cutoffs`; only `owner`'s data when given.
pub async fn prune(
    db: &DatabaseConnection,
    cutoffs: &Cutoffs,
    owner: Option<Uuid>,
    pass: Pass,
) -> Result<Pruned, DbErr> {
    let mut pruned = Pruned::default();
    if let Some(before) = cutoffs.payloads_before {
        pruned.payloads = payloads(db, before, owner, pass).await?;
    }
    if let Some(before) = cutoffs.dead_letters_before {
        pruned.dead_letters = dead_letters(db, before, owner, pass).await?;
    }
    // Each workflow's own cutoff: the age, or where its newest N begin.
    let mut limited = Vec::new();
    if let Some(keep) = cutoffs.max_runs_per_workflow.filter(|n| *n > 0) {
        for workflow in workflows_over(db, keep, owner).await? {
            if let Some(nth) = nth_newest(db, workflow, keep).await? {
                let before = cutoffs.runs_before.map_or(nth, |age| age.max(nth));
                limited.push((workflow, before));
            }
        }
    }
    let dead_letters_before = cutoffs.dead_letters_before.unwrap_or(i64::MIN);
    if let Some(before) = cutoffs.runs_before {
        let scope = Scope {
            before,
            owner,
            workflow: None,
            except: limited.iter().map(|(w, _)| *w).collect(),
            dead_letters_before,
        };
        pruned.runs += runs(db, &scope, pass, &mut pruned.by_workflow).await?;
    }
    for (workflow, before) in limited {
        let scope = Scope {
            before,
            owner,
            workflow: Some(workflow),
            except: Vec::new(),
            dead_letters_before,
        };
        pruned.runs += runs(db, &scope, pass, &mut pruned.by_workflow).await?;
    }
    pruned
        .by_workflow
        .sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    Ok(pruned)
}

/// Which finished runs a statement is about.
struct Scope {
    before: i64,
    owner: Option<Uuid>,
    workflow: Option<Uuid>,
    /// Workflows handled with a cutoff of their own.
    except: Vec<Uuid>,
    /// Dead letters added since are kept, and so are their runs.
    dead_letters_before: i64,
}

impl Scope {
    fn push(&self, sql: &mut Sql) {
        sql.push(FINISHED)
            .push(" AND finished_at < ")
            .bind(self.before);
        if let Some(owner) = self.owner {
            sql.push(" AND owner_id = ").bind(owner);
        }
        if let Some(workflow) = self.workflow {
            sql.push(" AND workflow_id = ").bind(workflow);
        }
        if !self.except.is_empty() {
            sql.push(" AND workflow_id NOT IN (")
                .list(&self.except)
                .push(")");
        }
        sql.push(" AND NOT EXISTS (SELECT 1 FROM dead_letters d WHERE d.execution_id = executions.id AND d.created_at >= ")
            .bind(self.dead_letters_before)
            .push(")");
    }
}

async fn runs(
    db: &DatabaseConnection,
    scope: &Scope,
    pass: Pass,
    by_workflow: &mut Vec<(Uuid, u64)>,
) -> Result<u64, DbErr> {
    let backend = db.get_database_backend();
    if pass.dry_run {
        let mut sql = Sql::new(backend);
        sql.push("SELECT workflow_id, COUNT(*) AS runs FROM executions WHERE ");
        scope.push(&mut sql);
        sql.push(" GROUP BY workflow_id");
        let mut total = 0;
        for row in db.query_all_raw(sql.build()).await? {
            let runs = get::<i64>(&row, "runs")? as u64;
            by_workflow.push((get(&row, "workflow_id")?, runs));
            total += runs;
        }
        return Ok(total);
    }
    batches(db, pass, || {
        let mut sql = Sql::new(backend);
        // Steps, events and payloads go with the run (ON DELETE CASCADE).
        sql.push("DELETE FROM executions WHERE id IN (SELECT id FROM executions WHERE ");
        scope.push(&mut sql);
        sql.push(" ORDER BY finished_at LIMIT ")
            .bind(pass.batch as i64)
            .push(")");
        sql
    })
    .await
}

async fn payloads(
    db: &DatabaseConnection,
    before: i64,
    owner: Option<Uuid>,
    pass: Pass,
) -> Result<u64, DbErr> {
    let backend = db.get_database_backend();
    let runs = |sql: &mut Sql| {
        sql.push("SELECT id FROM executions WHERE status = 'succeeded' AND finished_at < ")
            .bind(before);
        if let Some(owner) = owner {
            sql.push(" AND owner_id = ").bind(owner);
        }
    };
    if pass.dry_run {
        let mut sql = Sql::new(backend);
        sql.push("SELECT COUNT(*) AS n FROM step_payloads WHERE execution_id IN (");
        runs(&mut sql);
        sql.push(")");
        return count(db, sql).await;
    }
    batches(db, pass, || {
        let mut sql = Sql::new(backend);
        sql.push("DELETE FROM step_payloads WHERE execution_id IN (SELECT DISTINCT p.execution_id FROM step_payloads p WHERE p.execution_id IN (");
        runs(&mut sql);
        sql.push(") LIMIT ").bind(pass.batch as i64).push(")");
        sql
    })
    .await
}

async fn dead_letters(
    db: &DatabaseConnection,
    before: i64,
    owner: Option<Uuid>,
    pass: Pass,
) -> Result<u64, DbErr> {
    let backend = db.get_database_backend();
    let condition = |sql: &mut Sql| {
        sql.push("created_at < ").bind(before);
        if let Some(owner) = owner {
            sql.push(" AND owner_id = ").bind(owner);
        }
    };
    if pass.dry_run {
        let mut sql = Sql::new(backend);
        sql.push("SELECT COUNT(*) AS n FROM dead_letters WHERE ");
        condition(&mut sql);
        return count(db, sql).await;
    }
    batches(db, pass, || {
        let mut sql = Sql::new(backend);
        sql.push("DELETE FROM dead_letters WHERE id IN (SELECT id FROM dead_letters WHERE ");
        condition(&mut sql);
        sql.push(" LIMIT ").bind(pass.batch as i64).push(")");
        sql
    })
    .await
}

/// Workflows with more than `keep` finished runs.
async fn workflows_over(
    db: &DatabaseConnection,
    keep: u64,
    owner: Option<Uuid>,
) -> Result<Vec<Uuid>, DbErr> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("SELECT workflow_id FROM executions WHERE ")
        .push(FINISHED);
    if let Some(owner) = owner {
        sql.push(" AND owner_id = ").bind(owner);
    }
    sql.push(" GROUP BY workflow_id HAVING COUNT(*) > ")
        .bind(keep as i64);
    db.query_all_raw(sql.build())
        .await?
        .iter()
        .map(|row| get(row, "workflow_id"))
        .collect()
}

/// When the `keep`-th newest finished run of `workflow` ended.
async fn nth_newest(
    db: &DatabaseConnection,
    workflow: Uuid,
    keep: u64,
) -> Result<Option<i64>, DbErr> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("SELECT finished_at FROM executions WHERE ")
        .push(FINISHED)
        .push(" AND workflow_id = ")
        .bind(workflow);
    sql.push(" ORDER BY finished_at DESC LIMIT 1 OFFSET ")
        .bind(keep as i64 - 1);
    match db.query_one_raw(sql.build()).await? {
        Some(row) => get(&row, "finished_at"),
        None => Ok(None),
    }
}

async fn count(db: &DatabaseConnection, sql: Sql) -> Result<u64, DbErr> {
    let row = db.query_one_raw(sql.build()).await?;
    Ok(row.map(|r| get::<i64>(&r, "n")).transpose()?.unwrap_or(0) as u64)
}

/// Runs `statement` until a batch deletes less than a full batch.
async fn batches(
    db: &DatabaseConnection,
    pass: Pass,
    statement: impl Fn() -> Sql,
) -> Result<u64, DbErr> {
    let mut total = 0;
    loop {
        let deleted = db.execute_raw(statement().build()).await?.rows_affected();
        total += deleted;
        if deleted < pass.batch {
            return Ok(total);
        }
        tokio::time::sleep(pass.pause).await;
    }
}
