//! The dashboard's figures for one owner over a recent window: runs per
//! hour by outcome, success and error rates, duration percentiles per
//! workflow, and the latest failures.

use std::collections::BTreeMap;

use entity::execution;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Serialize;
use uuid::Uuid;

use crate::{
    DomainError,
    executions::{ExecutionFilter, ExecutionSummary},
};

const HOUR_MS: i64 = 3_600_000;
/// Runs looked at, newest first: enough for a day of a busy account.
const SAMPLE: u64 = 20_000;

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct HourBucket {
    /// Start of the hour, epoch milliseconds.
    pub start_ms: i64,
    pub succeeded: u64,
    pub failed: u64,
    /// Queued, running, waiting or cancelled.
    pub other: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WorkflowLatency {
    pub workflow_id: Uuid,
    pub name: String,
    pub runs: u64,
    pub p50_ms: Option<i64>,
    pub p95_ms: Option<i64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Dashboard {
    pub hours: Vec<HourBucket>,
    pub total: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub per_workflow: Vec<WorkflowLatency>,
    pub recent_failures: Vec<ExecutionSummary>,
}

/// Figures for the `hours` whole hours up to `now_ms`.
pub async fn summary(
    db: &DatabaseConnection,
    owner: Uuid,
    hours: i64,
    now_ms: i64,
) -> Result<Dashboard, DomainError> {
    let first_hour = (now_ms / HOUR_MS - hours + 1) * HOUR_MS;
    let runs: Vec<(Uuid, String, i64, Option<i64>, Option<i64>)> = execution::Entity::find()
        .select_only()
        .column(execution::Column::WorkflowId)
        .column(execution::Column::Status)
        .column(execution::Column::CreatedAt)
        .column(execution::Column::StartedAt)
        .column(execution::Column::FinishedAt)
        .filter(execution::Column::OwnerId.eq(owner))
        .filter(execution::Column::CreatedAt.gte(first_hour))
        .order_by_desc(execution::Column::CreatedAt)
        .limit(SAMPLE)
        .into_tuple()
        .all(db)
        .await?;
    let names: BTreeMap<Uuid, String> = crate::workflows::names(db, owner)
        .await?
        .into_iter()
        .collect();
    let mut dashboard = figures(&runs, first_hour, hours, &names);
    dashboard.recent_failures = crate::executions::list(
        db,
        owner,
        &ExecutionFilter {
            status: Some("failed".into()),
            limit: 5,
            ..ExecutionFilter::default()
        },
    )
    .await?
    .0;
    Ok(dashboard)
}

/// The figures of `runs` (workflow, status, created, started, finished).
fn figures(
    runs: &[(Uuid, String, i64, Option<i64>, Option<i64>)],
    first_hour: i64,
    hours: i64,
    names: &BTreeMap<Uuid, String>,
) -> Dashboard {
    let mut buckets: Vec<HourBucket> = (0..hours)
        .map(|h| HourBucket {
            start_ms: first_hour + h * HOUR_MS,
            ..HourBucket::default()
        })
        .collect();
    let mut durations: BTreeMap<Uuid, (u64, Vec<i64>)> = BTreeMap::new();
    let (mut succeeded, mut failed) = (0, 0);
    for (workflow, status, created, started, finished) in runs {
        if *created < first_hour {
            continue;
        }
        let Some(bucket) = usize::try_from((created - first_hour) / HOUR_MS)
            .ok()
            .and_then(|h| buckets.get_mut(h))
        else {
            continue;
        };
        match status.as_str() {
            "succeeded" => {
                bucket.succeeded += 1;
                succeeded += 1;
            }
            "failed" => {
                bucket.failed += 1;
                failed += 1;
            }
            _ => bucket.other += 1,
        }
        let entry = durations.entry(*workflow).or_default();
        entry.0 += 1;
        if let (Some(start), Some(end)) = (started, finished) {
            entry.1.push(end - start);
        }
    }
    let mut per_workflow: Vec<WorkflowLatency> = durations
        .into_iter()
        .map(|(workflow_id, (runs, mut times))| {
            times.sort_unstable();
            WorkflowLatency {
                name: names
                    .get(&workflow_id)
                    .cloned()
                    .unwrap_or_else(|| "deleted workflow".into()),
                workflow_id,
                runs,
                p50_ms: percentile(&times, 50),
                p95_ms: percentile(&times, 95),
            }
        })
        .collect();
    per_workflow.sort_by(|a, b| b.runs.cmp(&a.runs).then_with(|| a.name.cmp(&b.name)));
    let total = buckets
        .iter()
        .map(|b| b.succeeded + b.failed + b.other)
        .sum();
    Dashboard {
        hours: buckets,
        total,
        succeeded,
        failed,
        per_workflow,
        recent_failures: Vec::new(),
    }
}

/// The nearest-rank percentile of sorted values.
fn percentile(sorted: &[i64], p: usize) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let values: Vec<i64> = (1..=100).collect();
        assert_eq!(percentile(&values, 50), Some(50));
        assert_eq!(percentile(&values, 95), Some(95));
        assert_eq!(percentile(&[7], 95), Some(7));
        assert_eq!(percentile(&[], 50), None);
    }

    #[test]
    fn runs_are_counted_per_hour_and_per_workflow() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let names = BTreeMap::from([(a, "A".to_owned())]);
        let start = 10 * HOUR_MS;
        let runs = vec![
            (
                a,
                "succeeded".to_owned(),
                start + 5,
                Some(start + 10),
                Some(start + 110),
            ),
            (
                a,
                "failed".to_owned(),
                start + HOUR_MS + 1,
                Some(start + HOUR_MS + 2),
                Some(start + HOUR_MS + 302),
            ),
            (
                b,
                "running".to_owned(),
                start + HOUR_MS + 9,
                Some(start + HOUR_MS + 9),
                None,
            ),
            (b, "succeeded".to_owned(), start - 1, None, None), // before the window
        ];
        let d = figures(&runs, start, 2, &names);
        assert_eq!((d.total, d.succeeded, d.failed), (3, 1, 1));
        assert_eq!(d.hours[0].succeeded, 1);
        assert_eq!((d.hours[1].failed, d.hours[1].other), (1, 1));
        assert_eq!(d.per_workflow[0].name, "A");
        assert_eq!(d.per_workflow[0].p50_ms, Some(100));
        assert_eq!(d.per_workflow[0].p95_ms, Some(300));
        assert_eq!(d.per_workflow[1].name, "deleted workflow");
        assert_eq!(d.per_workflow[1].p50_ms, None);
    }
}
