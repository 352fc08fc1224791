//! Durable state in the database: the queue of executions, their steps and
//! event log, leases that let several instances share the work, and the
//! dead-letter queue. Hot paths use hand-written SQL that runs on both
//! SQLite and Postgres; everything a worker writes goes through one
//! batching [`writer`].

mod new_runs;
pub mod queue;
mod rows;
pub mod sql;
pub mod writer;

use sea_orm::{DbErr, QueryResult, TryGetable};
use serde_json::Value;
use uuid::Uuid;

/// An execution to queue.
#[derive(Clone, Debug)]
pub struct NewExecution {
    pub workflow_id: Uuid,
    pub owner_id: Uuid,
    /// The saved version to run (a row of `workflow_versions`).
    pub workflow_version: i32,
    /// `manual`, `webhook`, `schedule`, `event`.
    pub trigger_kind: String,
    pub payload: Value,
    /// Repeats of the same key for the same workflow return the first run.
    pub idempotency_key: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Enqueued {
    pub id: Uuid,
    /// False when the idempotency key matched an existing run.
    pub created: bool,
}

/// One step as stored in `step_runs`.
#[derive(Clone, Debug, PartialEq)]
pub struct StepRow {
    pub node_id: String,
    pub item_key: String,
    pub status: String,
    pub attempts: i32,
    pub port: Option<String>,
    pub input: Option<Value>,
    pub output: Option<Value>,
    pub error: Option<Value>,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub wake_at: Option<i64>,
}

/// One event as stored in `execution_events`.
#[derive(Clone, Debug, PartialEq)]
pub struct EventRow {
    pub execution_id: Uuid,
    pub owner_id: Uuid,
    pub seq: i32,
    pub kind: String,
    pub data: Value,
    pub created_at: i64,
}

/// An event after it was saved, with its position in the global log.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredEvent {
    pub id: i64,
    pub row: EventRow,
}

/// Reads a column, naming it in the error.
pub(crate) fn get<T: TryGetable>(row: &QueryResult, column: &str) -> Result<T, DbErr> {
    row.try_get("", column)
}

/// Caps a stored JSON value at `cap` bytes: a larger one is replaced by a
/// marker with its original size and the start of its text.
pub fn cap_json(value: Value, cap: usize) -> Value {
    let text = match serde_json::to_string(&value) {
        Ok(text) if text.len() > cap => text,
        _ => return value,
    };
    let mut cut = cap.min(1024).min(text.len());
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    serde_json::json!({
        "_truncated": true,
        "original_size": text.len(),
        "preview": &text[..cut],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn large_values_are_capped_with_a_marker() {
        let small = json!({"a": "b"});
        assert_eq!(cap_json(small.clone(), 100), small);
        let big = json!({"text": "é".repeat(2000)});
        let capped = cap_json(big, 1000);
        assert_eq!(capped["_truncated"], true);
        assert_eq!(capped["original_size"], 4011);
        assert!(
            capped["preview"]
                .as_str()
                .unwrap()
                .starts_with("{\"text\":\"éé")
        );
    }
}
