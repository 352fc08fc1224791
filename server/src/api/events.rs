//! `/events`: post an event that starts matching workflows, list events;
//! `/schedules/preview`: the next fire times of a cron expression.

use axum::{
    Json, Router,
    extract::State,
    http::StatusCode,
    routing::{get, post},
};
use domain::events::PostedEvent;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::{ErrorResponse, page_size};
use crate::{
    auth::CurrentUser,
    error::ApiError,
    extract::{ApiJson, ApiQuery},
    startup::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/events", get(list).post(post_event))
        .route("/schedules/preview", post(preview_schedule))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEvent {
    /// Matched against the `type` of event triggers.
    #[serde(rename = "type")]
    pub kind: String,
    #[schema(value_type = Object)]
    pub data: Value,
    pub source: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub limit: Option<u64>,
}

/// Posts an event: every active workflow with an event trigger of this type
/// whose filter holds starts a run.
#[utoipa::path(post, path = "/events", tag = "events", request_body = NewEvent,
    responses((status = 201, body = PostedEvent), (status = 422, body = ErrorResponse)), security(("session" = []), ("token" = [])))]
async fn post_event(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(event): ApiJson<NewEvent>,
) -> Result<(StatusCode, Json<PostedEvent>), ApiError> {
    let posted = domain::events::post(
        &state.context.db,
        &state.context.engine,
        user.id(),
        &event.kind,
        event.data,
        event.source,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(posted)))
}

/// Events, newest first, with the runs they started.
#[utoipa::path(get, path = "/events", tag = "events", params(ListQuery),
    responses((status = 200, body = Vec<PostedEvent>)), security(("session" = []), ("token" = [])))]
async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Vec<PostedEvent>>, ApiError> {
    Ok(Json(
        domain::events::list(&state.context.db, user.id(), page_size(query.limit)?).await?,
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SchedulePreview {
    pub cron: String,
    /// IANA name; default UTC.
    pub timezone: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ScheduleTimes {
    /// The next five fire times, in the schedule's time zone.
    pub next: Vec<String>,
}

/// The next five fire times of a cron expression, or what is wrong with it.
#[utoipa::path(post, path = "/schedules/preview", tag = "events", request_body = SchedulePreview,
    responses((status = 200, body = ScheduleTimes), (status = 422, body = ErrorResponse)), security(("session" = []), ("token" = [])))]
async fn preview_schedule(
    _user: CurrentUser,
    ApiJson(preview): ApiJson<SchedulePreview>,
) -> Result<Json<ScheduleTimes>, ApiError> {
    let timezone = preview.timezone.unwrap_or_else(|| "UTC".into());
    let (cron, zone) = domain::schedules::parse(&preview.cron, &timezone)
        .map_err(|(field, message)| ApiError::invalid(field, message))?;
    let next = domain::schedules::next_fires(&cron, zone, chrono::Utc::now(), 5)
        .iter()
        .map(|t| t.to_rfc3339())
        .collect();
    Ok(Json(ScheduleTimes { next }))
}
