//! `/retention`: how long this instance keeps run data, and what the next
//! pruning pass would delete of the signed-in account's data (a dry run).

use axum::{Json, Router, extract::State, routing::get};
use domain::retention::{PruneReport, RetentionPolicy};
use serde::Serialize;
use utoipa::ToSchema;

use super::ErrorResponse;
use crate::{auth::CurrentUser, error::ApiError, startup::AppState};

pub fn router() -> Router<AppState> {
    Router::new().route("/retention", get(preview))
}

#[derive(Serialize, ToSchema)]
pub struct RetentionPreview {
    /// The operator's settings (zero: kept forever by that rule).
    pub policy: RetentionPolicy,
    /// What a pass run now would delete of this account's data.
    pub would_delete: PruneReport,
}

/// The retention settings and a dry run of the next pass over this account's data.
#[utoipa::path(get, path = "/retention", tag = "retention",
    responses((status = 200, body = RetentionPreview), (status = 401, body = ErrorResponse)),
    security(("session" = []), ("token" = [])))]
async fn preview(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<RetentionPreview>, ApiError> {
    let policy = state.config.retention();
    let now = chrono::Utc::now().timestamp_millis();
    let would_delete =
        domain::retention::prune(&state.context.db, &policy, now, Some(user.id()), true).await?;
    Ok(Json(RetentionPreview {
        policy,
        would_delete,
    }))
}
