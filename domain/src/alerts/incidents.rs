//! Incidents: a rule that fired for a workflow (and subject: the step whose
//! connection was refused), open until the condition clears. One open
//! incident per workflow, rule and subject (a unique index), so a burst
//! of failures fires once, and the instance whose insert wins notifies.
//! Also the figures the rules read: recent outcomes and a window's
//! failure rate and durations.

use engine::store::sql::Sql;
use model::alerts::AlertRule;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr};
use serde_json::Value;
use uuid::Uuid;

const FINISHED: &str = "status IN ('succeeded', 'failed', 'cancelled') AND finished_at IS NOT NULL";

/// Opens an incident unless one is open; its id when this call opened it.
pub(super) async fn open(
    db: &DatabaseConnection,
    owner: Uuid,
    workflow: Uuid,
    rule: AlertRule,
    subject: &str,
    message: &str,
) -> Result<Option<Uuid>, DbErr> {
    let id = Uuid::new_v4();
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("INSERT INTO incidents (id, owner_id, workflow_id, rule, subject, message, details, opened_at) VALUES (")
        .bind(id)
        .push(", ")
        .bind(owner)
        .push(", ")
        .bind(workflow)
        .push(", ")
        .bind(rule.as_str())
        .push(", ")
        .bind(subject)
        .push(", ")
        .bind(message)
        .push(", ");
    sql.bind_json(Some(&Value::Object(Default::default())))
        .push(", ")
        .bind(chrono::Utc::now().timestamp_millis())
        .push(") ON CONFLICT DO NOTHING");
    let inserted = db.execute_raw(sql.build()).await?.rows_affected();
    Ok((inserted == 1).then_some(id))
}

/// Records what an incident is about (the newest failure, say).
pub(super) async fn describe(
    db: &DatabaseConnection,
    id: Uuid,
    details: &Value,
) -> Result<(), DbErr> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("UPDATE incidents SET details = ");
    sql.bind_json(Some(details)).push(" WHERE id = ").bind(id);
    db.execute_raw(sql.build()).await.map(|_| ())
}

/// Resolves the open incident of `rule` (any subject when `subject` is
/// `None`); the ids this call resolved.
pub(super) async fn resolve(
    db: &DatabaseConnection,
    workflow: Uuid,
    rule: AlertRule,
    subject: Option<&str>,
) -> Result<Vec<(Uuid, String)>, DbErr> {
    let backend = db.get_database_backend();
    let mut find = Sql::new(backend);
    find.push("SELECT id, subject FROM incidents WHERE resolved_at IS NULL AND workflow_id = ")
        .bind(workflow)
        .push(" AND rule = ")
        .bind(rule.as_str());
    if let Some(subject) = subject {
        find.push(" AND subject = ").bind(subject);
    }
    let mut resolved = Vec::new();
    for row in db.query_all_raw(find.build()).await? {
        let id: Uuid = row.try_get("", "id")?;
        let mut sql = Sql::new(backend);
        sql.push("UPDATE incidents SET resolved_at = ")
            .bind(chrono::Utc::now().timestamp_millis())
            .push(" WHERE resolved_at IS NULL AND id = ")
            .bind(id);
        // Another instance may resolve it first: only the winner notifies.
        if db.execute_raw(sql.build()).await?.rows_affected() == 1 {
            resolved.push((id, row.try_get("", "subject")?));
        }
    }
    Ok(resolved)
}

/// Workflows with an open incident of one of `rules`.
pub(super) async fn workflows_with_open(
    db: &DatabaseConnection,
    rules: &[AlertRule],
) -> Result<Vec<Uuid>, DbErr> {
    let names: Vec<&str> = rules.iter().map(|r| r.as_str()).collect();
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("SELECT DISTINCT workflow_id FROM incidents WHERE resolved_at IS NULL AND rule IN (")
        .list(&names)
        .push(")");
    db.query_all_raw(sql.build())
        .await?
        .iter()
        .map(|row| row.try_get("", "workflow_id"))
        .collect()
}

/// The statuses of the newest `limit` finished runs, newest first.
pub(super) async fn recent_outcomes(
    db: &DatabaseConnection,
    workflow: Uuid,
    limit: u32,
) -> Result<Vec<String>, DbErr> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("SELECT status FROM executions WHERE ")
        .push(FINISHED)
        .push(" AND workflow_id = ")
        .bind(workflow)
        .push(" ORDER BY finished_at DESC, id DESC LIMIT ")
        .bind(i64::from(limit));
    db.query_all_raw(sql.build())
        .await?
        .iter()
        .map(|row| row.try_get("", "status"))
        .collect()
}

/// Runs that ended since `since` (ms): how many, and how many failed
/// (counted by the database, through the finished-runs index).
pub(super) async fn failure_rate(
    db: &DatabaseConnection,
    workflow: Uuid,
    since: i64,
) -> Result<(u64, u64), DbErr> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("SELECT COUNT(*) AS total, COALESCE(SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END), 0) AS failed FROM executions WHERE ")
        .push(FINISHED)
        .push(" AND workflow_id = ")
        .bind(workflow)
        .push(" AND finished_at >= ")
        .bind(since);
    let Some(row) = db.query_one_raw(sql.build()).await? else {
        return Ok((0, 0));
    };
    let total: i64 = row.try_get("", "total")?;
    let failed: i64 = row.try_get("", "failed")?;
    Ok((total as u64, failed as u64))
}

/// The durations in ms of the newest 1,000 runs that ended since `since`.
pub(super) async fn durations(
    db: &DatabaseConnection,
    workflow: Uuid,
    since: i64,
) -> Result<Vec<i64>, DbErr> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push(
        "SELECT finished_at - COALESCE(started_at, created_at) AS took FROM executions WHERE ",
    )
    .push(FINISHED)
    .push(" AND workflow_id = ")
    .bind(workflow)
    .push(" AND finished_at >= ")
    .bind(since)
    .push(" ORDER BY finished_at DESC LIMIT 1000");
    db.query_all_raw(sql.build())
        .await?
        .iter()
        .map(|row| row.try_get("", "took"))
        .collect()
}

/// The 95th percentile (nearest rank) of `values`.
pub(super) fn p95(values: &mut [i64]) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let rank = ((values.len() as f64) * 0.95).ceil() as usize;
    Some(values[rank.clamp(1, values.len()) - 1])
}

/// The newest failed run's error: its step and message.
pub(super) async fn last_error(
    db: &DatabaseConnection,
    workflow: Uuid,
) -> Result<Option<(Uuid, String)>, DbErr> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("SELECT id, error FROM executions WHERE status = 'failed' AND finished_at IS NOT NULL AND workflow_id = ")
        .bind(workflow)
        .push(" ORDER BY finished_at DESC LIMIT 1");
    let Some(row) = db.query_one_raw(sql.build()).await? else {
        return Ok(None);
    };
    let error: Option<Value> = row.try_get("", "error")?;
    let error = error.unwrap_or_default();
    let text = match (error["node_id"].as_str(), error["message"].as_str()) {
        (Some(node), Some(message)) => format!("step {node}: {message}"),
        (None, Some(message)) => message.to_owned(),
        _ => "no error was recorded".to_owned(),
    };
    Ok(Some((row.try_get("", "id")?, text)))
}

/// Dead letters of `workflow` not redriven yet.
pub(super) async fn open_dead_letters(
    db: &DatabaseConnection,
    workflow: Uuid,
) -> Result<i64, DbErr> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("SELECT COUNT(*) AS n FROM dead_letters WHERE redriven_at IS NULL AND workflow_id = ")
        .bind(workflow);
    let row = db.query_one_raw(sql.build()).await?;
    Ok(row
        .map(|r| r.try_get::<i64>("", "n"))
        .transpose()?
        .unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::p95;

    #[test]
    fn the_95th_percentile_is_the_nearest_rank() {
        assert_eq!(p95(&mut []), None);
        assert_eq!(p95(&mut [7]), Some(7));
        let mut hundred: Vec<i64> = (1..=100).rev().collect();
        assert_eq!(p95(&mut hundred), Some(95));
        assert_eq!(p95(&mut [1, 2, 3, 1000]), Some(1000));
    }
}
