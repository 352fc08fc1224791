//! The execution queue: claiming due runs under a lease, loading what a
//! resumed run needs, and the operator actions (cancel, re-run, redrive).

use std::collections::HashMap;

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, TransactionTrait};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{StepRow, get, sql::Sql};
use crate::time::now_ms;

/// A run a worker has just claimed.
#[derive(Clone, Debug)]
pub struct Claimed {
    pub id: Uuid,
    pub workflow_id: Uuid,
    pub owner_id: Uuid,
    pub workflow_version: i32,
    /// `queued`, `waiting`, or `running` when taken over from a lost worker.
    pub previous_status: String,
    pub run_count: i32,
    pub trigger: Value,
    pub started_at: Option<i64>,
}

/// Which runs a claim looks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClaimKind {
    /// Queued, or waiting and due.
    Due,
    /// Running under a lease that expired: its worker is gone.
    Abandoned,
}

/// Claims up to `limit` runs for `owner` until `lease_until`.
pub async fn claim(
    db: &DatabaseConnection,
    kind: ClaimKind,
    owner: &str,
    token: &str,
    lease_until: i64,
    limit: u64,
) -> Result<Vec<Claimed>, DbErr> {
    let now = now_ms();
    let backend = db.get_database_backend();
    let condition = |sql: &mut Sql| match kind {
        ClaimKind::Due => {
            sql.push("status IN ('queued', 'waiting') AND run_after <= ")
                .bind(now);
        }
        ClaimKind::Abandoned => {
            sql.push("status = 'running' AND lease_expires_at < ")
                .bind(now);
        }
    };
    let columns = "id, workflow_id, owner_id, workflow_version, run_count, trigger, started_at";
    if backend == DbBackend::Postgres {
        let mut sql = Sql::new(backend);
        sql.push("WITH picked AS (SELECT id, status FROM executions WHERE ");
        condition(&mut sql);
        sql.push(" ORDER BY run_after LIMIT ")
            .bind(limit as i64)
            .push(" FOR UPDATE SKIP LOCKED) ");
        sql.push("UPDATE executions e SET status = 'running', lease_owner = ")
            .bind(owner);
        sql.push(", lease_token = ")
            .bind(token)
            .push(", lease_expires_at = ")
            .bind(lease_until);
        sql.push(", started_at = COALESCE(e.started_at, ")
            .bind(now)
            .push(") FROM picked WHERE e.id = picked.id ");
        sql.push("RETURNING picked.status AS previous_status, e.id, e.workflow_id, e.owner_id, e.workflow_version, e.run_count, e.trigger, e.started_at");
        let rows = db.query_all_raw(sql.build()).await?;
        return rows.iter().map(claimed_from_row).collect();
    }
    // SQLite: one writer at a time, so a transaction is enough.
    let txn = db.begin().await?;
    let mut pick = Sql::new(backend);
    pick.push("SELECT id, status FROM executions WHERE ");
    condition(&mut pick);
    pick.push(" ORDER BY run_after LIMIT ").bind(limit as i64);
    let picked = txn.query_all_raw(pick.build()).await?;
    if picked.is_empty() {
        txn.commit().await?;
        return Ok(Vec::new());
    }
    let mut previous = HashMap::new();
    let mut ids = Vec::with_capacity(picked.len());
    for row in &picked {
        let id: Uuid = get(row, "id")?;
        previous.insert(id, get::<String>(row, "status")?);
        ids.push(id);
    }
    let mut update = Sql::new(backend);
    update
        .push("UPDATE executions SET status = 'running', lease_owner = ")
        .bind(owner);
    update
        .push(", lease_token = ")
        .bind(token)
        .push(", lease_expires_at = ")
        .bind(lease_until);
    update
        .push(", started_at = COALESCE(started_at, ")
        .bind(now)
        .push(") WHERE id IN (")
        .list(&ids)
        .push(")");
    txn.execute_raw(update.build()).await?;
    let mut select = Sql::new(backend);
    select
        .push(&format!(
            "SELECT {columns}, '' AS previous_status FROM executions WHERE id IN ("
        ))
        .list(&ids)
        .push(")");
    let rows = txn.query_all_raw(select.build()).await?;
    txn.commit().await?;
    rows.iter()
        .map(|row| {
            let mut claimed = claimed_from_row(row)?;
            claimed.previous_status = previous.remove(&claimed.id).unwrap_or_default();
            Ok(claimed)
        })
        .collect()
}

fn claimed_from_row(row: &sea_orm::QueryResult) -> Result<Claimed, DbErr> {
    Ok(Claimed {
        id: get(row, "id")?,
        workflow_id: get(row, "workflow_id")?,
        owner_id: get(row, "owner_id")?,
        workflow_version: get(row, "workflow_version")?,
        previous_status: get(row, "previous_status")?,
        run_count: get(row, "run_count")?,
        trigger: get(row, "trigger")?,
        started_at: get(row, "started_at")?,
    })
}

/// The document of a saved workflow version.
pub async fn version_definition(
    db: &DatabaseConnection,
    workflow_id: Uuid,
    version: i32,
) -> Result<Option<Value>, DbErr> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("SELECT definition FROM workflow_versions WHERE workflow_id = ")
        .bind(workflow_id);
    sql.push(" AND version = ").bind(version);
    match db.query_one_raw(sql.build()).await? {
        Some(row) => Ok(Some(get(&row, "definition")?)),
        None => Ok(None),
    }
}

/// Whose workflow this is.
pub async fn workflow_owner(
    db: &DatabaseConnection,
    workflow_id: Uuid,
) -> Result<Option<Uuid>, DbErr> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("SELECT owner_id FROM workflows WHERE id = ")
        .bind(workflow_id);
    match db.query_one_raw(sql.build()).await? {
        Some(row) => Ok(Some(get(&row, "owner_id")?)),
        None => Ok(None),
    }
}

/// Saved steps and the newest event number of each run.
pub async fn progress(
    db: &DatabaseConnection,
    ids: &[Uuid],
) -> Result<(HashMap<Uuid, Vec<StepRow>>, HashMap<Uuid, i32>), DbErr> {
    let mut steps: HashMap<Uuid, Vec<StepRow>> = HashMap::new();
    let mut seqs = HashMap::new();
    if ids.is_empty() {
        return Ok((steps, seqs));
    }
    let backend = db.get_database_backend();
    let mut sql = Sql::new(backend);
    sql.push(
        "SELECT execution_id, node_id, item_key, status, attempts, port, input, output, error, started_at, finished_at, wake_at \
         FROM step_runs WHERE execution_id IN (",
    )
    .list(ids)
    .push(")");
    for row in db.query_all_raw(sql.build()).await? {
        steps
            .entry(get(&row, "execution_id")?)
            .or_default()
            .push(StepRow {
                node_id: get(&row, "node_id")?,
                item_key: get(&row, "item_key")?,
                status: get(&row, "status")?,
                attempts: get(&row, "attempts")?,
                port: get(&row, "port")?,
                input: get(&row, "input")?,
                output: get(&row, "output")?,
                error: get(&row, "error")?,
                started_at: get(&row, "started_at")?,
                finished_at: get(&row, "finished_at")?,
                wake_at: get(&row, "wake_at")?,
                spilled: Vec::new(),
            });
    }
    super::payloads::restore(db, ids, &mut steps).await?;
    let mut sql = Sql::new(backend);
    sql.push("SELECT execution_id, MAX(seq) AS seq FROM execution_events WHERE execution_id IN (")
        .list(ids)
        .push(") GROUP BY execution_id");
    for row in db.query_all_raw(sql.build()).await? {
        seqs.insert(get(&row, "execution_id")?, get(&row, "seq")?);
    }
    Ok((steps, seqs))
}

/// Extends the leases `owner` holds on `ids`: the runs a task of this
/// instance still works on. A run whose task is gone is left to expire, so
/// that another worker takes it over.
pub async fn heartbeat(
    db: &DatabaseConnection,
    owner: &str,
    ids: &[Uuid],
    lease_until: i64,
) -> Result<u64, DbErr> {
    let mut renewed = 0;
    for chunk in ids.chunks(super::writer::ROWS_PER_STATEMENT) {
        let mut sql = Sql::new(db.get_database_backend());
        sql.push("UPDATE executions SET lease_expires_at = ")
            .bind(lease_until);
        sql.push(" WHERE status = 'running' AND lease_owner = ")
            .bind(owner);
        sql.push(" AND id IN (").list(chunk).push(")");
        renewed += db.execute_raw(sql.build()).await?.rows_affected();
    }
    Ok(renewed)
}

/// Fails a run whose progress cannot be saved (or whose task broke), if
/// `owner` still holds it under `token`: the run and its open steps end
/// `failed` with `error`, without the data that could not be stored.
/// Returns whether the run was failed.
pub async fn fail_unsaved(
    db: &DatabaseConnection,
    id: Uuid,
    owner_id: Uuid,
    (lease_owner, token): (&str, &str),
    error: Value,
) -> Result<bool, DbErr> {
    let backend = db.get_database_backend();
    let txn = db.begin().await?;
    let now = now_ms();
    let mut sql = Sql::new(backend);
    sql.push("UPDATE executions SET status = 'failed', error = ")
        .bind_json(Some(&error));
    sql.push(", finished_at = ").bind(now).push(
        ", lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL WHERE status = 'running' AND id = ",
    );
    sql.bind(id)
        .push(" AND lease_owner = ")
        .bind(lease_owner)
        .push(" AND lease_token = ")
        .bind(token);
    if txn.execute_raw(sql.build()).await?.rows_affected() == 0 {
        txn.rollback().await?;
        return Ok(false);
    }
    let mut sql = Sql::new(backend);
    sql.push("UPDATE step_runs SET status = 'failed', wake_at = NULL, finished_at = ")
        .bind(now);
    sql.push(", error = ").bind_json(Some(&error));
    sql.push(" WHERE status IN ('pending', 'running', 'retrying') AND execution_id = ")
        .bind(id);
    txn.execute_raw(sql.build()).await?;
    insert_event(
        &txn,
        id,
        owner_id,
        "execution.failed",
        json!({ "error": error }),
    )
    .await?;
    notify(&txn, &[("switchyard_events", "")]).await?;
    txn.commit().await?;
    Ok(true)
}

/// Lets other workers take over the given runs at once (on shutdown).
pub async fn release(db: &DatabaseConnection, owner: &str, ids: &[Uuid]) -> Result<(), DbErr> {
    if ids.is_empty() {
        return Ok(());
    }
    let mut sql = Sql::new(db.get_database_backend());
    sql.push(
        "UPDATE executions SET lease_expires_at = 0 WHERE status = 'running' AND lease_owner = ",
    )
    .bind(owner);
    sql.push(" AND id IN (").list(ids).push(")");
    db.execute_raw(sql.build()).await.map(|_| ())
}

/// When the next queued or waiting run falls due.
pub async fn next_due(db: &DatabaseConnection) -> Result<Option<i64>, DbErr> {
    let sql = "SELECT MIN(run_after) AS due FROM executions WHERE status IN ('queued', 'waiting')";
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            sql,
        ))
        .await?;
    Ok(match row {
        Some(row) => get(&row, "due")?,
        None => None,
    })
}

/// What a cancel request did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CancelOutcome {
    /// The run was not running; it is cancelled now.
    Cancelled,
    /// The run is running; its worker stops it at the next step boundary.
    Requested {
        owner: Option<String>,
    },
    AlreadyFinished(String),
    NotFound,
}

/// Next event number of a run, inside a transaction that locked it.
async fn next_seq(txn: &impl ConnectionTrait, id: Uuid) -> Result<i32, DbErr> {
    let mut sql = Sql::new(txn.get_database_backend());
    sql.push("SELECT COALESCE(MAX(seq), 0) AS seq FROM execution_events WHERE execution_id = ")
        .bind(id);
    let row = txn.query_one_raw(sql.build()).await?;
    Ok(row.map(|r| get::<i32>(&r, "seq")).transpose()?.unwrap_or(0) + 1)
}

/// Locks a run of `owner` and returns its status, if it exists.
async fn lock_run(
    txn: &impl ConnectionTrait,
    id: Uuid,
    owner_id: Uuid,
) -> Result<Option<(String, Option<String>)>, DbErr> {
    let mut sql = Sql::new(txn.get_database_backend());
    sql.push("SELECT status, lease_owner FROM executions WHERE id = ")
        .bind(id);
    sql.push(" AND owner_id = ").bind(owner_id);
    if sql.is_postgres() {
        sql.push(" FOR UPDATE");
    }
    match txn.query_one_raw(sql.build()).await? {
        Some(row) => Ok(Some((get(&row, "status")?, get(&row, "lease_owner")?))),
        None => Ok(None),
    }
}

pub(crate) async fn insert_event(
    txn: &impl ConnectionTrait,
    id: Uuid,
    owner_id: Uuid,
    kind: &str,
    data: Value,
) -> Result<i64, DbErr> {
    lock_event_log(txn).await?;
    let seq = next_seq(txn, id).await?;
    let mut sql = Sql::new(txn.get_database_backend());
    sql.push("INSERT INTO execution_events (execution_id, owner_id, seq, kind, data, created_at) VALUES (")
        .bind(id)
        .push(", ")
        .bind(owner_id)
        .push(", ")
        .bind(seq)
        .push(", ")
        .bind(kind)
        .push(", ")
        .bind(data)
        .push(", ")
        .bind(now_ms())
        .push(") RETURNING id");
    let row = txn
        .query_one_raw(sql.build())
        .await?
        .ok_or_else(|| DbErr::Custom("no event id".into()))?;
    get(&row, "id")
}

/// Cancels a run of `owner_id`: at once when it is not running, otherwise
/// by asking its worker to stop.
pub async fn request_cancel(
    db: &DatabaseConnection,
    id: Uuid,
    owner_id: Uuid,
) -> Result<CancelOutcome, DbErr> {
    let txn = db.begin().await?;
    let backend = db.get_database_backend();
    let Some((status, lease_owner)) = lock_run(&txn, id, owner_id).await? else {
        return Ok(CancelOutcome::NotFound);
    };
    let now = now_ms();
    let outcome = match status.as_str() {
        "queued" | "waiting" | "held" => {
            let mut sql = Sql::new(backend);
            sql.push("UPDATE executions SET status = 'cancelled', cancel_requested = ")
                .bind(true);
            sql.push(", finished_at = ")
                .bind(now)
                .push(
                    ", lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL WHERE id = ",
                )
                .bind(id);
            txn.execute_raw(sql.build()).await?;
            let mut sql = Sql::new(backend);
            sql.push("UPDATE step_runs SET status = 'skipped', wake_at = NULL, finished_at = ")
                .bind(now);
            sql.push(" WHERE status IN ('pending', 'retrying') AND execution_id = ")
                .bind(id);
            txn.execute_raw(sql.build()).await?;
            let mut sql = Sql::new(backend);
            sql.push("UPDATE step_runs SET status = 'failed', wake_at = NULL, finished_at = ")
                .bind(now);
            sql.push(", error = ")
                .bind(json!({"class": "cancelled", "message": "the run was cancelled"}));
            sql.push(" WHERE status = 'running' AND execution_id = ")
                .bind(id);
            txn.execute_raw(sql.build()).await?;
            insert_event(&txn, id, owner_id, "execution.cancelled", json!({})).await?;
            notify(&txn, &[("switchyard_events", "")]).await?;
            CancelOutcome::Cancelled
        }
        "running" => {
            let mut sql = Sql::new(backend);
            sql.push("UPDATE executions SET cancel_requested = ")
                .bind(true)
                .push(" WHERE id = ")
                .bind(id);
            txn.execute_raw(sql.build()).await?;
            notify(&txn, &[("switchyard_cancel", &id.to_string())]).await?;
            CancelOutcome::Requested { owner: lease_owner }
        }
        finished => CancelOutcome::AlreadyFinished(finished.to_owned()),
    };
    txn.commit().await?;
    Ok(outcome)
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RequeueOutcome {
    Requeued,
    /// Only failed or cancelled runs can run again; this one is in that status.
    NotRerunnable(String),
    NotFound,
}

/// Runs a failed or cancelled run again from where it failed: steps that
/// succeeded keep their outputs, the others run anew.
pub async fn requeue(
    db: &DatabaseConnection,
    id: Uuid,
    owner_id: Uuid,
) -> Result<RequeueOutcome, DbErr> {
    let txn = db.begin().await?;
    let backend = db.get_database_backend();
    let Some((status, _)) = lock_run(&txn, id, owner_id).await? else {
        return Ok(RequeueOutcome::NotFound);
    };
    if !matches!(status.as_str(), "failed" | "cancelled") {
        return Ok(RequeueOutcome::NotRerunnable(status));
    }
    let now = now_ms();
    let mut sql = Sql::new(backend);
    sql.push(
        "UPDATE step_runs SET status = 'pending', attempts = 0, port = NULL, output = NULL, error = NULL, \
         finished_at = NULL, wake_at = NULL WHERE status IN ('failed', 'skipped', 'running', 'retrying') AND execution_id = ",
    )
    .bind(id);
    txn.execute_raw(sql.build()).await?;
    let mut sql = Sql::new(backend);
    sql.push("UPDATE executions SET status = 'queued', error = NULL, finished_at = NULL, cancel_requested = ").bind(false);
    sql.push(", run_after = ").bind(now).push(", run_count = run_count + 1, lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL WHERE id = ").bind(id);
    txn.execute_raw(sql.build()).await?;
    let mut sql = Sql::new(backend);
    sql.push("UPDATE dead_letters SET redriven_at = ").bind(now);
    sql.push(" WHERE redriven_at IS NULL AND execution_id = ")
        .bind(id);
    txn.execute_raw(sql.build()).await?;
    insert_event(&txn, id, owner_id, "execution.requeued", json!({})).await?;
    notify(&txn, &[("switchyard_events", ""), ("switchyard_work", "")]).await?;
    txn.commit().await?;
    Ok(RequeueOutcome::Requeued)
}

/// Runs of `owner_id` in the dead-letter queue that were not redriven yet.
pub async fn open_dead_letters(
    db: &DatabaseConnection,
    owner_id: Uuid,
) -> Result<Vec<Uuid>, DbErr> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("SELECT execution_id FROM dead_letters WHERE redriven_at IS NULL AND owner_id = ")
        .bind(owner_id);
    sql.push(" ORDER BY created_at");
    db.query_all_raw(sql.build())
        .await?
        .iter()
        .map(|row| get(row, "execution_id"))
        .collect()
}

/// Key of the Postgres advisory lock held while appending events.
pub(crate) const EVENT_LOG_LOCK: i64 = 0x5357_4556_4e54; // "SWEVNT"

/// Serialises appends to the event log until the transaction ends, so that
/// event ids become visible in order and readers can follow the log by id.
/// (SQLite has one writer anyway.)
pub(crate) async fn lock_event_log(txn: &impl ConnectionTrait) -> Result<(), DbErr> {
    if txn.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    txn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({EVENT_LOG_LOCK})"))
        .await
        .map(|_| ())
}

/// `NOTIFY channel, 'payload'` for each pair, in one statement, on
/// Postgres (delivered on commit); nothing on SQLite.
pub(crate) async fn notify(
    txn: &impl ConnectionTrait,
    notices: &[(&str, &str)],
) -> Result<(), DbErr> {
    if txn.get_database_backend() != DbBackend::Postgres || notices.is_empty() {
        return Ok(());
    }
    let mut sql = Sql::new(DbBackend::Postgres);
    sql.push("SELECT ");
    for (i, (channel, payload)) in notices.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.push("pg_notify(")
            .bind(*channel)
            .push(", ")
            .bind(*payload)
            .push(")");
    }
    txn.execute_raw(sql.build()).await.map(|_| ())
}
