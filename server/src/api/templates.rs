//! `/templates`: the gallery of ready workflows, and "use this template",
//! which makes a draft of the account's own with its connections filled in.

use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    routing::{get, post},
};
use model::templates::{Template, TemplateSummary, TemplateUsed, UseTemplate};
use serde::Serialize;
use utoipa::ToSchema;

use super::{ErrorResponse, workflows::kinds_for};
use crate::{auth::CurrentUser, error::ApiError, extract::OptionalJson, startup::AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/templates", get(list))
        .route("/templates/{id}", get(read))
        .route("/templates/{id}/use", post(use_template))
}

#[derive(Serialize, ToSchema)]
pub struct TemplateList {
    pub items: Vec<TemplateSummary>,
}

/// The gallery: every template with what it needs.
#[utoipa::path(get, path = "/templates", tag = "templates",
    responses((status = 200, body = TemplateList), (status = 401, body = ErrorResponse)),
    security(("session" = []), ("token" = [])))]
async fn list(_user: CurrentUser) -> Json<TemplateList> {
    Json(TemplateList {
        items: domain::templates::summaries(),
    })
}

/// One template with its workflow, inputs and a sample trigger payload.
#[utoipa::path(get, path = "/templates/{id}", tag = "templates", params(("id" = String, Path)),
    responses((status = 200, body = Template), (status = 404, body = ErrorResponse)),
    security(("session" = []), ("token" = [])))]
async fn read(_user: CurrentUser, Path(id): Path<String>) -> Result<Json<Template>, ApiError> {
    Ok(Json(domain::templates::find(&id)?.clone()))
}

/// Creates a draft from the template: the inputs given placed, each step's
/// connection set to the account's connection for its provider where it
/// has one; the answer names the connections and inputs still missing.
#[utoipa::path(post, path = "/templates/{id}/use", tag = "templates", params(("id" = String, Path)),
    request_body = UseTemplate,
    responses((status = 201, body = TemplateUsed), (status = 404, body = ErrorResponse), (status = 422, body = ErrorResponse)),
    security(("session" = []), ("token" = [])))]
async fn use_template(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    OptionalJson(request): OptionalJson<UseTemplate>,
) -> Result<(StatusCode, Json<TemplateUsed>), ApiError> {
    let kinds = kinds_for(&state, user.id()).await?;
    let planning = super::ai::planning(&state, &user).await?;
    let (_, used) = domain::templates::use_template(
        &state.context.db,
        kinds.catalogue(),
        &state.workflow_secrets,
        &planning,
        user.id(),
        &id,
        &request.unwrap_or_default(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(used)))
}
