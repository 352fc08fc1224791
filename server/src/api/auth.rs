//! `/auth/register`, `/auth/login`, `/auth/logout`, `/me`, `/me/password`.

use std::net::SocketAddr;

use axum::{
    Json, Router,
    extract::{ConnectInfo, State},
    http::StatusCode,
    routing::{get, post},
};
use domain::accounts::Account;
use serde::{Deserialize, Serialize};
use tower_sessions::Session;
use utoipa::ToSchema;
use uuid::Uuid;

use super::ErrorResponse;
use crate::{
    auth::{CurrentUser, check_same_origin, session_store::USER_ID},
    error::ApiError,
    extract::ApiJson,
    startup::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/register", post(register))
        .route("/auth/login", post(login))
        .route("/auth/logout", post(logout))
        .route("/me", get(me))
        .route("/me/password", post(change_password))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    pub email: String,
    pub password: String,
}

#[derive(Serialize, ToSchema)]
pub struct AccountResponse {
    pub id: Uuid,
    pub email: String,
    pub created_at: String,
}

impl From<Account> for AccountResponse {
    fn from(account: Account) -> Self {
        AccountResponse {
            id: account.id,
            email: account.email,
            created_at: account.created_at.to_rfc3339(),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
}

async fn sign_in(session: &Session, account: &Account) -> Result<(), ApiError> {
    // A new id at every sign-in: a planted session id is worthless.
    session
        .cycle_id()
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    session
        .insert(USER_ID, account.id)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))
}

/// Creates an account and signs it in.
#[utoipa::path(post, path = "/auth/register", tag = "accounts", request_body = Credentials,
    responses((status = 201, body = AccountResponse), (status = 409, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
async fn register(
    State(state): State<AppState>,
    session: Session,
    parts: http::request::Parts,
    ApiJson(body): ApiJson<Credentials>,
) -> Result<(StatusCode, Json<AccountResponse>), ApiError> {
    check_same_origin(&parts, &state.config.public_url())?;
    let account =
        domain::accounts::register(&state.context.db, &body.email, &body.password).await?;
    sign_in(&session, &account).await?;
    Ok((StatusCode::CREATED, Json(account.into())))
}

/// Signs in; repeated failures are throttled with 429 and `Retry-After`.
#[utoipa::path(post, path = "/auth/login", tag = "accounts", request_body = Credentials,
    responses((status = 200, body = AccountResponse), (status = 401, body = ErrorResponse), (status = 429, body = ErrorResponse)))]
async fn login(
    State(state): State<AppState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    session: Session,
    parts: http::request::Parts,
    ApiJson(body): ApiJson<Credentials>,
) -> Result<Json<AccountResponse>, ApiError> {
    check_same_origin(&parts, &state.config.public_url())?;
    let client = client.ip().to_string();
    state
        .throttle
        .check(&body.email, &client)
        .map_err(|retry_after_secs| ApiError::TooManyRequests { retry_after_secs })?;
    match domain::accounts::authenticate(&state.context.db, &body.email, &body.password).await {
        Ok(account) => {
            state.throttle.succeeded(&body.email, &client);
            sign_in(&session, &account).await?;
            Ok(Json(account.into()))
        }
        Err(error) => {
            state.throttle.failed(&body.email, &client);
            Err(error.into())
        }
    }
}

/// Ends the session.
#[utoipa::path(post, path = "/auth/logout", tag = "accounts", responses((status = 204)))]
async fn logout(
    State(state): State<AppState>,
    session: Session,
    parts: http::request::Parts,
) -> Result<StatusCode, ApiError> {
    check_same_origin(&parts, &state.config.public_url())?;
    session
        .flush()
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(StatusCode::NO_CONTENT)
}

/// The signed-in account.
#[utoipa::path(get, path = "/me", tag = "accounts",
    responses((status = 200, body = AccountResponse), (status = 401, body = ErrorResponse)), security(("session" = []), ("token" = [])))]
async fn me(user: CurrentUser) -> Json<AccountResponse> {
    Json(user.account.into())
}

/// Changes the password; every other session of the account ends.
#[utoipa::path(post, path = "/me/password", tag = "accounts", request_body = PasswordChange,
    responses((status = 204), (status = 422, body = ErrorResponse)), security(("session" = []), ("token" = [])))]
async fn change_password(
    State(state): State<AppState>,
    user: CurrentUser,
    session: Session,
    ApiJson(body): ApiJson<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    // The current session continues under a new id; all others end.
    session
        .cycle_id()
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    session
        .save()
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let keep = session.id().map(|id| id.to_string());
    domain::accounts::change_password(
        &state.context.db,
        user.id(),
        &body.current_password,
        &body.new_password,
        keep.as_deref(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
