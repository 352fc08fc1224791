//! `/auth/register`, `/auth/login`, `/auth/logout`, `/me`, `/me/password`.

use axum::{
    Json, Router,
    extract::State,
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
    auth::{
        CurrentUser, check_same_origin,
        session_store::USER_ID,
        throttle::{LOGIN_ACCOUNT, LOGIN_CLIENT, PASSWORD_CHANGE, REGISTER_CLIENT, REGISTER_EMAIL},
    },
    client_ip::ClientIp,
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

/// The throttle's key for an address as typed: normalised like accounts
/// are, and cut short (longer ones are not valid addresses anyway).
fn email_key(email: &str) -> String {
    email.trim().to_lowercase().chars().take(320).collect()
}

fn throttled(retry_after_secs: u64) -> ApiError {
    ApiError::TooManyRequests { retry_after_secs }
}

/// Creates an account and signs it in. Registrations are limited per client
/// address and per email address (429 with `Retry-After`).
#[utoipa::path(post, path = "/auth/register", tag = "accounts", request_body = Credentials,
    responses((status = 201, body = AccountResponse), (status = 409, body = ErrorResponse), (status = 422, body = ErrorResponse), (status = 429, body = ErrorResponse)))]
async fn register(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    session: Session,
    parts: http::request::Parts,
    ApiJson(body): ApiJson<Credentials>,
) -> Result<(StatusCode, Json<AccountResponse>), ApiError> {
    check_same_origin(&parts, &state.config.public_url())?;
    let (email, client) = (email_key(&body.email), client.to_string());
    let attempt = state
        .throttle
        .reserve(&[
            (REGISTER_CLIENT, client.as_str()),
            (REGISTER_EMAIL, email.as_str()),
        ])
        .map_err(throttled)?;
    match domain::accounts::register(&state.context.db, &body.email, &body.password).await {
        Ok(account) => {
            attempt.count();
            sign_in(&session, &account).await?;
            Ok((StatusCode::CREATED, Json(account.into())))
        }
        // A taken address is cheap to refuse, but counting it bounds the
        // hashes that parallel registrations of one address can cause.
        Err(error @ domain::DomainError::Conflict(_)) => {
            attempt.count();
            Err(error.into())
        }
        // Bad input (refused before hashing) or a failure on our side.
        Err(error) => {
            attempt.release();
            Err(error.into())
        }
    }
}

/// Signs in; repeated failures are throttled with 429 and `Retry-After`.
#[utoipa::path(post, path = "/auth/login", tag = "accounts", request_body = Credentials,
    responses((status = 200, body = AccountResponse), (status = 401, body = ErrorResponse), (status = 429, body = ErrorResponse)))]
async fn login(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    session: Session,
    parts: http::request::Parts,
    ApiJson(body): ApiJson<Credentials>,
) -> Result<Json<AccountResponse>, ApiError> {
    check_same_origin(&parts, &state.config.public_url())?;
    let (email, client) = (email_key(&body.email), client.to_string());
    // Reserved before the (slow) check, so parallel guesses cannot all
    // pass the limit before the first of them is recorded.
    let attempt = state
        .throttle
        .reserve(&[
            (LOGIN_ACCOUNT, email.as_str()),
            (LOGIN_CLIENT, client.as_str()),
        ])
        .map_err(throttled)?;
    match domain::accounts::authenticate(&state.context.db, &body.email, &body.password).await {
        Ok(account) => {
            attempt.succeed();
            sign_in(&session, &account).await?;
            Ok(Json(account.into()))
        }
        Err(error @ domain::DomainError::Unauthorized(_)) => {
            attempt.count();
            Err(error.into())
        }
        // Nothing was checked (the database failed, hashing is saturated).
        Err(error) => {
            attempt.release();
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

/// Changes the password; every other session of the account ends. Wrong
/// current passwords are throttled per account (429 with `Retry-After`).
#[utoipa::path(post, path = "/me/password", tag = "accounts", request_body = PasswordChange,
    responses((status = 204), (status = 422, body = ErrorResponse), (status = 429, body = ErrorResponse)), security(("session" = []), ("token" = [])))]
async fn change_password(
    State(state): State<AppState>,
    user: CurrentUser,
    session: Session,
    ApiJson(body): ApiJson<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    let account = user.id().to_string();
    let attempt = state
        .throttle
        .reserve(&[(PASSWORD_CHANGE, account.as_str())])
        .map_err(throttled)?;
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
    let changed = domain::accounts::change_password(
        &state.context.db,
        user.id(),
        &body.current_password,
        &body.new_password,
        keep.as_deref(),
    )
    .await;
    match &changed {
        Ok(()) => attempt.succeed(),
        Err(domain::DomainError::Invalid { fields, .. })
            if fields.iter().any(|f| f.field == "current_password") =>
        {
            attempt.count()
        }
        Err(_) => attempt.release(),
    }
    changed?;
    Ok(StatusCode::NO_CONTENT)
}
