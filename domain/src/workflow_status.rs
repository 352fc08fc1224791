//! A workflow's lifecycle (draft → active ⇄ paused, active → failed →
//! draft): activation checks the workflow, a pause holds its queued runs
//! and resuming releases them, every move is in the audit log.

use entity::workflow;
use model::{Catalogue, WorkflowStatus, validate::has_errors};
use sea_orm::{ActiveModelTrait, DatabaseConnection, Set, TransactionTrait};
use serde_json::json;
use uuid::Uuid;

use crate::{
    DomainError, audit, now,
    workflows::{Workflow, definition_of, invalid_workflow, owned, status_of, to_workflow},
};

/// Moves a workflow through its lifecycle; activation requires a valid workflow.
pub async fn change_status(
    db: &DatabaseConnection,
    catalogue: &Catalogue,
    owner: Uuid,
    id: Uuid,
    target: WorkflowStatus,
) -> Result<Workflow, DomainError> {
    change_status_because(db, catalogue, owner, id, target, None).await
}

/// Like [`change_status`]; a `reason` marks an automatic pause (shown on
/// the workflow until it is resumed, and kept in the audit log).
pub async fn change_status_because(
    db: &DatabaseConnection,
    catalogue: &Catalogue,
    owner: Uuid,
    id: Uuid,
    target: WorkflowStatus,
    reason: Option<&str>,
) -> Result<Workflow, DomainError> {
    let txn = db.begin().await?;
    let current = owned(&txn, owner, id).await?;
    let status = status_of(&current);
    if status == target {
        txn.commit().await?;
        return to_workflow(current, catalogue);
    }
    if !status.can_become(target) {
        return Err(DomainError::Conflict(format!(
            "a {status} workflow cannot become {target}"
        )));
    }
    if target == WorkflowStatus::Active {
        let definition = definition_of(&current)?;
        let mut problems = model::validate(&definition, catalogue);
        problems.extend(crate::schedules::problems(&definition));
        if has_errors(&problems) {
            return Err(invalid_workflow(&problems));
        }
    }
    let mut active: workflow::ActiveModel = current.into();
    active.status = Set(target.as_str().to_owned());
    active.updated_at = Set(now());
    active.paused_reason = Set(reason.map(str::to_owned));
    let model = active.update(&txn).await?;
    crate::schedules::sync(&txn, &model).await?;
    // Nothing of a paused workflow runs: its queued runs wait, whole, for
    // it to be resumed.
    let held = match target {
        WorkflowStatus::Paused => engine::store::hold::hold(&txn, id).await?,
        WorkflowStatus::Active => engine::store::hold::release(&txn, id).await?,
        _ => 0,
    };
    let action = match target {
        WorkflowStatus::Active => "workflow.activated",
        WorkflowStatus::Paused => "workflow.paused",
        WorkflowStatus::Failed => "workflow.failed",
        WorkflowStatus::Draft => "workflow.drafted",
    };
    audit::record(&txn, owner, owner, Some(id), action, {
        let mut details = json!({ "from": status, "version": model.version });
        if let Some(reason) = reason {
            details["reason"] = json!(reason);
            details["automatic"] = json!(true);
        }
        if held > 0 {
            let key = if target == WorkflowStatus::Paused {
                "held_runs"
            } else {
                "released_runs"
            };
            details[key] = json!(held);
        }
        details
    })
    .await?;
    txn.commit().await?;
    to_workflow(model, catalogue)
}
