//! A workflow's saved versions: every save adds an immutable one; they are
//! listed and read back (secrets masked).

use entity::workflow_version;
use model::{Catalogue, WorkflowDefinition};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set,
};
use serde_json::Value;
use uuid::Uuid;

use crate::{
    DomainError, now,
    workflows::{VersionInfo, owned},
};

pub(crate) async fn save_version(
    txn: &impl sea_orm::ConnectionTrait,
    workflow: Uuid,
    version: i32,
    definition: Value,
    actor: Uuid,
) -> Result<(), DomainError> {
    workflow_version::ActiveModel {
        workflow_id: Set(workflow),
        version: Set(version),
        definition: Set(definition),
        created_by: Set(Some(actor)),
        created_at: Set(now()),
    }
    .insert(txn)
    .await?;
    Ok(())
}

pub async fn versions(
    db: &DatabaseConnection,
    owner: Uuid,
    id: Uuid,
) -> Result<Vec<VersionInfo>, DomainError> {
    owned(db, owner, id).await?;
    Ok(workflow_version::Entity::find()
        .filter(workflow_version::Column::WorkflowId.eq(id))
        .order_by_desc(workflow_version::Column::Version)
        .all(db)
        .await?
        .into_iter()
        .map(|v| VersionInfo {
            version: v.version,
            created_by: v.created_by,
            created_at: v.created_at,
        })
        .collect())
}

/// The document of one saved version, secrets masked.
pub async fn version(
    db: &DatabaseConnection,
    catalogue: &Catalogue,
    owner: Uuid,
    id: Uuid,
    version: i32,
) -> Result<WorkflowDefinition, DomainError> {
    owned(db, owner, id).await?;
    let model = workflow_version::Entity::find_by_id((id, version))
        .one(db)
        .await?
        .ok_or(DomainError::NotFound)?;
    let mut definition: WorkflowDefinition = serde_json::from_value(model.definition)
        .map_err(|e| DomainError::Internal(e.to_string()))?;
    crate::secrets::mask(&mut definition, catalogue);
    Ok(definition)
}
