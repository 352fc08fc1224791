//! The audit log: who changed a workflow, activated it, or created and
//! revoked credentials, and when.

use entity::audit_event;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::{DomainError, now};

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub id: Uuid,
    pub actor_id: Uuid,
    pub workflow_id: Option<Uuid>,
    pub action: String,
    #[schema(value_type = Object)]
    pub details: Value,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

pub async fn record(
    db: &impl ConnectionTrait,
    owner: Uuid,
    actor: Uuid,
    workflow: Option<Uuid>,
    action: &str,
    details: Value,
) -> Result<(), DomainError> {
    audit_event::ActiveModel {
        id: Set(Uuid::now_v7()),
        owner_id: Set(owner),
        actor_id: Set(actor),
        workflow_id: Set(workflow),
        action: Set(action.to_owned()),
        details: Set(details),
        created_at: Set(now()),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// The newest entries of `owner`, for one workflow or for all.
pub async fn list(
    db: &DatabaseConnection,
    owner: Uuid,
    workflow: Option<Uuid>,
    limit: u64,
) -> Result<Vec<AuditEntry>, DomainError> {
    let mut query = audit_event::Entity::find().filter(audit_event::Column::OwnerId.eq(owner));
    if let Some(workflow) = workflow {
        query = query.filter(audit_event::Column::WorkflowId.eq(workflow));
    }
    Ok(query
        .order_by_desc(audit_event::Column::Id)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(|e| AuditEntry {
            id: e.id,
            actor_id: e.actor_id,
            workflow_id: e.workflow_id,
            action: e.action,
            details: e.details,
            created_at: e.created_at,
        })
        .collect())
}
