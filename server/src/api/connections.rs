//! `/connections`: credentials for the services workflows call. Secret
//! values go in and are never sent back.

use axum::{Json, Router, extract::State, http::StatusCode, routing::get};
use domain::{
    connection_oauth::Authorization,
    connection_usage::ConnectionUse,
    connections::{ConnectionChange, ConnectionTest, ConnectionView, NewConnection},
};
use tower_sessions::Session;

use super::ErrorResponse;
use crate::{
    auth::{AuthMethod, CurrentUser},
    error::ApiError,
    extract::{ApiJson, PathId},
    startup::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/connections", get(list).post(create))
        .route("/connections/{id}", get(read).put(update).delete(remove))
        .route("/connections/{id}/test", axum::routing::post(test))
        .route(
            "/connections/{id}/authorize",
            axum::routing::post(authorize),
        )
        .route("/connections/{id}/usage", get(usage))
}

/// Connections, by name.
#[utoipa::path(get, path = "/connections", tag = "connections", responses((status = 200, body = Vec<ConnectionView>)), security(("session" = []), ("token" = [])))]
async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<Vec<ConnectionView>>, ApiError> {
    Ok(Json(state.connections.list(user.id()).await?))
}

/// Stores a connection; secret fields are encrypted.
#[utoipa::path(post, path = "/connections", tag = "connections", request_body = NewConnection,
    responses((status = 201, body = ConnectionView), (status = 422, body = ErrorResponse)), security(("session" = []), ("token" = [])))]
async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(body): ApiJson<NewConnection>,
) -> Result<(StatusCode, Json<ConnectionView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(state.connections.create(user.id(), body).await?),
    ))
}

/// A connection, without its secret values.
#[utoipa::path(get, path = "/connections/{id}", tag = "connections", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = ConnectionView), (status = 404, body = ErrorResponse)), security(("session" = []), ("token" = [])))]
async fn read(
    State(state): State<AppState>,
    user: CurrentUser,
    PathId(id): PathId,
) -> Result<Json<ConnectionView>, ApiError> {
    Ok(Json(state.connections.get(user.id(), id).await?))
}

/// Renames a connection or changes fields; secrets left out keep their values.
#[utoipa::path(put, path = "/connections/{id}", tag = "connections", params(("id" = uuid::Uuid, Path)), request_body = ConnectionChange,
    responses((status = 200, body = ConnectionView), (status = 404, body = ErrorResponse), (status = 422, body = ErrorResponse)),
    security(("session" = []), ("token" = [])))]
async fn update(
    State(state): State<AppState>,
    user: CurrentUser,
    PathId(id): PathId,
    ApiJson(body): ApiJson<ConnectionChange>,
) -> Result<Json<ConnectionView>, ApiError> {
    Ok(Json(state.connections.update(user.id(), id, body).await?))
}

/// Deletes a connection; steps that use it fail until given another.
#[utoipa::path(delete, path = "/connections/{id}", tag = "connections", params(("id" = uuid::Uuid, Path)),
    responses((status = 204), (status = 404, body = ErrorResponse)), security(("session" = []), ("token" = [])))]
async fn remove(
    State(state): State<AppState>,
    user: CurrentUser,
    PathId(id): PathId,
) -> Result<StatusCode, ApiError> {
    state.connections.delete(user.id(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Calls the provider's cheap test endpoint with the connection: `ok`, or
/// the provider's own error message (a Slack `ok: false` is a failure).
#[utoipa::path(post, path = "/connections/{id}/test", tag = "connections", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = ConnectionTest), (status = 404, body = ErrorResponse), (status = 422, body = ErrorResponse)),
    security(("session" = []), ("token" = [])))]
async fn test(
    State(state): State<AppState>,
    user: CurrentUser,
    PathId(id): PathId,
) -> Result<Json<ConnectionTest>, ApiError> {
    Ok(Json(state.connections.test(user.id(), id).await?))
}

/// Starts "Connect" for an `oauth2` connection with an `authorize_url`:
/// answers the provider's URL to send the browser to (authorization code
/// with PKCE, S256). The attempt is bound to this browser session, lasts
/// 10 minutes and ends at `/oauth/callback`, which stores the tokens.
#[utoipa::path(post, path = "/connections/{id}/authorize", tag = "connections", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = Authorization), (status = 404, body = ErrorResponse), (status = 422, body = ErrorResponse)),
    security(("session" = [])))]
async fn authorize(
    State(state): State<AppState>,
    user: CurrentUser,
    session: Session,
    PathId(id): PathId,
) -> Result<Json<Authorization>, ApiError> {
    // The provider sends the browser back to the callback, which only a
    // session can be recognised at.
    let session_id = session
        .id()
        .filter(|_| user.method == AuthMethod::Session)
        .ok_or_else(|| {
            ApiError::invalid(
                "session",
                "connect from the Connections page while signed in: the provider sends the browser back to this session",
            )
        })?;
    let redirect_uri = format!("{}/oauth/callback", state.context.public_url);
    Ok(Json(
        state
            .connections
            .authorize(user.id(), id, &session_id.to_string(), &redirect_uri)
            .await?,
    ))
}

/// The workflows whose steps use the connection (`connection_id` or
/// `connection` in a step's config), by name.
#[utoipa::path(get, path = "/connections/{id}/usage", tag = "connections", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = Vec<ConnectionUse>), (status = 404, body = ErrorResponse)),
    security(("session" = []), ("token" = [])))]
async fn usage(
    State(state): State<AppState>,
    user: CurrentUser,
    PathId(id): PathId,
) -> Result<Json<Vec<ConnectionUse>>, ApiError> {
    Ok(Json(state.connections.usage(user.id(), id).await?))
}
