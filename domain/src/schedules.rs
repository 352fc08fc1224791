//! Cron schedules: parsing (5 fields, or 6 with seconds first, in an IANA
//! time zone), the next fire times, and the scheduler that fires each tick
//! exactly once across instances. Missed ticks (everything was down)
//! follow the schedule's policy: `skip`, or `run_once`.

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use croner::{
    Cron,
    parser::{CronParser, Seconds, Year},
};
use engine::{Engine, store::NewExecution};
use entity::{schedule, workflow};
use model::{Problem, Severity, WorkflowDefinition, WorkflowStatus};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, Set, Statement, TransactionTrait,
    sea_query::OnConflict,
};
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::DomainError;

/// A tick older than this when it is fired was missed (nothing ran then).
pub const GRACE_MS: i64 = 60_000;
/// How often the scheduler looks for changes made by other instances.
const POLL_MS: u64 = 1_000;

/// A schedule trigger's settings.
#[derive(Clone, Debug, PartialEq)]
pub struct ScheduleSpec {
    pub cron: String,
    pub timezone: String,
    pub missed: String,
}

pub fn parse(cron: &str, timezone: &str) -> Result<(Cron, Tz), (&'static str, String)> {
    let parser = CronParser::builder()
        .seconds(Seconds::Optional)
        .year(Year::Disallowed)
        .build();
    let parsed = parser
        .parse(cron)
        .map_err(|e| ("cron", format!("not a valid cron expression: {e}")))?;
    let zone: Tz = timezone.parse().map_err(|_| {
        (
            "timezone",
            format!("`{timezone}` is not an IANA time zone such as Europe/Berlin"),
        )
    })?;
    Ok((parsed, zone))
}

/// The next `count` fire times strictly after `after`.
pub fn next_fires(cron: &Cron, zone: Tz, after: DateTime<Utc>, count: usize) -> Vec<DateTime<Tz>> {
    let mut fires = Vec::with_capacity(count);
    // Ticks are on whole seconds; a fraction in `after` would carry into them.
    let whole = chrono::DateTime::from_timestamp(after.timestamp(), 0).unwrap_or(after);
    let mut cursor = whole.with_timezone(&zone);
    while fires.len() < count {
        match cron.find_next_occurrence(&cursor, false) {
            Ok(next) => {
                cursor = next;
                fires.push(next);
            }
            Err(_) => break,
        }
    }
    fires
}

/// The schedule of a workflow's schedule trigger, if it has one.
pub fn spec_of(definition: &WorkflowDefinition) -> Option<(String, ScheduleSpec)> {
    let node = definition
        .nodes
        .iter()
        .find(|n| n.kind == "schedule_trigger")?;
    let text = |name: &str, default: &str| {
        node.config
            .get(name)
            .and_then(Value::as_str)
            .unwrap_or(default)
            .to_owned()
    };
    Some((
        node.id.clone(),
        ScheduleSpec {
            cron: text("cron", ""),
            timezone: text("timezone", "UTC"),
            missed: text("missed", "skip"),
        },
    ))
}

/// Problems with a workflow's schedule (an invalid expression or zone).
pub fn problems(definition: &WorkflowDefinition) -> Vec<Problem> {
    let Some((node, spec)) = spec_of(definition) else {
        return Vec::new();
    };
    if spec.cron.trim().is_empty() {
        return Vec::new(); // reported as a missing required field already
    }
    match parse(&spec.cron, &spec.timezone) {
        Ok(_) => Vec::new(),
        Err((field, message)) => vec![Problem {
            severity: Severity::Error,
            node_id: Some(node),
            field: Some(format!("config.{field}")),
            message,
        }],
    }
}

/// Keeps the schedule row of a workflow in step with it: active workflows
/// with a valid schedule fire from now on; all others do not fire.
pub async fn sync(conn: &impl ConnectionTrait, model: &workflow::Model) -> Result<(), DomainError> {
    let definition: Option<WorkflowDefinition> =
        serde_json::from_value(model.definition.clone()).ok();
    let active = WorkflowStatus::parse(&model.status) == Some(WorkflowStatus::Active);
    let schedule = definition.as_ref().and_then(spec_of).filter(|_| active);
    let next = schedule.as_ref().and_then(|(_, spec)| {
        let (cron, zone) = parse(&spec.cron, &spec.timezone).ok()?;
        next_fires(&cron, zone, Utc::now(), 1)
            .first()
            .map(|t| t.timestamp_millis())
    });
    match (schedule, next) {
        (Some((_, spec)), Some(next_fire_at)) => {
            let row = schedule::ActiveModel {
                workflow_id: Set(model.id),
                owner_id: Set(model.owner_id),
                cron: Set(spec.cron),
                timezone: Set(spec.timezone),
                missed: Set(spec.missed),
                next_fire_at: Set(next_fire_at),
            };
            schedule::Entity::insert(row)
                .on_conflict(
                    OnConflict::column(schedule::Column::WorkflowId)
                        .update_columns([
                            schedule::Column::Cron,
                            schedule::Column::Timezone,
                            schedule::Column::Missed,
                            schedule::Column::NextFireAt,
                        ])
                        .to_owned(),
                )
                .exec(conn)
                .await?;
        }
        _ => {
            schedule::Entity::delete_by_id(model.id).exec(conn).await?;
        }
    }
    Ok(())
}

/// What one pass of the scheduler did.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Fired {
    pub runs: usize,
    pub skipped_ticks: usize,
    /// Workflows that had ticks fire later than their time, and how many.
    pub late: Vec<(Uuid, usize)>,
    /// Workflows whose ticks all fired on time.
    pub on_time: Vec<Uuid>,
}

/// Fires every tick that is due. Safe to run on several instances at once:
/// rows are claimed with `FOR UPDATE SKIP LOCKED`, and each tick's run has
/// the idempotency key `schedule:<time>`.
pub async fn fire_due(
    db: &DatabaseConnection,
    engine: &Engine,
    now: DateTime<Utc>,
) -> Result<Fired, DomainError> {
    if db.get_database_backend() == DbBackend::Postgres {
        // Rows stay locked while their runs are queued: other instances skip them.
        let txn = db.begin().await?;
        let fired = fire_rows(&txn, engine, now).await?;
        txn.commit().await?;
        Ok(fired)
    } else {
        // SQLite: one process, one scheduler; its single connection must stay
        // free for the engine to queue the runs.
        fire_rows(db, engine, now).await
    }
}

async fn fire_rows(
    conn: &impl ConnectionTrait,
    engine: &Engine,
    now: DateTime<Utc>,
) -> Result<Fired, DomainError> {
    let now_ms = now.timestamp_millis();
    let backend = conn.get_database_backend();
    let lock = if backend == DbBackend::Postgres {
        " FOR UPDATE OF s SKIP LOCKED"
    } else {
        ""
    };
    let placeholder = if backend == DbBackend::Postgres {
        "$1"
    } else {
        "?"
    };
    let sql = format!(
        "SELECT s.workflow_id, s.owner_id, s.cron, s.timezone, s.missed, s.next_fire_at, w.version, w.status \
         FROM schedules s JOIN workflows w ON w.id = s.workflow_id WHERE s.next_fire_at <= {placeholder} \
         ORDER BY s.next_fire_at LIMIT 100{lock}"
    );
    let rows = conn
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [now_ms.into()],
        ))
        .await?;
    let mut fired = Fired::default();
    for row in rows {
        let workflow_id: Uuid = row.try_get("", "workflow_id")?;
        let owner_id: Uuid = row.try_get("", "owner_id")?;
        let status: String = row.try_get("", "status")?;
        let version: i32 = row.try_get("", "version")?;
        let missed: String = row.try_get("", "missed")?;
        let due: i64 = row.try_get("", "next_fire_at")?;
        let Ok((cron, zone)) = parse(
            &row.try_get::<String>("", "cron")?,
            &row.try_get::<String>("", "timezone")?,
        ) else {
            schedule::Entity::delete_by_id(workflow_id)
                .exec(conn)
                .await?;
            continue;
        };
        if status != "active" {
            schedule::Entity::delete_by_id(workflow_id)
                .exec(conn)
                .await?;
            continue;
        }
        // Every tick from the due one up to now.
        let mut ticks = vec![due];
        let after = Utc.timestamp_millis_opt(due).single().unwrap_or(now);
        for tick in next_fires(&cron, zone, after, 10_000) {
            if tick.timestamp_millis() > now_ms {
                break;
            }
            ticks.push(tick.timestamp_millis());
        }
        let (on_time, late): (Vec<i64>, Vec<i64>) =
            ticks.into_iter().partition(|t| now_ms - t <= GRACE_MS);
        let mut to_fire = on_time;
        if missed == "run_once"
            && let Some(last_missed) = late.last()
        {
            to_fire.insert(0, *last_missed);
        }
        fired.skipped_ticks += late.len() - usize::from(missed == "run_once" && !late.is_empty());
        if late.is_empty() {
            fired.on_time.push(workflow_id);
        } else {
            fired.late.push((workflow_id, late.len()));
        }
        for tick in to_fire {
            let scheduled = Utc.timestamp_millis_opt(tick).single().unwrap_or(now);
            let payload = json!({
                "scheduled_at": scheduled.with_timezone(&zone).to_rfc3339(),
                "fired_at": now.to_rfc3339(),
                // Unix seconds, for APIs that filter by number (Stripe's `created[gte]`).
                "scheduled_unix": tick.div_euclid(1000),
                "missed": late.len(),
            });
            engine
                .enqueue(NewExecution {
                    workflow_id,
                    owner_id,
                    workflow_version: version,
                    trigger_kind: "schedule".into(),
                    payload,
                    idempotency_key: Some(format!("schedule:{tick}")),
                })
                .await?;
            fired.runs += 1;
        }
        let next = next_fires(&cron, zone, now, 1)
            .first()
            .map(|t| t.timestamp_millis());
        match next {
            Some(next) => {
                let sql = if backend == DbBackend::Postgres {
                    "UPDATE schedules SET next_fire_at = $1 WHERE workflow_id = $2"
                } else {
                    "UPDATE schedules SET next_fire_at = ? WHERE workflow_id = ?"
                };
                conn.execute_raw(Statement::from_sql_and_values(
                    backend,
                    sql,
                    [next.into(), workflow_id.into()],
                ))
                .await?;
            }
            None => {
                schedule::Entity::delete_by_id(workflow_id)
                    .exec(conn)
                    .await?;
            }
        }
    }
    Ok(fired)
}

/// When the next schedule falls due, if any.
async fn next_due(db: &DatabaseConnection) -> Result<Option<i64>, DomainError> {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT MIN(next_fire_at) AS due FROM schedules",
        ))
        .await?;
    Ok(match row {
        Some(row) => row.try_get("", "due")?,
        None => None,
    })
}

/// Fires schedules until `shutdown` turns true.
pub async fn run_scheduler(
    db: DatabaseConnection,
    engine: Engine,
    alerts: Option<std::sync::Arc<crate::alerts::Alerts>>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        if *shutdown.borrow() {
            return;
        }
        match fire_due(&db, &engine, Utc::now()).await {
            Ok(fired) => {
                if let Some(alerts) = &alerts {
                    alerts.schedules_fired(&fired).await;
                }
            }
            Err(error) => tracing::warn!(%error, "could not fire schedules"),
        }
        let now = Utc::now().timestamp_millis();
        let wait = match next_due(&db).await {
            Ok(Some(due)) => (due - now).clamp(0, POLL_MS as i64) as u64,
            _ => POLL_MS,
        };
        tokio::select! {
            () = tokio::time::sleep(std::time::Duration::from_millis(wait)) => {}
            _ = shutdown.changed() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn five_and_six_fields_in_a_time_zone() {
        let (cron, zone) = parse("0 9 * * 1-5", "Europe/Berlin").unwrap();
        let fires = next_fires(&cron, zone, at("2026-01-02T12:00:00Z"), 3);
        let shown: Vec<String> = fires.iter().map(|t| t.to_rfc3339()).collect();
        assert_eq!(
            shown,
            [
                "2026-01-05T09:00:00+01:00",
                "2026-01-06T09:00:00+01:00",
                "2026-01-07T09:00:00+01:00"
            ]
        );
        let (every_ten_seconds, utc) = parse("*/10 * * * * *", "UTC").unwrap();
        let fires = next_fires(&every_ten_seconds, utc, at("2026-01-01T00:00:05.750Z"), 2);
        assert_eq!(fires[0].to_rfc3339(), "2026-01-01T00:00:10+00:00");
        assert_eq!(fires[1].to_rfc3339(), "2026-01-01T00:00:20+00:00");
    }

    #[test]
    fn invalid_expressions_and_zones_say_what_is_wrong() {
        assert_eq!(parse("61 * * * *", "UTC").unwrap_err().0, "cron");
        assert_eq!(parse("* * *", "UTC").unwrap_err().0, "cron");
        assert_eq!(
            parse("0 0 * * * * 2026", "UTC").unwrap_err().0,
            "cron",
            "no year field"
        );
        let (field, message) = parse("0 9 * * *", "Mars/Olympus").unwrap_err();
        assert_eq!(field, "timezone");
        assert!(message.contains("Mars/Olympus"));
    }

    #[test]
    fn daylight_saving_changes_fire_once_a_day() {
        // Europe/Berlin: 2026-03-29 02:00 → 03:00, 2026-10-25 03:00 → 02:00.
        let (cron, zone) = parse("30 2 * * *", "Europe/Berlin").unwrap();
        let spring: Vec<String> = next_fires(&cron, zone, at("2026-03-27T12:00:00Z"), 3)
            .iter()
            .map(|t| t.to_rfc3339())
            .collect();
        assert_eq!(spring[0], "2026-03-28T02:30:00+01:00");
        // 02:30 does not exist that night: the tick runs once, at the first moment after the gap.
        assert_eq!(spring[1], "2026-03-29T03:00:00+02:00");
        assert_eq!(spring[2], "2026-03-30T02:30:00+02:00");
        let autumn: Vec<DateTime<Tz>> = next_fires(&cron, zone, at("2026-10-24T12:00:00Z"), 3);
        let days: Vec<u32> = autumn.iter().map(|t| chrono::Datelike::day(t)).collect();
        assert_eq!(
            days,
            [25, 26, 27],
            "02:30 happens twice on the 25th but fires once"
        );
        // Interval schedules keep their rhythm in absolute time across the change.
        let (hourly, zone) = parse("0 * * * *", "Europe/Berlin").unwrap();
        let around = next_fires(&hourly, zone, at("2026-03-29T00:30:00Z"), 3);
        let gaps: Vec<i64> = around
            .windows(2)
            .map(|w| (w[1].timestamp() - w[0].timestamp()) / 60)
            .collect();
        assert_eq!(gaps, [60, 60]);
    }
}
