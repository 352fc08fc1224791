//! Alerts: the account's default rules (`/alerts/settings`), a workflow's
//! own (`/workflows/{id}/alerts`), notification channels with a test
//! button (`/notification-channels`), and the in-app inbox
//! (`/notifications`).

use axum::{
    Json, Router,
    extract::State,
    http::StatusCode,
    routing::{get, post, put},
};
use domain::alerts::{Channel, ChannelInput, Notification, WorkflowAlerts};
use model::alerts::AlertSettings;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{ErrorResponse, page_size};
use crate::{
    auth::CurrentUser,
    error::ApiError,
    extract::{ApiJson, ApiQuery, PathId},
    startup::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/alerts/settings", get(account).put(set_account))
        .route(
            "/workflows/{id}/alerts",
            get(workflow).put(set_workflow).delete(inherit),
        )
        .route("/notification-channels", get(channels).post(create_channel))
        .route(
            "/notification-channels/{id}",
            put(update_channel).delete(remove_channel),
        )
        .route("/notification-channels/{id}/test", post(test_channel))
        .route("/notifications", get(notifications))
        .route("/notifications/read", post(read))
}

/// The account's default rules, used by workflows without rules of their own.
#[utoipa::path(get, path = "/alerts/settings", tag = "alerts",
    responses((status = 200, body = AlertSettings)), security(("session" = []), ("token" = [])))]
async fn account(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<AlertSettings>, ApiError> {
    Ok(Json(
        domain::alerts::account_settings(&state.context.db, user.id()).await?,
    ))
}

#[utoipa::path(put, path = "/alerts/settings", tag = "alerts", request_body = AlertSettings,
    responses((status = 200, body = AlertSettings), (status = 422, body = ErrorResponse)),
    security(("session" = []), ("token" = [])))]
async fn set_account(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(settings): ApiJson<AlertSettings>,
) -> Result<Json<AlertSettings>, ApiError> {
    Ok(Json(
        domain::alerts::set_account_settings(&state.context.db, user.id(), &settings).await?,
    ))
}

/// A workflow's rules (its own, or the account's it inherits).
#[utoipa::path(get, path = "/workflows/{id}/alerts", tag = "alerts", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = WorkflowAlerts), (status = 404, body = ErrorResponse)),
    security(("session" = []), ("token" = [])))]
async fn workflow(
    State(state): State<AppState>,
    user: CurrentUser,
    PathId(id): PathId,
) -> Result<Json<WorkflowAlerts>, ApiError> {
    Ok(Json(
        domain::alerts::workflow_settings(&state.context.db, user.id(), id).await?,
    ))
}

/// Gives the workflow rules of its own (auto-pause included).
#[utoipa::path(put, path = "/workflows/{id}/alerts", tag = "alerts", params(("id" = uuid::Uuid, Path)),
    request_body = AlertSettings,
    responses((status = 200, body = WorkflowAlerts), (status = 404, body = ErrorResponse), (status = 422, body = ErrorResponse)),
    security(("session" = []), ("token" = [])))]
async fn set_workflow(
    State(state): State<AppState>,
    user: CurrentUser,
    PathId(id): PathId,
    ApiJson(settings): ApiJson<AlertSettings>,
) -> Result<Json<WorkflowAlerts>, ApiError> {
    Ok(Json(
        domain::alerts::set_workflow_settings(&state.context.db, user.id(), id, Some(&settings))
            .await?,
    ))
}

/// Drops the workflow's own rules: the account's apply again.
#[utoipa::path(delete, path = "/workflows/{id}/alerts", tag = "alerts", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = WorkflowAlerts), (status = 404, body = ErrorResponse)),
    security(("session" = []), ("token" = [])))]
async fn inherit(
    State(state): State<AppState>,
    user: CurrentUser,
    PathId(id): PathId,
) -> Result<Json<WorkflowAlerts>, ApiError> {
    Ok(Json(
        domain::alerts::set_workflow_settings(&state.context.db, user.id(), id, None).await?,
    ))
}

/// The account's channels, secrets masked.
#[utoipa::path(get, path = "/notification-channels", tag = "alerts",
    responses((status = 200, body = Vec<Channel>)), security(("session" = []), ("token" = [])))]
async fn channels(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<Vec<Channel>>, ApiError> {
    Ok(Json(
        domain::alerts::channels(&state.context.db, &state.alerts.channel_vault, user.id()).await?,
    ))
}

#[utoipa::path(post, path = "/notification-channels", tag = "alerts", request_body = ChannelInput,
    responses((status = 201, body = Channel), (status = 422, body = ErrorResponse)),
    security(("session" = []), ("token" = [])))]
async fn create_channel(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(input): ApiJson<ChannelInput>,
) -> Result<(StatusCode, Json<Channel>), ApiError> {
    let channel = domain::alerts::create_channel(
        &state.context.db,
        &state.alerts.channel_vault,
        state.alerts.delivery.mailer.as_ref(),
        user.id(),
        &input,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(channel)))
}

/// Replaces a channel's settings; masked secrets sent back keep their value.
#[utoipa::path(put, path = "/notification-channels/{id}", tag = "alerts", params(("id" = uuid::Uuid, Path)),
    request_body = ChannelInput,
    responses((status = 200, body = Channel), (status = 404, body = ErrorResponse), (status = 422, body = ErrorResponse)),
    security(("session" = []), ("token" = [])))]
async fn update_channel(
    State(state): State<AppState>,
    user: CurrentUser,
    PathId(id): PathId,
    ApiJson(input): ApiJson<ChannelInput>,
) -> Result<Json<Channel>, ApiError> {
    Ok(Json(
        domain::alerts::update_channel(
            &state.context.db,
            &state.alerts.channel_vault,
            state.alerts.delivery.mailer.as_ref(),
            user.id(),
            id,
            &input,
        )
        .await?,
    ))
}

#[utoipa::path(delete, path = "/notification-channels/{id}", tag = "alerts", params(("id" = uuid::Uuid, Path)),
    responses((status = 204), (status = 404, body = ErrorResponse)), security(("session" = []), ("token" = [])))]
async fn remove_channel(
    State(state): State<AppState>,
    user: CurrentUser,
    PathId(id): PathId,
) -> Result<StatusCode, ApiError> {
    domain::alerts::remove_channel(&state.context.db, user.id(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct TestResult {
    pub delivered: bool,
    /// Why it was not, when it was not.
    pub error: Option<String>,
}

/// Sends a test message to the channel now.
#[utoipa::path(post, path = "/notification-channels/{id}/test", tag = "alerts", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = TestResult), (status = 404, body = ErrorResponse)),
    security(("session" = []), ("token" = [])))]
async fn test_channel(
    State(state): State<AppState>,
    user: CurrentUser,
    PathId(id): PathId,
) -> Result<Json<TestResult>, ApiError> {
    let result = domain::alerts::test_channel(
        &state.context.db,
        &state.alerts.channel_vault,
        &state.alerts.delivery,
        user.id(),
        id,
    )
    .await?;
    Ok(Json(TestResult {
        delivered: result.is_ok(),
        error: result.err(),
    }))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct InboxQuery {
    /// Entries older than this id (paging back).
    pub before: Option<i64>,
    pub limit: Option<u64>,
}

#[derive(Serialize, ToSchema)]
pub struct Inbox {
    pub items: Vec<Notification>,
    pub unread: u64,
}

/// The inbox, newest first, with the unread count.
#[utoipa::path(get, path = "/notifications", tag = "alerts", params(InboxQuery),
    responses((status = 200, body = Inbox)), security(("session" = []), ("token" = [])))]
async fn notifications(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(query): ApiQuery<InboxQuery>,
) -> Result<Json<Inbox>, ApiError> {
    let db = &state.context.db;
    Ok(Json(Inbox {
        items: domain::alerts::notifications(db, user.id(), query.before, page_size(query.limit)?)
            .await?,
        unread: domain::alerts::unread(db, user.id()).await?,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadRequest {
    /// These entries; all when left out.
    pub ids: Option<Vec<i64>>,
}

#[derive(Serialize, ToSchema)]
pub struct Unread {
    pub unread: u64,
}

/// Marks entries (or all) read.
#[utoipa::path(post, path = "/notifications/read", tag = "alerts", request_body = ReadRequest,
    responses((status = 200, body = Unread)), security(("session" = []), ("token" = [])))]
async fn read(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(request): ApiJson<ReadRequest>,
) -> Result<Json<Unread>, ApiError> {
    let unread =
        domain::alerts::mark_read(&state.context.db, user.id(), request.ids.as_deref()).await?;
    Ok(Json(Unread { unread }))
}
