//! `/dead-letters`: runs that failed after exhausting their retries.

use axum::{
    Json, Router,
    extract::State,
    http::StatusCode,
    routing::{get, post},
};
use domain::executions::DeadLetterEntry;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{ErrorResponse, executions::RunStatus, page_size};
use crate::{
    auth::CurrentUser,
    error::ApiError,
    extract::{ApiQuery, PathId},
    startup::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dead-letters", get(list))
        .route("/dead-letters/redrive", post(redrive_all))
        .route("/dead-letters/{id}/redrive", post(redrive))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Also list letters already redriven.
    pub all: Option<bool>,
    pub limit: Option<u64>,
}

#[derive(Serialize, ToSchema)]
pub struct Redriven {
    pub redriven: usize,
}

/// Dead letters, newest first.
#[utoipa::path(get, path = "/dead-letters", tag = "dead letters", params(ListQuery),
    responses((status = 200, body = Vec<DeadLetterEntry>)), security(("session" = []), ("token" = [])))]
async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Vec<DeadLetterEntry>>, ApiError> {
    let letters = domain::executions::dead_letters(
        &state.context.db,
        user.id(),
        query.all.unwrap_or(false),
        page_size(query.limit)?,
    )
    .await?;
    Ok(Json(letters))
}

/// Runs one dead-lettered run again from the failed step.
#[utoipa::path(post, path = "/dead-letters/{id}/redrive", tag = "dead letters", params(("id" = uuid::Uuid, Path)),
    responses((status = 202, body = RunStatus), (status = 404, body = ErrorResponse), (status = 409, body = ErrorResponse)),
    security(("session" = []), ("token" = [])))]
async fn redrive(
    State(state): State<AppState>,
    user: CurrentUser,
    PathId(id): PathId,
) -> Result<(StatusCode, Json<RunStatus>), ApiError> {
    let execution =
        domain::executions::dead_letter_execution(&state.context.db, user.id(), id).await?;
    super::executions::requeue(&state, &user, execution).await
}

/// Runs every open dead letter again.
#[utoipa::path(post, path = "/dead-letters/redrive", tag = "dead letters",
    responses((status = 202, body = Redriven)), security(("session" = []), ("token" = [])))]
async fn redrive_all(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<(StatusCode, Json<Redriven>), ApiError> {
    let redriven = state
        .context
        .engine
        .redrive_all(user.id())
        .await
        .map_err(domain::DomainError::from)?;
    Ok((StatusCode::ACCEPTED, Json(Redriven { redriven })))
}
