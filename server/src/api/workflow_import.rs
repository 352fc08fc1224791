//! `POST /workflows/import`: a workflow in Switchyard's format or as n8n
//! exports it, made a draft; the answer reports what did not carry over.

use axum::{Json, Router, extract::State, http::StatusCode, routing::post};
use model::workflow_import::{ImportRequest, Imported};

use super::{ErrorResponse, workflows::kinds_for};
use crate::{auth::CurrentUser, error::ApiError, extract::ApiJson, startup::AppState};

pub fn router() -> Router<AppState> {
    Router::new().route("/workflows/import", post(import))
}

/// Imports a workflow as a draft: `{"format": "n8n", "workflow": {…}}` (an
/// n8n export) or `{"format": "switchyard", "workflow": {…}}`. Nodes and
/// expressions that cannot be translated are listed node by node in
/// `report.unsupported` and kept in the draft as steps that fail when run;
/// steps use the account's connections where it has them.
#[utoipa::path(post, path = "/workflows/import", tag = "workflows", request_body = ImportRequest,
    responses((status = 201, body = Imported), (status = 422, body = ErrorResponse)),
    security(("session" = []), ("token" = [])))]
async fn import(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(request): ApiJson<ImportRequest>,
) -> Result<(StatusCode, Json<Imported>), ApiError> {
    let kinds = kinds_for(&state, user.id()).await?;
    let planning = super::ai::planning(&state, &user).await?;
    let (workflow, report) = domain::workflow_import::import(
        &state.context.db,
        kinds.catalogue(),
        &state.workflow_secrets,
        &planning,
        user.id(),
        &request,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(Imported {
            workflow_id: workflow.id.to_string(),
            name: workflow.definition.name.clone(),
            report,
        }),
    ))
}
