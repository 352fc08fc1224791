//! The event stream: every saved event, in log order, to every subscriber
//! in this instance. Events written here are published as their
//! transaction commits; events written elsewhere (other instances, operator
//! actions) are read from the log, which is appended in id order.

use std::sync::Arc;

use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr};
use tokio::sync::{Mutex, broadcast};

use crate::store::{EventRow, StoredEvent, get, sql::Sql};

/// Events a slow subscriber may fall behind by before it misses some
/// (it can then re-read the log from the database).
const CHANNEL_CAPACITY: usize = 16_384;
/// Events read from the log at a time.
const PAGE: i64 = 1_000;

pub struct EventBus {
    db: DatabaseConnection,
    sender: broadcast::Sender<Arc<StoredEvent>>,
    /// Id of the newest event published.
    cursor: Mutex<i64>,
}

impl EventBus {
    /// Starts after the newest event already in the log.
    pub async fn new(db: DatabaseConnection) -> Result<EventBus, DbErr> {
        let row = db
            .query_one_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                "SELECT COALESCE(MAX(id), 0) AS id FROM execution_events",
            ))
            .await?;
        let cursor = row.map(|r| get::<i64>(&r, "id")).transpose()?.unwrap_or(0);
        let (sender, _) = broadcast::channel(CHANNEL_CAPACITY);
        Ok(EventBus {
            db,
            sender,
            cursor: Mutex::new(cursor),
        })
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<StoredEvent>> {
        self.sender.subscribe()
    }

    /// Publishes events this instance just committed (in id order), first
    /// reading any that others committed before them.
    pub async fn publish_committed(&self, events: Vec<StoredEvent>) {
        let Some(first) = events.first().map(|e| e.id) else {
            return;
        };
        let mut cursor = self.cursor.lock().await;
        if first > *cursor + 1 {
            self.read_log(&mut cursor, Some(first - 1)).await;
        }
        for event in events {
            if event.id > *cursor {
                *cursor = event.id;
                let _ = self.sender.send(Arc::new(event));
            }
        }
    }

    /// Publishes whatever the log holds beyond what was published.
    pub async fn catch_up(&self) {
        let mut cursor = self.cursor.lock().await;
        self.read_log(&mut cursor, None).await;
    }

    async fn read_log(&self, cursor: &mut i64, up_to: Option<i64>) {
        loop {
            match read_events_after(&self.db, *cursor, up_to, PAGE).await {
                Ok(events) => {
                    let full = events.len() as i64 == PAGE;
                    for event in events {
                        *cursor = event.id;
                        let _ = self.sender.send(Arc::new(event));
                    }
                    if !full {
                        return;
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "could not read the event log");
                    return;
                }
            }
        }
    }
}

/// Events with ids above `after` (and at most `up_to`), oldest first.
pub async fn read_events_after(
    db: &impl ConnectionTrait,
    after: i64,
    up_to: Option<i64>,
    limit: i64,
) -> Result<Vec<StoredEvent>, DbErr> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("SELECT id, execution_id, owner_id, seq, kind, data, created_at FROM execution_events WHERE id > ").bind(after);
    if let Some(up_to) = up_to {
        sql.push(" AND id <= ").bind(up_to);
    }
    sql.push(" ORDER BY id LIMIT ").bind(limit);
    db.query_all_raw(sql.build())
        .await?
        .iter()
        .map(|row| {
            Ok(StoredEvent {
                id: get(row, "id")?,
                row: EventRow {
                    execution_id: get(row, "execution_id")?,
                    owner_id: get(row, "owner_id")?,
                    seq: get(row, "seq")?,
                    kind: get(row, "kind")?,
                    data: get(row, "data")?,
                    created_at: get(row, "created_at")?,
                },
            })
        })
        .collect()
}
