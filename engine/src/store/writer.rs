//! A few writer tasks commit the runs this instance queues and the
//! progress its workers save, many operations per transaction (group
//! commit): concurrent saves share one round of fsync instead of paying one
//! each. Each save is fenced by the run's lease, so a worker that lost its
//! run cannot overwrite the new owner's progress.
//!
//! Transactions that append to the event log take turns (see
//! `lock_event_log`); a writer keeps collecting until it has its turn, so
//! the next writer's batch holds everything that arrived meanwhile instead
//! of splitting the load into many small transactions that queue for the
//! same lock. On Postgres, new runs have a lane of their own
//! ([`new_runs`]): a webhook never waits behind a batch of step results.

use std::{collections::HashMap, sync::Arc};

use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr, TransactionTrait};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::{
    Enqueued, EventRow, NewExecution, StepRow, StoredEvent, get,
    new_runs::{self, NewRun},
    payloads,
    queue::notify,
    rows::{finish_run, insert_events, upsert_steps},
    sql::Sql,
};
use crate::{EngineError, events::EventBus, time::now_ms};

/// Operations committed together at most.
const MAX_BATCH: usize = 512;
/// Rows per INSERT statement (keeps bind parameters under every limit).
pub(crate) const ROWS_PER_STATEMENT: usize = 500;
/// Statements are kept under the database driver's 8 KiB write buffer: the
/// driver does not disable Nagle's algorithm, and a statement written in
/// several pieces can stall for a delayed ACK (40 ms).
pub(crate) const MAX_STATEMENT_BYTES: usize = 6 * 1024;

/// The end of a drive, written with its last save.
#[derive(Clone, Debug)]
pub struct Finish {
    /// `succeeded`, `failed`, `cancelled`, or `waiting`.
    pub status: &'static str,
    pub error: Option<Value>,
    /// For `waiting`: when to pick the run up again.
    pub run_after: Option<i64>,
    pub finished_at: Option<i64>,
    pub dead_letter: Option<DeadLetter>,
}

#[derive(Clone, Debug)]
pub struct DeadLetter {
    pub workflow_id: Uuid,
    pub node_id: String,
    pub reason: String,
    pub error: Value,
}

/// A worker's progress on one run.
#[derive(Clone, Debug)]
pub struct SaveOp {
    pub execution_id: Uuid,
    pub token: String,
    pub steps: Vec<StepRow>,
    pub events: Vec<EventRow>,
    pub finish: Option<Finish>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SaveAck {
    /// Someone asked to cancel the run.
    pub cancel_requested: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SaveError {
    /// The lease passed to another worker; nothing was written.
    LeaseLost,
    /// The database could not be reached or gave up; saving again later
    /// may work.
    Database(String),
    /// The database refused what was to be saved (a value it cannot store,
    /// a broken constraint): saving the same again fails the same way.
    Rejected(String),
}

/// Whether an error is the database refusing the data itself (so that
/// trying again cannot help) rather than a failure to reach it.
pub(crate) fn refuses_data(error: &DbErr) -> bool {
    use sea_orm::{RuntimeErr, sqlx};
    let (DbErr::Exec(RuntimeErr::SqlxError(error)) | DbErr::Query(RuntimeErr::SqlxError(error))) =
        error
    else {
        return false;
    };
    let sqlx::Error::Database(error) = error.as_ref() else {
        return false;
    };
    let code = error.code().unwrap_or_default();
    if error
        .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
        .is_some()
    {
        // SQLSTATE classes: 22 data exception (such as U+0000 in jsonb),
        // 23 integrity constraint violation, 54 program limit exceeded.
        return ["22", "23", "54"]
            .iter()
            .any(|class| code.starts_with(class));
    }
    // SQLite's primary result codes: 18 too big, 19 constraint, 20 mismatch.
    code.parse::<i64>()
        .is_ok_and(|code| matches!(code & 0xff, 18..=20))
}

enum Op {
    /// A run to queue, with the id it gets: chosen once, so that a batch
    /// committed again after a failure never queues a run twice.
    Enqueue(
        NewExecution,
        Uuid,
        oneshot::Sender<Result<Enqueued, EngineError>>,
    ),
    Save(Box<SaveOp>, oneshot::Sender<Result<SaveAck, SaveError>>),
}

#[derive(Clone)]
pub struct WriterConfig {
    /// This instance's lease owner name.
    pub owner: String,
    pub lease_ms: i64,
    /// Transactions in flight at once (Postgres only).
    pub writers: usize,
}

#[derive(Clone)]
pub struct Writer {
    intake: mpsc::Sender<Op>,
    saves: mpsc::Sender<Op>,
}

/// How a writer task commits its batches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lane {
    /// New runs only, each statement its own transaction (Postgres).
    NewRuns,
    /// Anything, in one transaction per batch.
    Transactions,
}

impl Writer {
    pub fn start(db: DatabaseConnection, bus: Arc<EventBus>, config: WriterConfig) -> Writer {
        let lane = |receiver| Arc::new(tokio::sync::Mutex::new(receiver));
        let (saves, saves_receiver) = mpsc::channel(8 * MAX_BATCH);
        let saves_receiver = lane(saves_receiver);
        if db.get_database_backend() != sea_orm::DbBackend::Postgres {
            // SQLite has one writer anyway: one task commits everything.
            tokio::spawn(run(db, bus, config, saves_receiver, Lane::Transactions));
            return Writer {
                intake: saves.clone(),
                saves,
            };
        }
        // Postgres overlaps the transactions of several writers (and
        // groups their commits).
        for _ in 0..config.writers.max(1) {
            tokio::spawn(run(
                db.clone(),
                bus.clone(),
                config.clone(),
                saves_receiver.clone(),
                Lane::Transactions,
            ));
        }
        let (intake, intake_receiver) = mpsc::channel(8 * MAX_BATCH);
        tokio::spawn(run(db, bus, config, lane(intake_receiver), Lane::NewRuns));
        Writer { intake, saves }
    }

    /// Queues a run; returns once it is committed.
    pub async fn enqueue(&self, new: NewExecution) -> Result<Enqueued, EngineError> {
        let (reply, answer) = oneshot::channel();
        let stopped = || EngineError::Database("the writer stopped".into());
        self.intake
            .send(Op::Enqueue(new, Uuid::now_v7(), reply))
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// Saves a run's progress; returns once it is committed.
    pub async fn save(&self, op: SaveOp) -> Result<SaveAck, SaveError> {
        let (reply, answer) = oneshot::channel();
        let stopped = || SaveError::Database("the writer stopped".into());
        self.saves
            .send(Op::Save(Box::new(op), reply))
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

async fn run(
    db: DatabaseConnection,
    bus: Arc<EventBus>,
    config: WriterConfig,
    receiver: Arc<tokio::sync::Mutex<mpsc::Receiver<Op>>>,
    lane: Lane,
) {
    loop {
        let mut queue = Some(receiver.lock().await);
        let batch = {
            let Some(receiver) = queue.as_mut() else {
                return;
            };
            let Some(first) = receiver.recv().await else {
                return;
            };
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match receiver.try_recv() {
                    Ok(op) => batch.push(op),
                    Err(_) => break,
                }
            }
            batch
        };
        let started = std::time::Instant::now();
        let committed = commit_in(lane, &db, &config, &batch, &mut queue).await;
        drop(queue);
        match committed {
            Ok((results, events)) => {
                tracing::debug!(
                    ?lane,
                    ops = batch.len(),
                    micros = started.elapsed().as_micros() as u64,
                    "batch committed"
                );
                answer(batch, results);
                bus.publish_committed(events).await;
            }
            Err(error) if batch.len() > 1 => {
                // One bad operation must not sink the others: retry alone.
                // Runs keep their ids, so a run that a part of the batch did
                // commit (new runs go in several statements) is found by
                // its key and answered, never queued again.
                tracing::warn!(%error, size = batch.len(), "batch commit failed; committing one by one");
                for op in batch {
                    match commit_in(lane, &db, &config, std::slice::from_ref(&op), &mut None).await
                    {
                        Ok((results, events)) => {
                            answer(vec![op], results);
                            bus.publish_committed(events).await;
                        }
                        Err(error) => fail(op, &error),
                    }
                }
            }
            Err(error) => {
                for op in batch {
                    fail(op, &error);
                }
            }
        }
    }
}

enum OpResult {
    Enqueued(Enqueued),
    Saved(Result<SaveAck, SaveError>),
}

fn answer(batch: Vec<Op>, results: Vec<OpResult>) {
    for (op, result) in batch.into_iter().zip(results) {
        match (op, result) {
            (Op::Enqueue(_, _, reply), OpResult::Enqueued(done)) => {
                let _ = reply.send(Ok(done));
            }
            (Op::Save(_, reply), OpResult::Saved(done)) => {
                let _ = reply.send(done);
            }
            _ => unreachable!("results follow the batch order"),
        }
    }
}

fn fail(op: Op, error: &DbErr) {
    tracing::error!(%error, "could not save");
    match op {
        Op::Enqueue(_, _, reply) => {
            // The workflow (or its version) was deleted since it was read.
            let gone = matches!(
                error.sql_err(),
                Some(sea_orm::SqlErr::ForeignKeyConstraintViolation(_))
            );
            let _ = reply.send(Err(if gone {
                EngineError::UnknownVersion
            } else {
                EngineError::Database(error.to_string())
            }));
        }
        Op::Save(_, reply) => {
            let _ = reply.send(Err(if refuses_data(error) {
                SaveError::Rejected(error.to_string())
            } else {
                SaveError::Database(error.to_string())
            }));
        }
    }
}

async fn commit_in(
    lane: Lane,
    db: &DatabaseConnection,
    config: &WriterConfig,
    batch: &[Op],
    queue: &mut Queue<'_>,
) -> Result<(Vec<OpResult>, Vec<StoredEvent>), DbErr> {
    if lane == Lane::Transactions {
        return commit(db, config, batch, queue).await;
    }
    let runs = new_runs_of(batch);
    let (enqueued, events) =
        new_runs::commit(db, &runs, now_ms(), MAX_STATEMENT_BYTES, ROWS_PER_STATEMENT).await?;
    let mut enqueued = enqueued.into_iter();
    let results = batch
        .iter()
        .map(|op| match op {
            Op::Enqueue(..) => OpResult::Enqueued(enqueued.next().expect("one result per run")),
            // Saves are never sent to this lane.
            Op::Save(..) => OpResult::Saved(Err(SaveError::Database("not a new run".into()))),
        })
        .collect();
    Ok((results, events))
}

/// The runs `batch` queues.
fn new_runs_of(batch: &[Op]) -> Vec<NewRun<'_>> {
    batch
        .iter()
        .filter_map(|op| match op {
            Op::Enqueue(new, id, _) => Some(new_run(new, *id)),
            Op::Save(..) => None,
        })
        .collect()
}

/// A new run's id and idempotency key (its id when it has none).
fn new_run(new: &NewExecution, id: Uuid) -> NewRun<'_> {
    let key = new
        .idempotency_key
        .clone()
        .unwrap_or_else(|| id.to_string());
    (id, new, key)
}

/// The queue of operations, held by the writer collecting the next batch.
type Queue<'a> = Option<tokio::sync::MutexGuard<'a, mpsc::Receiver<Op>>>;

/// Commits `batch`, letting go of `queue` once it is this transaction's
/// turn to append to the event log.
async fn commit(
    db: &DatabaseConnection,
    config: &WriterConfig,
    batch: &[Op],
    queue: &mut Queue<'_>,
) -> Result<(Vec<OpResult>, Vec<StoredEvent>), DbErr> {
    let txn = db.begin().await?;
    let now = now_ms();
    let mut events: Vec<EventRow> = Vec::new();

    let runs = new_runs_of(batch);
    let enqueued = new_runs::insert_in(&txn, &runs, now, &mut events).await?;

    let saves: Vec<&SaveOp> = batch
        .iter()
        .filter_map(|op| match op {
            Op::Save(save, _) => Some(save.as_ref()),
            Op::Enqueue(..) => None,
        })
        .collect();
    let fenced = fence(&txn, config, &saves, now).await?;
    let kept: Vec<&SaveOp> = saves
        .iter()
        .copied()
        .filter(|s| {
            fenced
                .get(&s.execution_id)
                .is_some_and(|(token, _)| *token == s.token)
        })
        .collect();
    upsert_steps(&txn, &kept).await?;
    payloads::save(&txn, &kept).await?;
    for save in &kept {
        events.extend(save.events.iter().cloned());
        if let Some(finish) = &save.finish {
            finish_run(&txn, save.execution_id, finish, now).await?;
        }
    }
    // Notices go out at commit, wherever they are sent from: before the
    // turn on the event log, so that the turn is short.
    let mut notices = Vec::new();
    if !events.is_empty() {
        notices.push(("switchyard_events", ""));
    }
    if enqueued.iter().any(|e| e.created) {
        notices.push(("switchyard_work", ""));
    }
    notify(&txn, &notices).await?;
    // Inserting the events takes the turn on the event log; once it is
    // this transaction's, the next batch may be collected.
    let stored = insert_events(&txn, &events).await?;
    queue.take();
    txn.commit().await?;

    let mut enqueued = enqueued.into_iter();
    let results = batch
        .iter()
        .map(|op| match op {
            Op::Enqueue(..) => OpResult::Enqueued(enqueued.next().expect("one result per enqueue")),
            Op::Save(save, _) => OpResult::Saved(match fenced.get(&save.execution_id) {
                Some((token, cancel_requested)) if *token == save.token => Ok(SaveAck {
                    cancel_requested: *cancel_requested,
                }),
                _ => Err(SaveError::LeaseLost),
            }),
        })
        .collect();
    Ok((results, stored))
}

/// Extends the leases of the runs being saved; returns, for each run this
/// instance still holds, its lease token and whether it should be cancelled.
async fn fence(
    txn: &DatabaseTransaction,
    config: &WriterConfig,
    saves: &[&SaveOp],
    now: i64,
) -> Result<HashMap<Uuid, (String, bool)>, DbErr> {
    let mut fenced = HashMap::new();
    if saves.is_empty() {
        return Ok(fenced);
    }
    let ids: Vec<Uuid> = saves.iter().map(|s| s.execution_id).collect();
    let mut sql = Sql::new(txn.get_database_backend());
    sql.push("UPDATE executions SET lease_expires_at = ")
        .bind(now + config.lease_ms);
    sql.push(" WHERE status = 'running' AND lease_owner = ")
        .bind(config.owner.clone());
    sql.push(" AND id IN (")
        .list(&ids)
        .push(") RETURNING id, lease_token, cancel_requested");
    for row in txn.query_all_raw(sql.build()).await? {
        let token: Option<String> = get(&row, "lease_token")?;
        fenced.insert(
            get(&row, "id")?,
            (token.unwrap_or_default(), get(&row, "cancel_requested")?),
        );
    }
    Ok(fenced)
}
