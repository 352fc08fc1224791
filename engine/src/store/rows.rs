//! The rows a save writes: steps, the end of a run, and its events (with
//! the turn on the event log). On Postgres each kind goes out in statements
//! whose text never changes (`json_slices`); SQLite gets plain `VALUES`
//! lists.

use std::collections::HashMap;

use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend, DbErr};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{
    EventRow, StepRow, StoredEvent, get,
    queue::EVENT_LOG_LOCK,
    sql::{Sql, json_slices},
    writer::{Finish, MAX_STATEMENT_BYTES, ROWS_PER_STATEMENT, SaveOp},
};

pub(super) async fn upsert_steps(
    txn: &DatabaseTransaction,
    saves: &[&SaveOp],
) -> Result<(), DbErr> {
    let rows: Vec<(Uuid, &StepRow)> = saves
        .iter()
        .flat_map(|s| s.steps.iter().map(|step| (s.execution_id, step)))
        .collect();
    if txn.get_database_backend() == DbBackend::Postgres {
        return upsert_steps_postgres(txn, &rows).await;
    }
    insert_rows(
        txn,
        "INSERT INTO step_runs (execution_id, node_id, item_key, status, attempts, port, input, output, error, \
         started_at, finished_at, wake_at) VALUES ",
        STEP_CONFLICT,
        &rows,
        |sql, (execution_id, step)| {
            sql.bind(*execution_id).push(", ").bind(step.node_id.clone()).push(", ").bind(step.item_key.clone());
            sql.push(", ").bind(step.status.clone()).push(", ").bind(step.attempts).push(", ").bind(step.port.clone());
            sql.push(", ").bind_json(step.input.as_ref()).push(", ").bind_json(step.output.as_ref());
            sql.push(", ").bind_json(step.error.as_ref());
            sql.push(", ").bind(step.started_at).push(", ").bind(step.finished_at).push(", ").bind(step.wake_at);
        },
    )
    .await
    .map(|_| ())
}

/// A step saved again replaces what was stored of it.
const STEP_CONFLICT: &str = " ON CONFLICT (execution_id, node_id, item_key) DO UPDATE SET status = excluded.status, \
     attempts = excluded.attempts, port = excluded.port, input = excluded.input, output = excluded.output, \
     error = excluded.error, started_at = excluded.started_at, finished_at = excluded.finished_at, \
     wake_at = excluded.wake_at";

/// Postgres: the steps in statements whose text never changes
/// (`json_slices`). JSON values travel as text, so that a step whose output
/// is JSON `null` keeps it instead of becoming SQL NULL.
async fn upsert_steps_postgres(
    txn: &DatabaseTransaction,
    rows: &[(Uuid, &StepRow)],
) -> Result<(), DbErr> {
    let text = |value: &Option<Value>| value.as_ref().map(Value::to_string);
    let slices = json_slices(
        rows,
        MAX_STATEMENT_BYTES,
        ROWS_PER_STATEMENT,
        |(execution_id, step)| {
            json!({
                "execution_id": execution_id,
                "node_id": step.node_id,
                "item_key": step.item_key,
                "status": step.status,
                "attempts": step.attempts,
                "port": step.port,
                "input": text(&step.input),
                "output": text(&step.output),
                "error": text(&step.error),
                "started_at": step.started_at,
                "finished_at": step.finished_at,
                "wake_at": step.wake_at,
            })
        },
    );
    for given in slices {
        let mut sql = Sql::new(DbBackend::Postgres);
        sql.push(
            "INSERT INTO step_runs (execution_id, node_id, item_key, status, attempts, port, input, output, error, \
             started_at, finished_at, wake_at) \
             SELECT execution_id, node_id, item_key, status, attempts, port, CAST(input AS jsonb), \
             CAST(output AS jsonb), CAST(error AS jsonb), started_at, finished_at, wake_at \
             FROM jsonb_to_recordset(CAST(",
        )
        .bind(given)
        .push(
            " AS jsonb)) AS g (execution_id uuid, node_id text, item_key text, status text, attempts integer, \
             port text, input text, output text, error text, started_at bigint, finished_at bigint, wake_at bigint)",
        )
        .push(STEP_CONFLICT);
        txn.execute_raw(sql.build()).await?;
    }
    Ok(())
}

/// Runs `head (row), (row), … tail`, starting a new statement whenever one
/// grows past [`MAX_STATEMENT_BYTES`] or [`ROWS_PER_STATEMENT`].
pub(super) async fn insert_rows<T>(
    txn: &DatabaseTransaction,
    head: &str,
    tail: &str,
    items: &[T],
    mut row: impl FnMut(&mut Sql, &T),
) -> Result<Vec<sea_orm::QueryResult>, DbErr> {
    let mut results = Vec::new();
    let mut current: Option<(Sql, usize)> = None;
    for (i, item) in items.iter().enumerate() {
        let (sql, count) = current.get_or_insert_with(|| {
            let mut sql = Sql::new(txn.get_database_backend());
            sql.push(head);
            (sql, 0)
        });
        if *count > 0 {
            sql.push(", ");
        }
        sql.push("(");
        row(sql, item);
        sql.push(")");
        *count += 1;
        if i + 1 == items.len() || *count >= ROWS_PER_STATEMENT || sql.size() >= MAX_STATEMENT_BYTES
        {
            let (mut sql, _) = current.take().expect("a statement is being built");
            sql.push(tail);
            results.extend(txn.query_all_raw(sql.build()).await?);
        }
    }
    Ok(results)
}

pub(super) async fn finish_run(
    txn: &DatabaseTransaction,
    id: Uuid,
    finish: &Finish,
    now: i64,
) -> Result<(), DbErr> {
    let backend = txn.get_database_backend();
    let mut sql = Sql::new(backend);
    sql.push("UPDATE executions SET status = ")
        .bind(finish.status)
        .push(", error = ")
        .bind_json(finish.error.as_ref());
    sql.push(", run_after = COALESCE(")
        .bind(finish.run_after)
        .push(", run_after), finished_at = ")
        .bind(finish.finished_at);
    sql.push(", lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL WHERE id = ")
        .bind(id);
    txn.execute_raw(sql.build()).await?;
    if let Some(letter) = &finish.dead_letter {
        let mut sql = Sql::new(backend);
        sql.push("INSERT INTO dead_letters (id, execution_id, owner_id, workflow_id, node_id, reason, error, created_at) ");
        sql.push("SELECT ")
            .bind(Uuid::now_v7())
            .push(", id, owner_id, workflow_id, ")
            .bind(letter.node_id.clone());
        sql.push(", ")
            .bind(letter.reason.clone())
            .push(", ")
            .bind_json(Some(&letter.error))
            .push(", ")
            .bind(now);
        sql.push(" FROM executions WHERE id = ").bind(id);
        sql.push(
            " ON CONFLICT (execution_id) DO UPDATE SET node_id = excluded.node_id, reason = excluded.reason, \
             error = excluded.error, created_at = excluded.created_at, redriven_at = NULL",
        );
        txn.execute_raw(sql.build()).await?;
    }
    Ok(())
}

/// Appends events to the log, on Postgres taking the transaction's turn on
/// it in the same statement (the turn `lock_event_log` takes; SQLite has
/// one writer anyway).
pub(super) async fn insert_events(
    txn: &DatabaseTransaction,
    events: &[EventRow],
) -> Result<Vec<StoredEvent>, DbErr> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let rows = if txn.get_database_backend() == DbBackend::Postgres {
        insert_events_postgres(txn, events).await?
    } else {
        insert_rows(
            txn,
            "INSERT INTO execution_events (execution_id, owner_id, seq, kind, data, created_at) VALUES ",
            " RETURNING id, execution_id, seq",
            events,
            |sql, event| {
                sql.bind(event.execution_id).push(", ").bind(event.owner_id).push(", ").bind(event.seq);
                sql.push(", ").bind(event.kind.clone()).push(", ").bind_json(Some(&event.data)).push(", ").bind(event.created_at);
            },
        )
        .await?
    };
    let mut ids: HashMap<(Uuid, i32), i64> = HashMap::with_capacity(rows.len());
    for row in rows {
        ids.insert(
            (get(&row, "execution_id")?, get(&row, "seq")?),
            get(&row, "id")?,
        );
    }
    let mut stored = events
        .iter()
        .map(|event| {
            let id = ids
                .get(&(event.execution_id, event.seq))
                .copied()
                .ok_or_else(|| DbErr::Custom("event id missing".into()))?;
            Ok(StoredEvent {
                id,
                row: event.clone(),
            })
        })
        .collect::<Result<Vec<_>, DbErr>>()?;
    stored.sort_by_key(|e| e.id);
    Ok(stored)
}

/// Postgres: the turn and the rows in one statement per slice, with a text
/// that never changes (`json_slices`), so that the turn is held for as few
/// round trips as possible. Ids are drawn in the order of the rows.
async fn insert_events_postgres(
    txn: &DatabaseTransaction,
    events: &[EventRow],
) -> Result<Vec<sea_orm::QueryResult>, DbErr> {
    let slices = json_slices(events, MAX_STATEMENT_BYTES, ROWS_PER_STATEMENT, |event| {
        json!({
            "execution_id": event.execution_id,
            "owner_id": event.owner_id,
            "seq": event.seq,
            "kind": event.kind,
            "data": event.data.to_string(),
            "created_at": event.created_at,
        })
    });
    let mut results = Vec::new();
    for given in slices {
        let mut sql = Sql::new(DbBackend::Postgres);
        sql.push(&format!(
            "WITH turn AS MATERIALIZED (SELECT pg_advisory_xact_lock({EVENT_LOG_LOCK})) \
             INSERT INTO execution_events (execution_id, owner_id, seq, kind, data, created_at) \
             SELECT g.execution_id, g.owner_id, g.seq, g.kind, CAST(g.data AS jsonb), g.created_at \
             FROM ROWS FROM (jsonb_to_recordset(CAST("
        ));
        sql.bind(given).push(
            " AS jsonb)) AS (execution_id uuid, owner_id uuid, seq integer, kind text, data text, created_at bigint)) \
             WITH ORDINALITY AS g (execution_id, owner_id, seq, kind, data, created_at, n) \
             CROSS JOIN turn ORDER BY g.n RETURNING id, execution_id, seq",
        );
        results.extend(txn.query_all_raw(sql.build()).await?);
    }
    Ok(results)
}
