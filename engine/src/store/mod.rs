//! Durable state in the database: the queue of executions, their steps and
//! event log, leases that let several instances share the work, and the
//! dead-letter queue. Hot paths use hand-written SQL that runs on both
//! SQLite and Postgres; everything a worker writes goes through one
//! batching [`writer`].

pub mod depth;
pub mod hold;
mod new_runs;
mod payloads;
pub mod queue;
pub mod retention;
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
    /// The whole JSON text of `input` or `output` where the row holds only
    /// a preview (see [`spill`]); saved in `step_payloads`.
    pub spilled: Vec<Spilled>,
}

/// A step value too large to show, kept whole for the run to resume with.
#[derive(Clone, Debug, PartialEq)]
pub struct Spilled {
    /// `input` or `output`.
    pub field: &'static str,
    pub text: String,
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

/// Splits a step value into what its row shows and, when its JSON text is
/// larger than `cap` bytes, that text: the row then holds a marker with the
/// size and the start of the text, and the whole value is saved beside it,
/// so that a resumed run gets it back unchanged.
pub fn spill(value: Value, cap: usize) -> (Value, Option<String>) {
    let text = match serde_json::to_string(&value) {
        Ok(text) if text.len() > cap => text,
        _ => return (value, None),
    };
    let mut cut = cap.min(1024).min(text.len());
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let shown = serde_json::json!({
        "_truncated": true,
        "original_size": text.len(),
        "preview": &text[..cut],
    });
    (shown, Some(text))
}

/// Whether a stored value is the marker [`spill`] leaves in a row.
pub fn is_spill_marker(value: &Value) -> bool {
    value.get("_truncated") == Some(&Value::Bool(true))
        && value.get("original_size").is_some_and(Value::is_u64)
        && value.get("preview").is_some_and(Value::is_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn large_values_are_shown_as_a_marker_and_kept_whole() {
        let small = json!({"a": "b"});
        assert_eq!(spill(small.clone(), 100), (small, None));
        let big = json!({"text": "é".repeat(2000)});
        let (shown, whole) = spill(big.clone(), 1000);
        assert!(is_spill_marker(&shown));
        assert_eq!(shown["original_size"], 4011);
        assert!(
            shown["preview"]
                .as_str()
                .unwrap()
                .starts_with("{\"text\":\"éé")
        );
        assert_eq!(serde_json::from_str::<Value>(&whole.unwrap()).unwrap(), big);
        assert!(!is_spill_marker(&json!({"_truncated": true, "text": "x"})));
    }
}
