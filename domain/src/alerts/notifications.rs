//! The in-app inbox: every alert, resolution and automatic pause, newest
//! first, read or unread. Each instance follows the table by id and
//! pushes new entries to their owner's live streams, whichever instance
//! wrote them.

use engine::store::sql::Sql;
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, DbErr, QueryResult, TransactionTrait,
};
use serde::Serialize;
use uuid::Uuid;

use crate::DomainError;

/// Serialises inserts on Postgres, so that ids become visible in order and
/// followers reading by id never skip one.
const INBOX_LOCK: i64 = 0x5357_4e4f_5446; // "SWNOTF"

#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Notification {
    pub id: i64,
    pub owner_id: Uuid,
    /// `alert`, `resolved`, `paused`.
    pub kind: String,
    pub title: String,
    pub body: String,
    pub workflow_id: Option<Uuid>,
    pub incident_id: Option<Uuid>,
    pub created_at: i64,
    pub read: bool,
}

const COLUMNS: &str =
    "id, owner_id, kind, title, body, workflow_id, incident_id, created_at, read_at";

fn from_row(row: &QueryResult) -> Result<Notification, DbErr> {
    Ok(Notification {
        id: row.try_get("", "id")?,
        owner_id: row.try_get("", "owner_id")?,
        kind: row.try_get("", "kind")?,
        title: row.try_get("", "title")?,
        body: row.try_get("", "body")?,
        workflow_id: row.try_get("", "workflow_id")?,
        incident_id: row.try_get("", "incident_id")?,
        created_at: row.try_get("", "created_at")?,
        read: row.try_get::<Option<i64>>("", "read_at")?.is_some(),
    })
}

/// A new entry for the inbox.
pub(super) struct NewNotification<'a> {
    pub owner: Uuid,
    pub kind: &'a str,
    pub title: &'a str,
    pub body: &'a str,
    pub workflow: Option<Uuid>,
    pub incident: Option<Uuid>,
}

pub(super) async fn insert(db: &DatabaseConnection, new: NewNotification<'_>) -> Result<(), DbErr> {
    let txn = db.begin().await?;
    let backend = db.get_database_backend();
    if backend == DbBackend::Postgres {
        txn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({INBOX_LOCK})"))
            .await?;
    }
    let mut sql = Sql::new(backend);
    sql.push("INSERT INTO notifications (owner_id, kind, title, body, workflow_id, incident_id, created_at) VALUES (")
        .bind(new.owner)
        .push(", ")
        .bind(new.kind)
        .push(", ")
        .bind(new.title)
        .push(", ")
        .bind(new.body)
        .push(", ")
        .bind(new.workflow)
        .push(", ")
        .bind(new.incident)
        .push(", ")
        .bind(chrono::Utc::now().timestamp_millis())
        .push(")");
    txn.execute_raw(sql.build()).await?;
    txn.commit().await
}

/// `owner`'s inbox, newest first; `before` pages back by id.
pub async fn list(
    db: &DatabaseConnection,
    owner: Uuid,
    before: Option<i64>,
    limit: u64,
) -> Result<Vec<Notification>, DomainError> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push(&format!(
        "SELECT {COLUMNS} FROM notifications WHERE owner_id = "
    ))
    .bind(owner);
    if let Some(before) = before {
        sql.push(" AND id < ").bind(before);
    }
    sql.push(" ORDER BY id DESC LIMIT ").bind(limit as i64);
    Ok(db
        .query_all_raw(sql.build())
        .await?
        .iter()
        .map(from_row)
        .collect::<Result<_, _>>()?)
}

pub async fn unread(db: &DatabaseConnection, owner: Uuid) -> Result<u64, DbErr> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("SELECT COUNT(*) AS n FROM notifications WHERE read_at IS NULL AND owner_id = ")
        .bind(owner);
    let row = db.query_one_raw(sql.build()).await?;
    Ok(row
        .map(|r| r.try_get::<i64>("", "n"))
        .transpose()?
        .unwrap_or(0) as u64)
}

/// Marks `ids` (all of `owner`'s when `None`) read; returns the unread left.
pub async fn mark_read(
    db: &DatabaseConnection,
    owner: Uuid,
    ids: Option<&[i64]>,
) -> Result<u64, DomainError> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("UPDATE notifications SET read_at = ")
        .bind(chrono::Utc::now().timestamp_millis())
        .push(" WHERE read_at IS NULL AND owner_id = ")
        .bind(owner);
    if let Some(ids) = ids {
        if ids.is_empty() {
            return Ok(unread(db, owner).await?);
        }
        sql.push(" AND id IN (").list(ids).push(")");
    }
    db.execute_raw(sql.build()).await?;
    Ok(unread(db, owner).await?)
}

/// Entries with ids above `after`, oldest first (for the live streams).
pub async fn after(
    db: &DatabaseConnection,
    after: i64,
    limit: u64,
) -> Result<Vec<Notification>, DbErr> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push(&format!("SELECT {COLUMNS} FROM notifications WHERE id > "))
        .bind(after)
        .push(" ORDER BY id LIMIT ")
        .bind(limit as i64);
    db.query_all_raw(sql.build())
        .await?
        .iter()
        .map(from_row)
        .collect()
}

/// The newest id now (followers start after it).
pub async fn newest_id(db: &DatabaseConnection) -> Result<i64, DbErr> {
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT COALESCE(MAX(id), 0) AS id FROM notifications",
        ))
        .await?;
    Ok(row
        .map(|r| r.try_get::<i64>("", "id"))
        .transpose()?
        .unwrap_or(0))
}
