//! New runs on Postgres, committed one statement at a time: a statement
//! inserts a slice of the batch's runs with their `execution.queued`
//! events, takes its turn on the event log and notifies listeners, and
//! commits on its own, in one round trip. The turn on the event log is then
//! held only while Postgres itself works, never across round trips to this
//! process, so a burst of webhooks does not queue behind its own
//! transactions. Each run is committed whole (run and event together);
//! runs of one batch need nothing from each other, so they need not share a
//! transaction. SQLite, which has no writing common table expressions,
//! queues runs in the writer's one transaction, beside the saves, instead
//! (`insert_in`).

use std::collections::{HashMap, HashSet};

use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr};
use serde_json::json;
use uuid::Uuid;

use super::{
    Enqueued, EventRow, NewExecution, StoredEvent, get,
    queue::EVENT_LOG_LOCK,
    sql::{Sql, json_slices},
};

/// A run to insert: its new id, what to queue, its idempotency key.
pub(crate) type NewRun<'a> = (Uuid, &'a NewExecution, String);

/// Inserts `runs` (in statements of at most `max_bytes` and `max_rows`),
/// returning for each its run (a new one, or the one its key already has)
/// and the events committed, in id order.
pub(crate) async fn commit(
    db: &DatabaseConnection,
    runs: &[NewRun<'_>],
    now: i64,
    max_bytes: usize,
    max_rows: usize,
) -> Result<(Vec<Enqueued>, Vec<StoredEvent>), DbErr> {
    let slices = json_slices(runs, max_bytes, max_rows, |(id, new, key)| {
        json!({
            "id": id,
            "workflow_id": new.workflow_id,
            "owner_id": new.owner_id,
            "workflow_version": new.workflow_version,
            "trigger": { "kind": new.trigger_kind, "payload": new.payload },
            "idempotency_key": key,
        })
    });
    // The statements are independent transactions: they insert side by
    // side and take their turns on the event log one after the other.
    // Every slice is waited for, also when one fails: a slice left running
    // would still hold its runs uncommitted while the batch is retried run
    // by run, and the retry would wait for it (or deadlock with it).
    let answers: Vec<_> = futures_util::future::join_all(
        slices
            .into_iter()
            .map(|given| db.query_all_raw(statement(given, now).build())),
    )
    .await
    .into_iter()
    .collect::<Result<_, DbErr>>()?;
    let mut event_ids: HashMap<Uuid, i64> = HashMap::new();
    for row in answers.iter().flatten() {
        event_ids.insert(get(row, "execution_id")?, get(row, "event_id")?);
    }
    let enqueued = outcomes(db, runs, |id| event_ids.contains_key(id)).await?;
    let mut events: Vec<StoredEvent> = runs
        .iter()
        .filter_map(|(id, new, _)| {
            event_ids.get(id).map(|event_id| StoredEvent {
                id: *event_id,
                row: queued_event(*id, new, now),
            })
        })
        .collect();
    events.sort_by_key(|e| e.id);
    Ok((enqueued, events))
}

/// The `execution.queued` event of a new run (as the statement stores it).
fn queued_event(id: Uuid, new: &NewExecution, now: i64) -> EventRow {
    EventRow {
        execution_id: id,
        owner_id: new.owner_id,
        seq: 1,
        kind: "execution.queued".into(),
        data: json!({ "workflow_id": new.workflow_id, "trigger": new.trigger_kind }),
        created_at: now,
    }
}

/// The statement that queues the runs of one slice (`json_slices`).
fn statement(given: String, now: i64) -> Sql {
    let mut sql = Sql::new(DbBackend::Postgres);
    sql.push(
        "WITH given AS (SELECT * FROM jsonb_to_recordset(CAST(",
    )
    .bind(given)
    .push(
        " AS jsonb)) AS g (id uuid, workflow_id uuid, owner_id uuid, workflow_version integer, \
         trigger jsonb, idempotency_key text)), \
         runs AS (INSERT INTO executions (id, workflow_id, owner_id, workflow_version, status, trigger, \
         idempotency_key, run_after, cancel_requested, run_count, created_at) \
         SELECT id, workflow_id, owner_id, workflow_version, 'queued', trigger, idempotency_key, ",
    );
    sql.bind(now).push(", false, 0, ").bind(now);
    sql.push(
        " FROM given ON CONFLICT (workflow_id, idempotency_key) DO NOTHING \
         RETURNING id, owner_id, workflow_id, trigger ->> 'kind' AS kind), ",
    );
    // The turn is taken only when a run was inserted, and before any event
    // id is drawn: the events' rows come out of the join with it. It is
    // taken after the whole insert (count, not the first row): a statement
    // holding the turn must not still be inserting, or it could wait for
    // another statement's uncommitted run with the same idempotency key
    // while that one waits for the turn (a deadlock).
    sql.push(&format!(
        "turn AS MATERIALIZED (SELECT pg_advisory_xact_lock({EVENT_LOG_LOCK}) FROM (SELECT count(*) AS inserted FROM runs) AS done WHERE inserted > 0), "
    ));
    sql.push(
        "queued AS (INSERT INTO execution_events (execution_id, owner_id, seq, kind, data, created_at) \
         SELECT runs.id, runs.owner_id, 1, 'execution.queued', \
         jsonb_build_object('workflow_id', runs.workflow_id, 'trigger', runs.kind), ",
    );
    sql.bind(now).push(
        " FROM runs CROSS JOIN turn RETURNING id, execution_id), \
         notices AS MATERIALIZED (SELECT pg_notify('switchyard_events', ''), pg_notify('switchyard_work', '') \
         FROM (SELECT 1 FROM queued LIMIT 1) AS one) \
         SELECT queued.execution_id, queued.id AS event_id, (SELECT count(*) FROM notices) AS notices FROM queued",
    );
    sql
}

/// For each of `runs`: created when `is_new` says it was inserted,
/// otherwise the run its idempotency key already had.
async fn outcomes(
    db: &impl ConnectionTrait,
    runs: &[NewRun<'_>],
    is_new: impl Fn(&Uuid) -> bool,
) -> Result<Vec<Enqueued>, DbErr> {
    let existing = existing_runs(db, runs, &is_new).await?;
    runs.iter()
        .map(|(id, new, key)| {
            if is_new(id) {
                return Ok(Enqueued {
                    id: *id,
                    created: true,
                });
            }
            // A run holding the key under this very id was queued by an
            // earlier try of the same batch (see `Writer`): it is new.
            existing
                .get(&(new.workflow_id, key.clone()))
                .map(|found| Enqueued {
                    id: *found,
                    created: found == id,
                })
                // Cannot happen unless the run was deleted in between.
                .ok_or_else(|| {
                    DbErr::Custom(format!(
                        "idempotency key {key} conflicted but no run has it"
                    ))
                })
        })
        .collect()
}

/// The runs that already had the keys of the `runs` that are not new.
async fn existing_runs(
    db: &impl ConnectionTrait,
    runs: &[NewRun<'_>],
    is_new: impl Fn(&Uuid) -> bool,
) -> Result<HashMap<(Uuid, String), Uuid>, DbErr> {
    let repeats: Vec<&NewRun<'_>> = runs.iter().filter(|(id, ..)| !is_new(id)).collect();
    let mut existing = HashMap::new();
    for chunk in repeats.chunks(super::writer::ROWS_PER_STATEMENT) {
        let mut sql = Sql::new(db.get_database_backend());
        sql.push("SELECT id, workflow_id, idempotency_key FROM executions WHERE ");
        for (i, (_, new, key)) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(" OR ");
            }
            sql.push("(workflow_id = ")
                .bind(new.workflow_id)
                .push(" AND idempotency_key = ")
                .bind(key.clone())
                .push(")");
        }
        for row in db.query_all_raw(sql.build()).await? {
            existing.insert(
                (get(&row, "workflow_id")?, get(&row, "idempotency_key")?),
                get(&row, "id")?,
            );
        }
    }
    Ok(existing)
}

/// Inserts `runs` in the writer's transaction (SQLite, or a batch of
/// mixed operations), adding their queued events to `events`.
pub(crate) async fn insert_in(
    txn: &DatabaseTransaction,
    runs: &[NewRun<'_>],
    now: i64,
    events: &mut Vec<EventRow>,
) -> Result<Vec<Enqueued>, DbErr> {
    if runs.is_empty() {
        return Ok(Vec::new());
    }
    let mut inserted = HashSet::new();
    let rows = super::rows::insert_rows(
        txn,
        "INSERT INTO executions (id, workflow_id, owner_id, workflow_version, status, trigger, \
         idempotency_key, run_after, cancel_requested, run_count, created_at) VALUES ",
        " ON CONFLICT (workflow_id, idempotency_key) DO NOTHING RETURNING id",
        runs,
        |sql, (id, new, key)| {
            sql.bind(*id)
                .push(", ")
                .bind(new.workflow_id)
                .push(", ")
                .bind(new.owner_id)
                .push(", ");
            sql.bind(new.workflow_version).push(", 'queued', ");
            sql.bind_json(Some(
                &json!({ "kind": new.trigger_kind, "payload": new.payload }),
            ))
            .push(", ")
            .bind(key.clone());
            sql.push(", ")
                .bind(now)
                .push(", ")
                .bind(false)
                .push(", 0, ")
                .bind(now);
        },
    )
    .await?;
    for row in rows {
        inserted.insert(get::<Uuid>(&row, "id")?);
    }
    let enqueued = outcomes(txn, runs, |id| inserted.contains(id)).await?;
    for ((id, new, _), run) in runs.iter().zip(&enqueued) {
        if run.created {
            events.push(queued_event(*id, new, now));
        }
    }
    Ok(enqueued)
}
