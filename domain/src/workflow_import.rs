//! Importing a workflow: Switchyard's own format, or an n8n export
//! translated by [`crate::n8n`]. Either becomes a draft whose steps use the
//! account's connections where it has them; the report says what did not
//! carry over.

use model::{
    Catalogue, WorkflowDefinition,
    workflow_import::{ImportReport, ImportRequest},
};
use uuid::Uuid;

use crate::{DomainError, ai::Planning, vault::Vault, workflows::Workflow};

/// The draft a request describes, and its report (connections not yet
/// filled in).
pub fn translate(
    request: &ImportRequest,
) -> Result<(WorkflowDefinition, ImportReport), DomainError> {
    match request.format.as_str() {
        "n8n" => {
            let translated = crate::n8n::translate(&request.workflow)?;
            Ok((translated.workflow, translated.report))
        }
        "switchyard" => {
            let definition = serde_json::from_value(request.workflow.clone())
                .map_err(|e| DomainError::invalid("workflow", e.to_string()))?;
            Ok((definition, ImportReport::default()))
        }
        other => Err(DomainError::invalid(
            "format",
            format!("`{other}` is not a format Switchyard imports: `n8n` or `switchyard`"),
        )),
    }
}

/// Creates the draft.
pub async fn import(
    db: &sea_orm::DatabaseConnection,
    catalogue: &Catalogue,
    vault: &Vault,
    planning: &Planning,
    owner: Uuid,
    request: &ImportRequest,
) -> Result<(Workflow, ImportReport), DomainError> {
    let (mut definition, mut report) = translate(request)?;
    let accounting =
        planner::accounting::account(&planning.catalog, &mut definition, &planning.connections);
    report.missing_connections = accounting.missing_connections;
    let workflow = crate::workflows::create(db, catalogue, vault, owner, definition).await?;
    Ok((workflow, report))
}
