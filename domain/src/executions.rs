//! Runs of one owner: lists with filters and cursors, details with steps,
//! the event log, and the dead-letter queue.

use entity::{dead_letter, execution, execution_event, step_run};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::DomainError;
use engine::time::to_rfc3339;

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ExecutionSummary {
    pub id: Uuid,
    pub workflow_id: Uuid,
    pub workflow_version: i32,
    pub status: String,
    pub trigger: String,
    #[schema(value_type = Object)]
    pub error: Option<Value>,
    pub created_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub duration_ms: Option<i64>,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct StepDetail {
    pub node_id: String,
    /// Empty outside loops.
    pub item: String,
    pub status: String,
    pub attempts: i32,
    pub port: Option<String>,
    #[schema(value_type = Object)]
    pub input: Option<Value>,
    #[schema(value_type = Object)]
    pub output: Option<Value>,
    #[schema(value_type = Object)]
    pub error: Option<Value>,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ExecutionDetail {
    #[serde(flatten)]
    pub summary: ExecutionSummary,
    /// The trigger payload the run started with.
    #[schema(value_type = Object)]
    pub input: Value,
    pub run_count: i32,
    /// Every step outside loops, and the first loop steps (at most
    /// [`DETAIL_LOOP_STEPS`]); `GET /executions/{id}/steps` pages through all.
    pub steps: Vec<StepDetail>,
    /// How many steps the run has in all.
    pub step_count: u64,
    /// Loop steps left out of `steps`.
    pub steps_omitted: u64,
}

/// Loop steps a run's detail shows at most: a loop over thousands of items
/// is paged (`steps`), not loaded whole.
pub const DETAIL_LOOP_STEPS: u64 = 100;

/// A page of a run's steps, in a stable order (loop item, then node).
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct StepPage {
    pub items: Vec<StepDetail>,
    /// Pass as `cursor` for the next page; absent on the last one.
    pub next_cursor: Option<String>,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct EventEntry {
    pub id: i64,
    pub execution_id: Uuid,
    pub seq: i32,
    pub kind: String,
    #[schema(value_type = Object)]
    pub data: Value,
    pub at: String,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct DeadLetterEntry {
    pub id: Uuid,
    pub execution_id: Uuid,
    pub workflow_id: Uuid,
    pub node_id: String,
    pub reason: String,
    #[schema(value_type = Object)]
    pub error: Value,
    pub created_at: String,
    pub redriven_at: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct ExecutionFilter {
    pub workflow_id: Option<Uuid>,
    pub status: Option<String>,
    /// Epoch milliseconds, inclusive.
    pub since: Option<i64>,
    /// Epoch milliseconds, exclusive.
    pub until: Option<i64>,
    pub limit: u64,
    /// The id of the last run of the previous page (ids grow with time).
    pub before: Option<Uuid>,
}

fn summary(run: execution::Model) -> ExecutionSummary {
    ExecutionSummary {
        id: run.id,
        workflow_id: run.workflow_id,
        workflow_version: run.workflow_version,
        trigger: run
            .trigger
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or("manual")
            .to_owned(),
        error: run.error,
        duration_ms: run
            .finished_at
            .zip(run.started_at)
            .map(|(end, start)| end - start),
        created_at: to_rfc3339(run.created_at),
        started_at: run.started_at.map(to_rfc3339),
        finished_at: run.finished_at.map(to_rfc3339),
        status: run.status,
    }
}

/// Newest first; returns the page and the cursor of the next one.
pub async fn list(
    db: &DatabaseConnection,
    owner: Uuid,
    filter: &ExecutionFilter,
) -> Result<(Vec<ExecutionSummary>, Option<Uuid>), DomainError> {
    let mut condition = Condition::all().add(execution::Column::OwnerId.eq(owner));
    if let Some(workflow) = filter.workflow_id {
        condition = condition.add(execution::Column::WorkflowId.eq(workflow));
    }
    if let Some(status) = &filter.status {
        condition = condition.add(execution::Column::Status.eq(status.as_str()));
    }
    if let Some(since) = filter.since {
        condition = condition.add(execution::Column::CreatedAt.gte(since));
    }
    if let Some(until) = filter.until {
        condition = condition.add(execution::Column::CreatedAt.lt(until));
    }
    if let Some(before) = filter.before {
        condition = condition.add(execution::Column::Id.lt(before));
    }
    let mut runs = execution::Entity::find()
        .filter(condition)
        .order_by_desc(execution::Column::Id)
        .limit(filter.limit + 1)
        .all(db)
        .await?;
    let next = if runs.len() as u64 > filter.limit {
        runs.truncate(filter.limit as usize);
        runs.last().map(|r| r.id)
    } else {
        None
    };
    Ok((runs.into_iter().map(summary).collect(), next))
}

pub async fn get(
    db: &DatabaseConnection,
    owner: Uuid,
    id: Uuid,
) -> Result<ExecutionDetail, DomainError> {
    let run = owned_run(db, owner, id).await?;
    let of_run = || step_run::Entity::find().filter(step_run::Column::ExecutionId.eq(id));
    let mut steps = of_run()
        .filter(step_run::Column::ItemKey.eq(""))
        .order_by_asc(step_run::Column::StartedAt)
        .order_by_asc(step_run::Column::NodeId)
        .all(db)
        .await?;
    let loop_steps = of_run()
        .filter(step_run::Column::ItemKey.ne(""))
        .order_by_asc(step_run::Column::StartedAt)
        .order_by_asc(step_run::Column::NodeId)
        .order_by_asc(step_run::Column::ItemKey)
        .limit(DETAIL_LOOP_STEPS)
        .all(db)
        .await?;
    // Counting is needed only when the loop steps did not all fit.
    let step_count = if (loop_steps.len() as u64) < DETAIL_LOOP_STEPS {
        (steps.len() + loop_steps.len()) as u64
    } else {
        of_run().count(db).await?
    };
    steps.extend(loop_steps);
    let steps_omitted = step_count.saturating_sub(steps.len() as u64);
    let input = run.trigger.get("payload").cloned().unwrap_or(Value::Null);
    let run_count = run.run_count;
    Ok(ExecutionDetail {
        summary: summary(run),
        input,
        run_count,
        steps: steps.into_iter().map(step_detail).collect(),
        step_count,
        steps_omitted,
    })
}

/// A page of the steps of a run of `owner`, after `cursor` (a page's
/// `next_cursor`).
pub async fn steps(
    db: &DatabaseConnection,
    owner: Uuid,
    id: Uuid,
    cursor: Option<&str>,
    limit: u64,
) -> Result<StepPage, DomainError> {
    owned_run(db, owner, id).await?;
    let mut query = step_run::Entity::find().filter(step_run::Column::ExecutionId.eq(id));
    if let Some(cursor) = cursor {
        // Node ids are letters, digits and `_`: the first `@` ends one.
        let (node, item) = cursor
            .split_once('@')
            .ok_or_else(|| DomainError::invalid("cursor", "not a cursor this list gave"))?;
        query = query.filter(
            Condition::any()
                .add(step_run::Column::ItemKey.gt(item))
                .add(
                    Condition::all()
                        .add(step_run::Column::ItemKey.eq(item))
                        .add(step_run::Column::NodeId.gt(node)),
                ),
        );
    }
    let mut rows = query
        .order_by_asc(step_run::Column::ItemKey)
        .order_by_asc(step_run::Column::NodeId)
        .limit(limit + 1)
        .all(db)
        .await?;
    let next_cursor = if rows.len() as u64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|r| format!("{}@{}", r.node_id, r.item_key))
    } else {
        None
    };
    Ok(StepPage {
        items: rows.into_iter().map(step_detail).collect(),
        next_cursor,
    })
}

async fn owned_run(
    db: &DatabaseConnection,
    owner: Uuid,
    id: Uuid,
) -> Result<execution::Model, DomainError> {
    execution::Entity::find_by_id(id)
        .filter(execution::Column::OwnerId.eq(owner))
        .one(db)
        .await?
        .ok_or(DomainError::NotFound)
}

fn step_detail(s: step_run::Model) -> StepDetail {
    StepDetail {
        node_id: s.node_id,
        item: s.item_key,
        status: s.status,
        attempts: s.attempts,
        port: s.port,
        input: s.input,
        output: s.output,
        error: s.error,
        started_at: s.started_at.map(to_rfc3339),
        finished_at: s.finished_at.map(to_rfc3339),
    }
}

/// The summaries of the runs among `ids` that belong to `owner`, in no
/// particular order (lists of events name the runs they started).
pub async fn summaries(
    db: &DatabaseConnection,
    owner: Uuid,
    ids: &[Uuid],
) -> Result<Vec<ExecutionSummary>, DomainError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(execution::Entity::find()
        .filter(execution::Column::OwnerId.eq(owner))
        .filter(execution::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(summary)
        .collect())
}

/// Events of one run after sequence number `after_seq`, oldest first.
pub async fn events(
    db: &DatabaseConnection,
    owner: Uuid,
    id: Uuid,
    after_seq: i32,
    limit: u64,
) -> Result<Vec<EventEntry>, DomainError> {
    owned_run(db, owner, id).await?;
    Ok(execution_event::Entity::find()
        .filter(execution_event::Column::ExecutionId.eq(id))
        .filter(execution_event::Column::Seq.gt(after_seq))
        .order_by_asc(execution_event::Column::Seq)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(event_entry)
        .collect())
}

/// Events of every run of one owner with log ids above `after_id`, oldest
/// first: what a live stream resumes from.
pub async fn owner_events_after(
    db: &DatabaseConnection,
    owner: Uuid,
    after_id: i64,
    limit: u64,
) -> Result<Vec<EventEntry>, DomainError> {
    Ok(execution_event::Entity::find()
        .filter(execution_event::Column::OwnerId.eq(owner))
        .filter(execution_event::Column::Id.gt(after_id))
        .order_by_asc(execution_event::Column::Id)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(event_entry)
        .collect())
}

fn event_entry(e: execution_event::Model) -> EventEntry {
    EventEntry {
        id: e.id,
        execution_id: e.execution_id,
        seq: e.seq,
        kind: e.kind,
        data: e.data,
        at: to_rfc3339(e.created_at),
    }
}

pub async fn dead_letters(
    db: &DatabaseConnection,
    owner: Uuid,
    include_redriven: bool,
    limit: u64,
) -> Result<Vec<DeadLetterEntry>, DomainError> {
    let mut query = dead_letter::Entity::find().filter(dead_letter::Column::OwnerId.eq(owner));
    if !include_redriven {
        query = query.filter(dead_letter::Column::RedrivenAt.is_null());
    }
    Ok(query
        .order_by_desc(dead_letter::Column::CreatedAt)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(|d| DeadLetterEntry {
            id: d.id,
            execution_id: d.execution_id,
            workflow_id: d.workflow_id,
            node_id: d.node_id,
            reason: d.reason,
            error: d.error,
            created_at: to_rfc3339(d.created_at),
            redriven_at: d.redriven_at.map(to_rfc3339),
        })
        .collect())
}

/// The run behind a dead letter of `owner`.
pub async fn dead_letter_execution(
    db: &DatabaseConnection,
    owner: Uuid,
    id: Uuid,
) -> Result<Uuid, DomainError> {
    dead_letter::Entity::find_by_id(id)
        .filter(dead_letter::Column::OwnerId.eq(owner))
        .one(db)
        .await?
        .map(|d| d.execution_id)
        .ok_or(DomainError::NotFound)
}
