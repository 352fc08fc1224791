//! How many runs the queue holds (every instance's), for metrics and
//! operators: counts by status and how long the oldest due run has waited.

use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr};

use super::{get, sql::Sql};
use crate::time::now_ms;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueueDepth {
    pub queued: i64,
    pub waiting: i64,
    pub running: i64,
    /// Runs of paused workflows, kept for when they are resumed.
    pub held: i64,
    /// How long the oldest queued run that is due has waited, in ms.
    pub oldest_queued_ms: i64,
}

pub async fn depth(db: &DatabaseConnection) -> Result<QueueDepth, DbErr> {
    let now = now_ms();
    let mut sql = Sql::new(db.get_database_backend());
    // Summed per status through the queue index; the oldest due run is the
    // smallest run_after among queued runs that are due.
    sql.push("SELECT status, COUNT(*) AS runs, MIN(CASE WHEN run_after <= ")
        .bind(now)
        .push(" THEN run_after END) AS oldest FROM executions WHERE status IN ('queued', 'waiting', 'running', 'held') GROUP BY status");
    let mut depth = QueueDepth::default();
    for row in db.query_all_raw(sql.build()).await? {
        let runs: i64 = get(&row, "runs")?;
        match get::<String>(&row, "status")?.as_str() {
            "queued" => {
                depth.queued = runs;
                let oldest: Option<i64> = get(&row, "oldest")?;
                depth.oldest_queued_ms = oldest.map_or(0, |at| (now - at).max(0));
            }
            "waiting" => depth.waiting = runs,
            "held" => depth.held = runs,
            _ => depth.running = runs,
        }
    }
    Ok(depth)
}
