//! Events: `POST /api/v1/events` starts every active workflow of the
//! account whose event trigger has that type and whose filter holds.

use engine::{Engine, store::NewExecution};
use entity::{event, workflow};
use model::{WorkflowDefinition, WorkflowStatus};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::DomainError;

const MAX_TYPE_CHARS: usize = 200;

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct PostedEvent {
    pub id: Uuid,
    #[serde(rename = "type")]
    pub kind: String,
    pub source: Option<String>,
    #[schema(value_type = Object)]
    pub data: Value,
    /// The runs the event started.
    pub execution_ids: Vec<Uuid>,
    pub created_at: String,
}

fn to_posted(model: event::Model) -> PostedEvent {
    PostedEvent {
        id: model.id,
        kind: model.kind,
        source: model.source,
        data: model.data,
        execution_ids: serde_json::from_value(model.execution_ids).unwrap_or_default(),
        created_at: engine::time::to_rfc3339(model.created_at),
    }
}

/// Whether a workflow listens for `kind` events and its filter holds.
fn matches(definition: &WorkflowDefinition, kind: &str, context: &model::expr::Context) -> bool {
    definition.nodes.iter().any(|node| {
        node.kind == "event_trigger"
            && node.config.get("type").and_then(Value::as_str) == Some(kind)
            && match node
                .config
                .get("filter")
                .and_then(Value::as_str)
                .filter(|f| !f.trim().is_empty())
            {
                None => true,
                Some(filter) => model::expr::shared()
                    .evaluate(filter, context)
                    .is_ok_and(|value| truthy(&value)),
            }
    })
}

fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// Stores the event and starts the runs it triggers.
pub async fn post(
    db: &DatabaseConnection,
    engine: &Engine,
    owner: Uuid,
    kind: &str,
    data: Value,
    source: Option<String>,
) -> Result<PostedEvent, DomainError> {
    let kind = kind.trim();
    if kind.is_empty() || kind.chars().count() > MAX_TYPE_CHARS {
        return Err(DomainError::invalid(
            "type",
            format!("give the event a type of 1 to {MAX_TYPE_CHARS} characters"),
        ));
    }
    if source
        .as_ref()
        .is_some_and(|s| s.chars().count() > MAX_TYPE_CHARS)
    {
        return Err(DomainError::invalid(
            "source",
            format!("use at most {MAX_TYPE_CHARS} characters"),
        ));
    }
    let id = Uuid::now_v7();
    let payload = json!({ "type": kind, "source": source, "data": data });
    // Filters read `data`, `type` and `source`.
    let context = model::expr::to_context(&payload);
    let candidates = workflow::Entity::find()
        .filter(workflow::Column::OwnerId.eq(owner))
        .filter(workflow::Column::Status.eq(WorkflowStatus::Active.as_str()))
        .all(db)
        .await?;
    let mut execution_ids = Vec::new();
    for candidate in candidates {
        let Ok(definition) =
            serde_json::from_value::<WorkflowDefinition>(candidate.definition.clone())
        else {
            continue;
        };
        if !matches(&definition, kind, &context) {
            continue;
        }
        let started = engine
            .enqueue(NewExecution {
                workflow_id: candidate.id,
                owner_id: owner,
                workflow_version: candidate.version,
                trigger_kind: "event".into(),
                payload: payload.clone(),
                idempotency_key: Some(format!("event:{id}")),
            })
            .await?;
        execution_ids.push(started.id);
    }
    let model = event::ActiveModel {
        id: Set(id),
        owner_id: Set(owner),
        kind: Set(kind.to_owned()),
        source: Set(source),
        data: Set(data),
        execution_ids: Set(json!(execution_ids)),
        created_at: Set(engine::time::now_ms()),
    }
    .insert(db)
    .await?;
    Ok(to_posted(model))
}

/// The newest events of `owner`.
pub async fn list(
    db: &DatabaseConnection,
    owner: Uuid,
    limit: u64,
) -> Result<Vec<PostedEvent>, DomainError> {
    Ok(event::Entity::find()
        .filter(event::Column::OwnerId.eq(owner))
        .order_by_desc(event::Column::CreatedAt)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(to_posted)
        .collect())
}
