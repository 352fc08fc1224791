//! `/executions`: runs with filters and cursors, details with steps, the
//! event log, cancel and re-run.

use axum::{
    Json, Router,
    extract::State,
    http::StatusCode,
    routing::{get, post},
};
use domain::executions::{
    EventEntry, ExecutionDetail, ExecutionFilter, ExecutionSummary, StepPage,
};
use engine::store::queue::{CancelOutcome, RequeueOutcome};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{ErrorResponse, page_size};
use crate::{
    auth::CurrentUser,
    error::ApiError,
    extract::{ApiQuery, PathId},
    startup::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/executions", get(list))
        .route("/executions/{id}", get(read))
        .route("/executions/{id}/log", get(log))
        .route("/executions/{id}/steps", get(steps))
        .route("/executions/{id}/cancel", post(cancel))
        .route("/executions/{id}/retry", post(retry))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub workflow_id: Option<Uuid>,
    /// `queued`, `running`, `waiting`, `succeeded`, `failed` or `cancelled`.
    pub status: Option<String>,
    /// Runs created at or after this time (RFC 3339).
    pub since: Option<String>,
    /// Runs created before this time (RFC 3339).
    pub until: Option<String>,
    /// 1 to 200, default 50.
    pub limit: Option<u64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<Uuid>,
}

#[derive(Serialize, ToSchema)]
pub struct ExecutionList {
    pub items: Vec<ExecutionSummary>,
    /// Pass as `cursor` for the next page; absent on the last one.
    pub next_cursor: Option<Uuid>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct LogQuery {
    /// Only events after this sequence number.
    pub after: Option<i32>,
    pub limit: Option<u64>,
}

#[derive(Serialize, ToSchema)]
pub struct RunStatus {
    pub execution_id: Uuid,
    /// What the request did: `cancelled`, `cancelling` or `queued`.
    pub status: String,
}

fn time_param(name: &str, value: Option<String>) -> Result<Option<i64>, ApiError> {
    value
        .map(|text| {
            engine::time::parse_rfc3339_ms(&text).ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "query parameter `{name}`: expected a time like 2026-01-31T09:00:00Z"
                ))
            })
        })
        .transpose()
}

/// Runs, newest first.
#[utoipa::path(get, path = "/executions", tag = "executions", params(ListQuery),
    responses((status = 200, body = ExecutionList), (status = 400, body = ErrorResponse)), security(("session" = []), ("token" = [])))]
async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<ExecutionList>, ApiError> {
    if let Some(status) = &query.status
        && model::ExecutionStatus::parse(status).is_none()
    {
        return Err(ApiError::BadRequest(format!(
            "query parameter `status`: `{status}` is not a run status"
        )));
    }
    let filter = ExecutionFilter {
        workflow_id: query.workflow_id,
        status: query.status,
        since: time_param("since", query.since)?,
        until: time_param("until", query.until)?,
        limit: page_size(query.limit)?,
        before: query.cursor,
    };
    let (items, next_cursor) =
        domain::executions::list(&state.context.db, user.id(), &filter).await?;
    Ok(Json(ExecutionList { items, next_cursor }))
}

/// A run with every step's input, output, error, attempts and timing.
#[utoipa::path(get, path = "/executions/{id}", tag = "executions", params(("id" = Uuid, Path)),
    responses((status = 200, body = ExecutionDetail), (status = 404, body = ErrorResponse)), security(("session" = []), ("token" = [])))]
async fn read(
    State(state): State<AppState>,
    user: CurrentUser,
    PathId(id): PathId,
) -> Result<Json<ExecutionDetail>, ApiError> {
    Ok(Json(
        domain::executions::get(&state.context.db, user.id(), id).await?,
    ))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct StepsQuery {
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1 to 200, default 50.
    pub limit: Option<u64>,
}

/// Every step of a run, loop items included, a page at a time (by loop
/// item, then node id).
#[utoipa::path(get, path = "/executions/{id}/steps", tag = "executions", params(("id" = Uuid, Path), StepsQuery),
    responses((status = 200, body = StepPage), (status = 400, body = ErrorResponse), (status = 404, body = ErrorResponse)), security(("session" = []), ("token" = [])))]
async fn steps(
    State(state): State<AppState>,
    user: CurrentUser,
    PathId(id): PathId,
    ApiQuery(query): ApiQuery<StepsQuery>,
) -> Result<Json<StepPage>, ApiError> {
    let limit = page_size(query.limit)?;
    Ok(Json(
        domain::executions::steps(
            &state.context.db,
            user.id(),
            id,
            query.cursor.as_deref(),
            limit,
        )
        .await?,
    ))
}

/// The run's event log, in order, from a sequence number on.
#[utoipa::path(get, path = "/executions/{id}/log", tag = "executions", params(("id" = Uuid, Path), LogQuery),
    responses((status = 200, body = Vec<EventEntry>), (status = 404, body = ErrorResponse)), security(("session" = []), ("token" = [])))]
async fn log(
    State(state): State<AppState>,
    user: CurrentUser,
    PathId(id): PathId,
    ApiQuery(query): ApiQuery<LogQuery>,
) -> Result<Json<Vec<EventEntry>>, ApiError> {
    let limit = match query.limit.unwrap_or(1000) {
        limit @ 1..=5000 => limit,
        _ => {
            return Err(ApiError::BadRequest(
                "query parameter `limit`: must be between 1 and 5000".into(),
            ));
        }
    };
    Ok(Json(
        domain::executions::events(
            &state.context.db,
            user.id(),
            id,
            query.after.unwrap_or(0),
            limit,
        )
        .await?,
    ))
}

/// Cancels a run; a running one stops at its next step boundary with its
/// in-flight calls aborted.
#[utoipa::path(post, path = "/executions/{id}/cancel", tag = "executions", params(("id" = Uuid, Path)),
    responses((status = 202, body = RunStatus), (status = 404, body = ErrorResponse), (status = 409, body = ErrorResponse)),
    security(("session" = []), ("token" = [])))]
async fn cancel(
    State(state): State<AppState>,
    user: CurrentUser,
    PathId(id): PathId,
) -> Result<(StatusCode, Json<RunStatus>), ApiError> {
    let status = match state
        .context
        .engine
        .cancel(id, user.id())
        .await
        .map_err(domain::DomainError::from)?
    {
        CancelOutcome::Cancelled => "cancelled",
        CancelOutcome::Requested { .. } => "cancelling",
        CancelOutcome::AlreadyFinished(status) => {
            return Err(ApiError::Conflict(format!(
                "the run already ended: {status}"
            )));
        }
        CancelOutcome::NotFound => return Err(ApiError::NotFound),
    };
    Ok((
        StatusCode::ACCEPTED,
        Json(RunStatus {
            execution_id: id,
            status: status.into(),
        }),
    ))
}

/// Runs a failed or cancelled run again from the step that failed; steps
/// that succeeded keep their outputs.
#[utoipa::path(post, path = "/executions/{id}/retry", tag = "executions", params(("id" = Uuid, Path)),
    responses((status = 202, body = RunStatus), (status = 404, body = ErrorResponse), (status = 409, body = ErrorResponse)),
    security(("session" = []), ("token" = [])))]
async fn retry(
    State(state): State<AppState>,
    user: CurrentUser,
    PathId(id): PathId,
) -> Result<(StatusCode, Json<RunStatus>), ApiError> {
    requeue(&state, &user, id).await
}

pub(super) async fn requeue(
    state: &AppState,
    user: &CurrentUser,
    id: Uuid,
) -> Result<(StatusCode, Json<RunStatus>), ApiError> {
    match state
        .context
        .engine
        .rerun(id, user.id())
        .await
        .map_err(domain::DomainError::from)?
    {
        RequeueOutcome::Requeued => Ok((
            StatusCode::ACCEPTED,
            Json(RunStatus {
                execution_id: id,
                status: "queued".into(),
            }),
        )),
        RequeueOutcome::NotRerunnable(status) => Err(ApiError::Conflict(format!(
            "only failed or cancelled runs can run again; this one is {status}"
        ))),
        RequeueOutcome::NotFound => Err(ApiError::NotFound),
    }
}
