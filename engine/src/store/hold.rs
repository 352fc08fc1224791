//! Runs of a paused workflow are held: taken out of the queue (status
//! `held`, which no claim looks for) with everything they have done so
//! far, and put back as they were when the workflow is resumed. Runs in a
//! worker's hands at that moment end their current turn first.

use sea_orm::{ConnectionTrait, DbErr};
use uuid::Uuid;

use super::{queue::notify, sql::Sql};

/// Holds `workflow`'s queued and waiting runs; returns how many.
pub async fn hold(db: &impl ConnectionTrait, workflow: Uuid) -> Result<u64, DbErr> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("UPDATE executions SET status = 'held' WHERE status IN ('queued', 'waiting') AND workflow_id = ")
        .bind(workflow);
    Ok(db.execute_raw(sql.build()).await?.rows_affected())
}

/// Puts `workflow`'s held runs back: runs that never started as queued,
/// the others as waiting (they resume from their saved steps). Returns how
/// many; workers hear of them when the transaction commits.
pub async fn release(db: &impl ConnectionTrait, workflow: Uuid) -> Result<u64, DbErr> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("UPDATE executions SET status = CASE WHEN started_at IS NULL THEN 'queued' ELSE 'waiting' END WHERE status = 'held' AND workflow_id = ")
        .bind(workflow);
    let released = db.execute_raw(sql.build()).await?.rows_affected();
    if released > 0 {
        notify(db, &[("switchyard_work", "")]).await?;
    }
    Ok(released)
}
